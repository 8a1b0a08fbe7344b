import { data, ylai } from "../api/client";
import type { DependencyMonitor } from "../api/models";
import { usePoll } from "../lib/hooks";
import { useI18n } from "../i18n";
import { Card, Empty, ErrorBox } from "./ui";

const REFRESH_MS = 10_000;
const STATE_KEY = { closed: "deps.closed", open: "deps.open", "half-open": "deps.halfOpen" } as const;
const STATE_TONE = { closed: "y-tone-ok", open: "y-tone-bad", "half-open": "y-tone-warn" } as const;

/** The Monitor page's circuit breakers: per outgoing dependency (alert channel, Redis) and process, its state and counters. */
export function DependenciesCard({ paused = false }: { paused?: boolean }) {
  const i = useI18n();
  const { t } = i;
  const deps = usePoll<DependencyMonitor>((signal) => data(ylai.GET("/api/v1/monitor/dependencies", { signal })), [], REFRESH_MS, paused);
  const d = deps.data;
  return (
    <Card title={t("deps.title")} testId="dependencies">
      {deps.error ? <ErrorBox error={deps.error} testId="dependencies-error" /> : null}
      {d && !d.breakers.length ? <Empty testId="dependencies-empty">{t("deps.none")}</Empty> : null}
      {d && d.breakers.length ? (
        <div className="y-table-wrap">
          <table className="y-table y-table-compact">
            <thead>
              <tr>
                <th>{t("deps.name")}</th>
                <th>{t("deps.process")}</th>
                <th>{t("deps.state")}</th>
                <th>{t("deps.failures")}</th>
                <th>{t("deps.rejected")}</th>
                <th>{t("deps.lastError")}</th>
                <th>{t("deps.nextProbe")}</th>
              </tr>
            </thead>
            <tbody>
              {d.breakers.map((b) => (
                <tr key={`${b.process}/${b.name}`} data-testid={`breaker-${b.name}`} data-state={b.state}>
                  <td>{b.name}</td>
                  <td title={b.process}>{b.this_process ? `${b.component} (${t("deps.thisWorker")})` : b.component}</td>
                  <td className={STATE_TONE[b.state]}>{t(STATE_KEY[b.state])}</td>
                  <td>{t("deps.failuresValue", { run: i.number(b.consecutive_failures), total: i.number(b.failures) })}</td>
                  <td>{i.number(b.rejected)}</td>
                  <td>{b.last_error ? `${b.last_error} (${i.dateTime(b.last_failure_at)})` : "—"}</td>
                  <td>{b.state === "closed" ? "—" : i.dateTime(b.next_probe_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {d ? (
        <p className="y-muted y-small" data-testid="dependencies-note">
          {t("deps.note", { threshold: d.settings.failure_threshold, seconds: i.number(d.settings.open_seconds), trials: d.settings.half_open_calls })}
        </p>
      ) : null}
    </Card>
  );
}
