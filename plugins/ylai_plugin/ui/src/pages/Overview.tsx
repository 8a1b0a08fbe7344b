import { useState } from "react";
import { airflow, data, ylai } from "../api/client";
import type { ApiMonitor, DagRun, QueueMonitor, SchedulerLag, SystemMonitor, TaskMonitor } from "../api/models";
import { qs } from "../lib/api";
import { prefixPattern, shortName, targetKind } from "../lib/dagKinds";
import { usePoll } from "../lib/hooks";
import { Link, pagePath } from "../lib/nav";
import type { Schema } from "../lib/schema";
import { DataTable, type Column } from "../components/DataTable";
import { ExportButtons } from "../components/ExportButtons";
import { Sparkline, type SparkPoint } from "../components/Sparkline";
import { useI18n } from "../i18n";
import { Card, Empty, ErrorBox, PageHeader, RefreshBar, StateBadge, Stat } from "../components/ui";

const REFRESH_MS = 10_000;

interface OverviewData {
  tasks: TaskMonitor | null;
  apis: ApiMonitor | null;
  system: SystemMonitor | null;
  queues: QueueMonitor | null;
  lag: SchedulerLag | null;
  errors: unknown[];
}

function settled<T>(p: PromiseSettledResult<T>, errors: unknown[]): T | null {
  if (p.status === "fulfilled") return p.value;
  errors.push(p.reason);
  return null;
}

async function loadOverview(signal: AbortSignal): Promise<OverviewData> {
  const lastHour = { params: { query: { window_minutes: 60 } }, signal };
  const [tasks, apis, system, queues, lag] = await Promise.allSettled([
    data(ylai.GET("/api/v1/monitor/tasks", { params: { query: { window_hours: 24 } }, signal })),
    data(ylai.GET("/api/v1/monitor/apis", lastHour)),
    data(ylai.GET("/api/v1/monitor/system", { params: { query: { window_minutes: 15 } }, signal })),
    data(ylai.GET("/api/v1/monitor/queues", lastHour)),
    data(ylai.GET("/api/v1/monitor/lag", lastHour)),
  ]);
  const errors: unknown[] = [];
  return {
    tasks: settled(tasks, errors),
    apis: settled(apis, errors),
    system: settled(system, errors),
    queues: settled(queues, errors),
    lag: settled(lag, errors),
    errors,
  };
}

/** The time range of a history answer, in epoch ms: its window up to when it was computed. */
export function windowRange(d: { generated_at: string; window_minutes: number }): [number, number] {
  const end = Date.parse(d.generated_at);
  return [end - d.window_minutes * 60_000, end];
}

/** All queues together: queued task instances per point, and the Celery broker's messages (null: no reading). */
export function queueTotals(queues: QueueMonitor): { queued: SparkPoint[]; celery: SparkPoint[]; now: number; peak: number } {
  const sum = (series: { points: { ts: string }[] }[], value: (series: number, point: number) => number | null): SparkPoint[] =>
    (series[0]?.points ?? []).map((p, n) => {
      const values = series.map((_, s) => value(s, n));
      return [p.ts, values.some((v) => v === null) ? null : values.reduce<number>((a, v) => a + (v ?? 0), 0)];
    });
  const queued = sum(queues.queued, (s, n) => queues.queued[s].points[n]?.count ?? 0);
  const celery = sum(queues.celery.queues, (s, n) => queues.celery.queues[s].points[n]?.length ?? null);
  return {
    queued,
    celery,
    now: queues.queued.reduce((n, q) => n + q.now, 0),
    peak: Math.max(0, ...queued.map(([, v]) => v ?? 0)),
  };
}

function median(values: number[]): number | null {
  if (!values.length) return null;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.ceil(0.5 * s.length) - 1];
}

/** p95 over routes, weighted by their request counts (an approximation of the overall p95). */
export function overallP95(apis: ApiMonitor): number | null {
  const routes = apis.routes.filter((r) => r.p95_ms !== null && r.requests > 0).sort((a, b) => (a.p95_ms ?? 0) - (b.p95_ms ?? 0));
  const total = routes.reduce((n, r) => n + r.requests, 0);
  if (!total) return null;
  let seen = 0;
  for (const r of routes) {
    seen += r.requests;
    if (seen >= 0.95 * total) return r.p95_ms;
  }
  return routes[routes.length - 1].p95_ms;
}

/** A short "key=value, ..." of a run's conf, with secrets masked. */
export function paramsSummary(conf: Record<string, unknown> | null | undefined, secret: Set<string>, max = 80): string {
  const parts = Object.entries(conf ?? {}).map(([k, v]) => `${k}=${secret.has(k) && v !== null && v !== "" ? "***" : typeof v === "string" ? v : JSON.stringify(v)}`);
  const text = parts.join(", ");
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function Overview() {
  const i = useI18n();
  const { t } = i;
  const [paused, setPaused] = useState(false);
  const [scope, setScope] = useState<"ylai" | "all">("ylai");
  const overview = usePoll(loadOverview, [], REFRESH_MS, paused);
  const runs = usePoll(
    (signal) =>
      data(
        airflow.GET("/api/v2/dags/{dag_id}/dagRuns", {
          params: { path: { dag_id: "~" }, query: { order_by: ["-run_after"], limit: 20, dag_id_prefix_pattern: scope === "ylai" ? prefixPattern(["script", "pipeline"]) : undefined } },
          signal,
        }),
      ),
    [scope],
    REFRESH_MS,
    paused,
  );
  const scripts = usePoll((signal) => data(ylai.GET("/api/v1/scripts", { params: { query: { limit: 500 } }, signal })), []);
  const secret = new Map<string, Set<string>>();
  for (const s of scripts.data?.items ?? []) {
    const props = (s.params_schema as Schema).properties ?? {};
    secret.set(s.dag_id, new Set(Object.keys(props).filter((k) => s.sensitive || props[k]["x-ylai-secret"])));
  }

  const d = overview.data;
  const ts = d?.tasks?.task_states ?? {};
  const rs = d?.tasks?.run_states ?? {};
  const busiest = d?.system?.hosts.filter((h) => h.alive).sort((a, b) => b.latest.cpu_percent - a.latest.cpu_percent)[0];
  const totals = d?.queues ? queueTotals(d.queues) : null;
  const celery = d?.queues?.celery;
  const lagPoints = d?.lag?.points ?? [];
  const medianRun = median((d?.tasks?.per_dag ?? []).filter((x) => x.duration.p50 !== null).map((x) => x.duration.p50 as number));
  const refresh = () => {
    overview.refresh();
    runs.refresh();
  };

  const secretOf = (r: DagRun) => secret.get(r.dag_id) ?? new Set<string>();
  const columns: Column<DagRun>[] = [
    {
      header: t("col.target"),
      cell: (r) => (
        <>
          <span className="y-kind">{t(`kind.${targetKind(r.dag_id)}`)}</span> <code>{shortName(r.dag_id)}</code>
        </>
      ),
    },
    { header: t("col.by"), cell: (r) => r.triggering_user_name ?? <span className="y-muted">{t("overview.scheduler")}</span> },
    {
      header: t("col.params"),
      className: "y-mono y-small y-ellipsis",
      title: (r) => paramsSummary(r.conf, secretOf(r), 2000),
      cell: (r) => paramsSummary(r.conf, secretOf(r)) || <span className="y-muted">—</span>,
    },
    { header: t("col.state"), cell: (r) => <StateBadge state={r.state} /> },
    { header: t("col.started"), className: "y-nowrap", cell: (r) => i.dateTime(r.start_date ?? r.run_after) },
    { header: t("col.duration"), className: "y-nowrap", cell: (r) => i.duration(r.duration ?? null) },
    {
      header: t("col.links"),
      className: "y-nowrap",
      cell: (r) => (
        <>
          <Link to={`dags/${encodeURIComponent(r.dag_id)}/runs/${encodeURIComponent(r.dag_run_id)}`}>{t("overview.openRun")}</Link>
          {" · "}
          <Link to={pagePath("run", qs({ dag_id: r.dag_id, run_id: r.dag_run_id }))}>{t("overview.logs")}</Link>
        </>
      ),
    },
  ];

  return (
    <div data-testid="page-overview">
      <PageHeader
        title={t("overview.title")}
        subtitle={t("overview.subtitle")}
        actions={<RefreshBar updatedAt={overview.updatedAt} paused={paused} onPause={setPaused} onRefresh={refresh} />}
      />
      {d?.errors.map((e, n) => <ErrorBox key={n} error={e} />)}
      {overview.error ? <ErrorBox error={overview.error} /> : null}
      <div className="y-cards">
        <Card title={t("overview.tasks")} testId="card-tasks">
          <div className="y-stats">
            <Stat label={t("state.running")} value={i.number(ts.running ?? 0)} tone="run" testId="stat-running" />
            <Stat label={t("state.queued")} value={i.number((ts.queued ?? 0) + (ts.scheduled ?? 0))} tone="wait" testId="stat-queued" />
            <Stat label={t("overview.succeededToday")} value={i.number(rs.success ?? 0)} tone="ok" testId="stat-succeeded" />
            <Stat label={t("overview.failedToday")} value={i.number(rs.failed ?? 0)} tone="bad" testId="stat-failed" />
          </div>
          <p className="y-muted y-small">{t("overview.tasksNote")}</p>
        </Card>
        <Card title={t("overview.apis")} testId="card-apis">
          <div className="y-stats">
            <Stat label={t("overview.calls1h")} value={d?.apis ? i.number(d.apis.total_requests) : "—"} testId="stat-calls" />
            <Stat label={t("overview.errorRate")} value={d?.apis ? i.percent(d.apis.error_rate) : "—"} tone={d?.apis && d.apis.error_rate > 0.01 ? "bad" : undefined} />
            <Stat label={t("overview.p95")} value={d?.apis ? i.duration((overallP95(d.apis) ?? NaN) / 1000) : "—"} />
          </div>
        </Card>
        <Card title={t("overview.system")} testId="card-system">
          <div className="y-stats">
            <Stat label={t("overview.workersAlive")} value={d?.system ? i.number(d.system.workers_alive) : "—"} testId="stat-workers" />
            <Stat label={t("overview.cpu")} value={busiest ? `${i.number(busiest.latest.cpu_percent, 0)}%` : "—"} />
            <Stat label={t("overview.memory")} value={busiest ? `${i.number(busiest.latest.mem_percent, 0)}%` : "—"} />
            <Stat label={t("overview.disk")} value={busiest ? `${i.number(busiest.latest.disk_percent, 0)}%` : "—"} />
          </div>
          <p className="y-muted y-small">{busiest ? t("overview.busiestHost", { host: busiest.host }) : t("overview.noHosts")}</p>
        </Card>
        <Card title={t("overview.queues")} testId="card-queues">
          <div className="y-stats">
            <Stat label={t("overview.queuedNow")} value={totals ? i.number(totals.now) : "—"} tone="wait" testId="stat-queued-now" />
            <Stat label={t("overview.queuedPeak")} value={totals ? i.number(totals.peak) : "—"} testId="stat-queued-peak" />
            {celery && celery.status !== "not_configured" ? (
              <Stat
                label={t("overview.celery")}
                value={celery.status === "ok" ? i.number(celery.queues.reduce((n, q) => n + (q.latest ?? 0), 0)) : t("overview.brokerDown")}
                tone={celery.status === "ok" ? undefined : "bad"}
                testId="stat-celery"
              />
            ) : null}
          </div>
          {totals ? (
            <Sparkline
              label={t("overview.queues")}
              testId="spark-queues"
              range={d?.queues ? windowRange(d.queues) : undefined}
              series={[
                { points: totals.queued, color: "var(--y-wait)" },
                { points: totals.celery, color: "var(--y-accent)", dashed: true },
              ]}
            />
          ) : null}
          <p className="y-muted y-small">{t("overview.queuesNote")}</p>
        </Card>
        <Card title={t("overview.lag")} testId="card-lag">
          <div className="y-stats">
            <Stat label={t("overview.runDelay")} value={i.duration(d?.lag?.run_delay.p95 ?? null)} testId="stat-run-delay" />
            <Stat label={t("overview.taskGap")} value={i.duration(d?.lag?.task_gap.p95 ?? null)} testId="stat-task-gap" />
            <Stat label={t("overview.waitingRuns")} value={d?.lag ? i.number(d.lag.waiting_runs) : "—"} tone={d?.lag?.waiting_runs ? "warn" : undefined} testId="stat-waiting-runs" />
          </div>
          {d?.lag && lagPoints.length ? (
            <Sparkline
              label={t("overview.lag")}
              testId="spark-lag"
              range={windowRange(d.lag)}
              series={[
                // Each line joins the minutes that had a value (lag points are sparse).
                { points: lagPoints.filter((p) => p.run_delay_p95 !== null).map((p) => [p.ts, p.run_delay_p95]), color: "var(--y-accent)" },
                { points: lagPoints.filter((p) => p.task_gap_p95 !== null).map((p) => [p.ts, p.task_gap_p95]), color: "var(--y-warn)", dashed: true },
              ]}
            />
          ) : null}
          <p className="y-muted y-small">{t("overview.lagNote")}</p>
        </Card>
        <Card title={t("overview.performance")} testId="card-performance">
          <div className="y-stats">
            <Stat label={t("overview.queueWait")} value={i.duration(d?.tasks?.queue_wait.p50 ?? null)} />
            <Stat label={t("overview.runDuration")} value={i.duration(medianRun)} />
            <Stat label={t("overview.successRate")} value={i.percent(d?.tasks?.success_rate ?? null)} />
          </div>
        </Card>
      </div>

      <Card
        title={
          <div className="y-row">
            <span>{t("overview.recentRuns")}</span>
            <div className="y-seg y-push" role="group" aria-label={t("overview.scope")}>
              <button type="button" className={scope === "ylai" ? "y-btn y-btn-on" : "y-btn"} aria-pressed={scope === "ylai"} onClick={() => setScope("ylai")} data-testid="scope-ylai">
                {t("overview.scopeYlai")}
              </button>
              <button type="button" className={scope === "all" ? "y-btn y-btn-on" : "y-btn"} aria-pressed={scope === "all"} onClick={() => setScope("all")} data-testid="scope-all">
                {t("overview.scopeAll")}
              </button>
            </div>
          </div>
        }
        testId="recent-runs"
      >
        <ExportButtons kind="runs" testId="export-runs" />
        {runs.error ? <ErrorBox error={runs.error} /> : null}
        {runs.data && runs.data.dag_runs.length === 0 ? (
          <Empty>
            {t("overview.noRuns")} <Link to={pagePath("run")}>{t("overview.startOne")}</Link>
          </Empty>
        ) : null}
        {runs.data && runs.data.dag_runs.length > 0 ? <DataTable rows={runs.data.dag_runs} rowKey={(r) => `${r.dag_id}/${r.dag_run_id}`} columns={columns} testId="runs-table" /> : null}
      </Card>
    </div>
  );
}
