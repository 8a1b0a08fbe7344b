import { data, ylai } from "../api/client";
import type { QueueLimits as QueueLimitsData } from "../api/models";
import { usePoll } from "../lib/hooks";
import { useI18n } from "../i18n";
import { Card, ErrorBox } from "./ui";

const REFRESH_MS = 10_000;

/** The Monitor page's backpressure card: per queue, the task instances waiting and the limit above which run requests are refused. */
export function QueueLimitsCard({ paused = false }: { paused?: boolean }) {
  const i = useI18n();
  const { t } = i;
  const limits = usePoll<QueueLimitsData>((signal) => data(ylai.GET("/api/v1/monitor/queue-limits", { signal })), [], REFRESH_MS, paused);
  const d = limits.data;
  return (
    <Card title={t("limits.title")} testId="queue-limits">
      {limits.error ? <ErrorBox error={limits.error} testId="queue-limits-error" /> : null}
      {d ? (
        <>
          <div className="y-table-wrap">
            <table className="y-table y-table-compact">
              <thead>
                <tr>
                  <th>{t("limits.queue")}</th>
                  <th>{t("limits.waiting")}</th>
                  <th>{t("limits.limit")}</th>
                  <th>{t("limits.state")}</th>
                </tr>
              </thead>
              <tbody>
                {d.queues.map((q) => (
                  <tr key={q.queue} data-testid={`queue-limit-${q.queue}`} data-full={q.full ? "true" : "false"}>
                    <td>{q.queue}</td>
                    <td>{i.number(q.depth)}</td>
                    <td>{q.limit > 0 ? i.number(q.limit) : t("limits.none")}</td>
                    <td className={q.full ? "y-tone-bad" : undefined}>{q.full ? t("limits.full") : t("limits.ok")}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <p className="y-muted y-small">{t("limits.note", { seconds: d.retry_after_seconds })}</p>
        </>
      ) : null}
    </Card>
  );
}
