import { useMemo, useState, type ReactNode } from "react";
import type { EChartsCoreOption } from "echarts/core";
import { data, ylai } from "../api/client";
import {
  pathsApiV1ResourcesScriptsGetParametersQueryOrder_byValues as ORDER_BY_VALUES,
  pathsApiV1ResourcesScriptsGetParametersQueryRangeValues as RANGE_VALUES,
} from "../../generated/ylai";
import type { ResourceMetric, ResourceRanking, ScriptResources } from "../api/models";
import { qs } from "../lib/api";
import { usePoll } from "../lib/hooks";
import { Link, pagePath } from "../lib/nav";
import { useI18n, type I18n } from "../i18n";
import { Chart } from "../components/Chart";
import { ListPage, type Column } from "../components/DataTable";
import { ExportButtons } from "../components/ExportButtons";
import { Card, PageHeader, RefreshBar } from "../components/ui";

type RangeId = NonNullable<(typeof RANGE_VALUES)[number]>;
type OrderBy = NonNullable<(typeof ORDER_BY_VALUES)[number]>;
/** The measured figures, in the order of the table's columns. */
export const METRICS = ["peak_rss_bytes", "cpu_seconds", "duration"] as const;
export type Metric = (typeof METRICS)[number];
export type SortKey = Metric | "runs" | "name";
export type Stat = "p50" | "p95";
export interface Sort {
  key: SortKey;
  stat: Stat;
  desc: boolean;
}

const RANGES: readonly RangeId[] = RANGE_VALUES.filter((r): r is RangeId => !!r);
const REFRESH_MS = 60_000;
/** How many scripts the trend chart draws (the top of the ranking). */
export const TREND_TOP = 5;
const MIB = 1024 * 1024;

const isMetric = (key: SortKey): key is Metric => (METRICS as readonly string[]).includes(key);

/** The API's ``order_by`` for a sort: the figure, its percentile for the measured ones, "-" for highest first. */
export function orderBy({ key, stat, desc }: Sort): OrderBy {
  const value = `${desc ? "-" : ""}${isMetric(key) ? `${key}_${stat}` : key}`;
  if (!(ORDER_BY_VALUES as readonly unknown[]).includes(value)) throw new Error(`no such order: ${value}`);
  return value as OrderBy;
}

/** Clicking a column header: that column highest first (a name A to Z), clicking it again reverses it. */
export function nextSort(sort: Sort, key: SortKey): Sort {
  if (sort.key === key) return { ...sort, desc: !sort.desc };
  return { ...sort, key, desc: key !== "name" };
}

/** A figure as people read it: memory in KiB/MiB/GiB, times as durations. */
export function formatFigure(i: I18n, metric: Metric, value: number | null | undefined): string {
  return metric === "peak_rss_bytes" ? i.bytes(value) : i.duration(value);
}

/** The change versus the previous range: ▲ +25% (more: worse) or ▼ −10% (less: better). */
function Change({ ratio, title }: { ratio: number | null | undefined; title: string }) {
  const i = useI18n();
  if (ratio === null || ratio === undefined) return null;
  const up = ratio > 0;
  return (
    <span className={`y-small ${up ? "y-tone-bad" : ratio < 0 ? "y-tone-ok" : "y-tone-muted"}`} title={title}>
      {" "}
      {up ? "▲ +" : ratio < 0 ? "▼ " : ""}
      {i.percent(ratio)}
    </span>
  );
}

function SortHeader({ label, column, sort, onSort }: { label: ReactNode; column: SortKey; sort: Sort; onSort: (key: SortKey) => void }) {
  const { t } = useI18n();
  const active = sort.key === column;
  return (
    <button type="button" className={active ? "y-sort y-sort-on" : "y-sort"} onClick={() => onSort(column)} aria-pressed={active} title={t("resources.sortHint")} data-testid={`sort-${column}`}>
      {label}
      {active ? (sort.desc ? " ▼" : " ▲") : ""}
    </button>
  );
}

function MetricCell({ s, metric, stat }: { s: ScriptResources; metric: Metric; stat: Stat }) {
  const i = useI18n();
  const { t } = i;
  const m: ResourceMetric = s[metric];
  const change = stat === "p95" ? m.change_p95 : m.change_p50;
  return (
    <>
      <span data-testid={`figure-${metric}-${s.name}`}>{formatFigure(i, metric, m[stat])}</span>
      <Change ratio={change} title={t("resources.previous", { value: formatFigure(i, metric, m.previous[stat]) })} />
      {m.max_run_id ? (
        <div className="y-small">
          <Link to={pagePath("run", qs({ dag_id: s.dag_id, run_id: m.max_run_id }))} title={t("resources.peakHint")} testId={`peak-run-${metric}-${s.name}`}>
            {t("resources.peak", { value: formatFigure(i, metric, m.max) })}
          </Link>
        </div>
      ) : null}
    </>
  );
}

/** One line per script of the ranking's top: the chosen percentile of ``metric`` in each hour or day. */
export function trendChart(ranking: ResourceRanking, metric: Metric, stat: Stat, i: I18n): EChartsCoreOption {
  const bytes = metric === "peak_rss_bytes";
  const scale = (v: number | null | undefined) => (v === null || v === undefined ? null : bytes ? Math.round((v / MIB) * 10) / 10 : v);
  return {
    tooltip: { trigger: "axis", valueFormatter: (v: number | null) => (v === null ? "—" : bytes ? `${i.number(v, 1)} MiB` : i.duration(v)) },
    legend: { top: 0, type: "scroll" },
    grid: { left: 8, right: 16, top: 32, bottom: 48, containLabel: true },
    xAxis: { type: "time", axisLabel: { hideOverlap: true } },
    yAxis: { type: "value", name: bytes ? "MiB" : i.t("monitor.seconds") },
    dataZoom: [
      { type: "inside", filterMode: "none" },
      { type: "slider", height: 18, bottom: 4, filterMode: "none" },
    ],
    series: ranking.items.slice(0, TREND_TOP).map((s) => ({
      name: s.name,
      type: "line",
      connectNulls: true,
      showSymbol: true,
      data: s.trend.map((p) => [p.start, scale(p[metric][stat])]),
    })),
  };
}

export function Resources() {
  const i = useI18n();
  const { t } = i;
  const [range, setRange] = useState<RangeId>("7d");
  const [sort, setSort] = useState<Sort>({ key: "peak_rss_bytes", stat: "p95", desc: true });
  const [paused, setPaused] = useState(false);
  const order = orderBy(sort);
  const ranking = usePoll((signal) => data(ylai.GET("/api/v1/resources/scripts", { params: { query: { range, order_by: order, limit: 200 } }, signal })), [range, order], REFRESH_MS, paused);
  const d = ranking.data;
  const chartMetric: Metric = isMetric(sort.key) ? sort.key : "peak_rss_bytes";
  const option = useMemo(() => (d && d.items.length ? trendChart(d, chartMetric, sort.stat, i) : null), [d, chartMetric, sort.stat, i]);
  const onSort = (key: SortKey) => setSort((s) => nextSort(s, key));
  const rank = new Map((d?.items ?? []).map((s, n) => [s.name, n + 1]));

  const columns: Column<ScriptResources>[] = [
    { header: t("resources.rank"), className: "y-muted", cell: (s) => rank.get(s.name) },
    {
      header: <SortHeader label={t("resources.script")} column="name" sort={sort} onSort={onSort} />,
      cell: (s) => (
        <>
          <Link to={pagePath("scripts", qs({ name: s.name }))} title={t("resources.scriptHint")} testId={`resources-script-${s.name}`}>
            {s.title || s.name}
          </Link>
          <div className="y-muted y-small">
            <code>{s.name}</code>
          </div>
        </>
      ),
    },
    {
      header: <SortHeader label={t("resources.runs")} column="runs" sort={sort} onSort={onSort} />,
      cell: (s) => (
        <>
          {i.number(s.runs)}
          {s.failed ? <div className="y-small y-tone-bad">{t("resources.failed", { n: i.number(s.failed) })}</div> : null}
        </>
      ),
    },
    ...METRICS.map(
      (metric): Column<ScriptResources> => ({
        header: <SortHeader label={`${t(`resources.metric.${metric}`)} ${sort.stat}`} column={metric} sort={sort} onSort={onSort} />,
        className: "y-nowrap",
        cell: (s) => <MetricCell s={s} metric={metric} stat={sort.stat} />,
      }),
    ),
    {
      header: null,
      className: "y-nowrap",
      cell: (s) => (
        <Link to={`dags/${encodeURIComponent(s.dag_id)}/runs`} title={t("resources.allRunsHint")} testId={`all-runs-${s.name}`}>
          {t("resources.allRuns")}
        </Link>
      ),
    },
  ];

  return (
    <div data-testid="page-resources">
      <PageHeader
        title={t("resources.title")}
        subtitle={t("resources.subtitle")}
        actions={
          <>
            <div className="y-seg" role="group" aria-label={t("resources.range")}>
              {RANGES.map((r) => (
                <button key={r} type="button" className={r === range ? "y-btn y-btn-on" : "y-btn"} aria-pressed={r === range} onClick={() => setRange(r)} data-testid={`range-${r}`}>
                  {t(`resources.range.${r}`)}
                </button>
              ))}
            </div>
            <RefreshBar updatedAt={ranking.updatedAt} paused={paused} onPause={setPaused} onRefresh={ranking.refresh} />
          </>
        }
      />
      <div className="y-row y-wrap y-filters">
        <div className="y-seg" role="group" aria-label={t("resources.stat")}>
          {(["p50", "p95"] as const).map((stat) => (
            <button key={stat} type="button" className={stat === sort.stat ? "y-btn y-btn-on" : "y-btn"} aria-pressed={stat === sort.stat} onClick={() => setSort((s) => ({ ...s, stat }))} data-testid={`stat-${stat}`}>
              {stat}
            </button>
          ))}
        </div>
        <div className="y-push">{d ? <ExportButtons kind="scripts" period={false} filters={{ since: d.since, until: d.until }} testId="export-resources" /> : null}</div>
      </div>
      {option && d ? (
        <Card title={t("resources.trend", { metric: t(`resources.metric.${chartMetric}`), stat: sort.stat, bucket: t(`resources.bucket.${d.bucket}`), n: TREND_TOP })} testId="chart-resources-trend">
          <Chart option={option} label={t("resources.trendLabel")} />
        </Card>
      ) : null}
      <ListPage list={ranking} rows={d?.items ?? []} columns={columns} rowKey={(s) => s.name} rowProps={(s) => ({ testId: `resources-row-${s.name}` })} testId="resources-table" empty={t("resources.none")} emptyTestId="resources-empty" />
      {d?.truncated ? <p className="y-note">{t("resources.truncated")}</p> : null}
      <p className="y-muted y-small">{t("resources.note")}</p>
    </div>
  );
}
