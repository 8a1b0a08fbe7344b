import { useMemo, useState } from "react";
import type { EChartsCoreOption } from "echarts/core";
import { data, ylai } from "../api/client";
import type { ErrorTrends } from "../api/models";
import { usePoll } from "../lib/hooks";
import { Link } from "../lib/nav";
import { useI18n, type I18n } from "../i18n";
import { Chart } from "./Chart";
import { Card, Empty, ErrorBox } from "./ui";

const REFRESH_MS = 30_000;
export const ERROR_RANGES = [24, 72, 168] as const;
// One colour per script/pipeline (the most failing first), repeated past the sixth.
const COLORS = ["#dc2626", "#d97706", "#7c3aed", "#0e7490", "#db2777", "#4f46e5"];
const MAX_SERIES = 8; // the others are summed as one series

/** Airflow's page of a failed task instance (its try's log). */
export const taskLink = (dagId: string, runId: string, taskId: string) =>
  `dags/${encodeURIComponent(dagId)}/runs/${encodeURIComponent(runId)}/tasks/${encodeURIComponent(taskId)}`;

/** Failures per hour per script/pipeline, stacked bars over the whole range (hours without failures are empty). */
export function failuresChart(d: ErrorTrends, i: I18n): EChartsCoreOption {
  const shown = d.dags.slice(0, MAX_SERIES).map((x) => x.dag_id);
  const label = new Map(d.dags.map((x) => [x.dag_id, x.name]));
  const other = i.t("errors.others");
  const series = new Map<string, Array<[string, number]>>();
  for (const h of d.per_hour) {
    const key = shown.includes(h.dag_id) ? h.dag_id : other;
    const points = series.get(key) ?? [];
    points.push([h.hour, h.failed]);
    series.set(key, points);
  }
  const end = Date.parse(d.generated_at);
  return {
    tooltip: { trigger: "axis" },
    legend: { top: 0, type: "scroll" },
    grid: { left: 44, right: 16, top: 32, bottom: 28 },
    xAxis: { type: "time", min: end - d.hours * 3_600_000, max: end, axisLabel: { hideOverlap: true } },
    yAxis: { type: "value", minInterval: 1 },
    series: [...series.entries()].map(([key, points], n) => ({
      name: label.get(key) ?? key,
      type: "bar",
      stack: "failures",
      barMaxWidth: 24,
      itemStyle: { color: COLORS[n % COLORS.length] },
      data: points,
    })),
  };
}

/** The Monitor page's error trends: failures per hour per script/pipeline and the top error signatures. */
export function ErrorTrendsCard({ paused = false }: { paused?: boolean }) {
  const i = useI18n();
  const { t } = i;
  const [hours, setHours] = useState<number>(24);
  const trends = usePoll<ErrorTrends>((signal) => data(ylai.GET("/api/v1/monitor/errors", { params: { query: { hours } }, signal })), [hours], REFRESH_MS, paused);
  const d = trends.data;
  const chart = useMemo(() => (d ? failuresChart(d, i) : null), [d, i]);
  return (
    <Card title={t("errors.title")} testId="error-trends" className="y-span-2">
      <div className="y-seg" role="group" aria-label={t("errors.range")}>
        {ERROR_RANGES.map((h) => (
          <button key={h} type="button" className={h === hours ? "y-btn y-btn-on" : "y-btn"} aria-pressed={h === hours} onClick={() => setHours(h)} data-testid={`errors-range-${h}`}>
            {t("errors.lastHours", { n: h })}
          </button>
        ))}
      </div>
      {trends.error ? <ErrorBox error={trends.error} testId="error-trends-error" /> : null}
      {d && !d.total ? <Empty testId="error-trends-empty">{t("errors.none")}</Empty> : null}
      {d && d.total && chart ? (
        <>
          <h3 className="y-small">{t("errors.perHour")}</h3>
          <Chart option={chart} label={t("errors.perHour")} height={220} />
          <h3 className="y-small">{t("errors.signatures")}</h3>
          <div className="y-table-wrap">
            <table className="y-table y-table-compact" data-testid="error-signatures">
              <thead>
                <tr>
                  <th>{t("errors.signature")}</th>
                  <th>{t("errors.target")}</th>
                  <th>{t("errors.count")}</th>
                  <th>{t("errors.firstSeen")}</th>
                  <th>{t("errors.lastSeen")}</th>
                  <th>{t("errors.latest")}</th>
                </tr>
              </thead>
              <tbody>
                {d.signatures.map((s) => (
                  <tr key={`${s.dag_id}|${s.signature}`} data-testid="error-signature" data-new={s.new ? "true" : "false"}>
                    <td>
                      {s.new ? (
                        <span className="y-badge y-tone-bad" title={t("errors.newTitle", { at: i.dateTime(s.deployed_at) })} data-testid="error-new">
                          {t("errors.new")}
                        </span>
                      ) : null}{" "}
                      {s.signature ? (
                        <code className="y-mono" title={s.example}>
                          {s.signature}
                        </code>
                      ) : (
                        <span className="y-muted">{t("errors.noLine")}</span>
                      )}
                    </td>
                    <td>{s.name}</td>
                    <td>{i.number(s.count)}</td>
                    <td>{i.dateTime(s.first_seen)}</td>
                    <td>{i.dateTime(s.last_seen)}</td>
                    <td>
                      <Link to={taskLink(s.dag_id, s.latest.run_id, s.latest.task_id)} testId="error-latest-run">
                        {t("errors.openRun")}
                      </Link>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <p className="y-muted y-small" data-testid="error-trends-note">
            {t("errors.note", { total: i.number(d.total), shown: i.number(d.signatures.length), distinct: i.number(d.signature_count), days: d.history_days })}
          </p>
        </>
      ) : null}
    </Card>
  );
}
