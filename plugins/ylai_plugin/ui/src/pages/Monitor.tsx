import { useMemo, useState } from "react";
import type { EChartsCoreOption } from "echarts/core";
import { data, ylai } from "../api/client";
import type { ApiMonitor, HostMonitor, QueueMonitor, SchedulerLag, SystemMonitor, TaskMonitor, TaskStateHistory } from "../api/models";
import { shortName } from "../lib/dagKinds";
import { usePoll } from "../lib/hooks";
import { ExportButtons } from "../components/ExportButtons";
import { QueueLimitsCard } from "../components/QueueLimits";
import { DependenciesCard } from "../components/Dependencies";
import { ErrorTrendsCard } from "../components/ErrorTrends";
import { useI18n, type I18n } from "../i18n";
import { Chart } from "../components/Chart";
import { Card, Empty, ErrorBox, PageHeader, RefreshBar } from "../components/ui";

export const RANGES = [
  { id: "15m", minutes: 15 },
  { id: "1h", minutes: 60 },
  { id: "24h", minutes: 1440 },
] as const;
type RangeId = (typeof RANGES)[number]["id"];

export interface MonitorData {
  system: SystemMonitor;
  tasks: TaskMonitor;
  apis: ApiMonitor;
  states: TaskStateHistory;
  queues: QueueMonitor;
  lag: SchedulerLag;
}

const REFRESH_MS = 10_000;
const STATE_COLORS: Record<string, string> = {
  success: "#16a34a",
  failed: "#dc2626",
  running: "#0891b2",
  queued: "#71717a",
  scheduled: "#a1a1aa",
  up_for_retry: "#d97706",
  upstream_failed: "#ea580c",
  skipped: "#c084fc",
  deferred: "#7c3aed",
};

// Queues, one colour each; their Celery line is the same colour, dashed.
const QUEUE_COLORS = ["#0e7490", "#7c3aed", "#d97706", "#16a34a", "#db2777", "#4f46e5"];
// Lag lines: runs in one colour, tasks in another; p95 solid, p50 dashed.
const LAG_COLORS = { run: "#0b7285", task: "#c2410c" };

const zoom = [
  { type: "inside", filterMode: "none" },
  { type: "slider", height: 18, bottom: 4, filterMode: "none" },
];

function hostSeries(hosts: HostMonitor[], key: "cpu_percent" | "mem_percent" | "disk_percent") {
  return hosts.map((h) => ({
    name: h.host,
    type: "line",
    showSymbol: false,
    smooth: true,
    data: h.history.map((s) => [s.ts, Math.round(s[key] * 10) / 10]),
  }));
}

function percentChart(hosts: HostMonitor[], key: "cpu_percent" | "mem_percent" | "disk_percent"): EChartsCoreOption {
  return {
    tooltip: { trigger: "axis", valueFormatter: (v: number) => `${v}%` },
    legend: { top: 0, type: "scroll" },
    grid: { left: 44, right: 16, top: 32, bottom: 48 },
    xAxis: { type: "time", axisLabel: { hideOverlap: true } },
    yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
    dataZoom: zoom,
    series: hostSeries(hosts, key),
  };
}

/** The x axis of a history chart: the whole range, so sparse points keep their place in time. */
function rangeAxis(d: { generated_at: string; window_minutes: number }) {
  const end = Date.parse(d.generated_at);
  return { type: "time", min: end - d.window_minutes * 60_000, max: end, axisLabel: { hideOverlap: true } };
}

/** The Celery broker's state as a sentence, and whether it is a warning (a gap in the line). */
export function celeryNote(queues: QueueMonitor, i: I18n): { text: string; warn: boolean } {
  const { t, number } = i;
  const celery = queues.celery;
  switch (celery.status) {
    case "ok":
      return { text: t("monitor.celeryOk", { n: number(celery.queues.reduce((n, q) => n + (q.latest ?? 0), 0)) }), warn: false };
    case "unreachable":
      return { text: t("monitor.celeryUnreachable", { detail: celery.detail ?? "?" }), warn: true };
    case "no_samples":
      return { text: t("monitor.celeryNoSamples"), warn: true };
    default:
      return { text: t("monitor.celeryNotConfigured"), warn: false };
  }
}

export function Monitor() {
  const i = useI18n();
  const { t } = i;
  const [range, setRange] = useState<RangeId>("1h");
  const [paused, setPaused] = useState(false);
  const minutes = RANGES.find((r) => r.id === range)?.minutes ?? 60;
  const monitor = usePoll(
    async (signal): Promise<MonitorData> => {
      const window = { params: { query: { window_minutes: minutes } }, signal };
      const [system, tasks, apis, states, queues, lag] = await Promise.all([
        data(ylai.GET("/api/v1/monitor/system", window)),
        data(ylai.GET("/api/v1/monitor/tasks", { params: { query: { window_hours: Math.max(1, Math.ceil(minutes / 60)) } }, signal })),
        data(ylai.GET("/api/v1/monitor/apis", window)),
        data(ylai.GET("/api/v1/monitor/task-states", window)),
        data(ylai.GET("/api/v1/monitor/queues", window)),
        data(ylai.GET("/api/v1/monitor/lag", window)),
      ]);
      return { system, tasks, apis, states, queues, lag };
    },
    [minutes],
    REFRESH_MS,
    paused,
  );

  const charts = useMemo(() => (monitor.data ? buildCharts(monitor.data, i) : null), [monitor.data, i]);
  const d = monitor.data;
  const celery = d ? celeryNote(d.queues, i) : null;

  return (
    <div data-testid="page-monitor">
      <PageHeader
        title={t("monitor.title")}
        subtitle={t("monitor.subtitle")}
        actions={
          <>
            <div className="y-seg" role="group" aria-label={t("monitor.range")}>
              {RANGES.map((r) => (
                <button key={r.id} type="button" className={r.id === range ? "y-btn y-btn-on" : "y-btn"} aria-pressed={r.id === range} onClick={() => setRange(r.id)} data-testid={`range-${r.id}`}>
                  {t(`monitor.range.${r.id}`)}
                </button>
              ))}
            </div>
            <RefreshBar updatedAt={monitor.updatedAt} paused={paused} onPause={setPaused} onRefresh={monitor.refresh} />
          </>
        }
      />
      <div className="y-filters">
        <ExportButtons kind="monitor" period={false} filters={{ since: new Date(Date.now() - minutes * 60_000).toISOString() }} testId="export-monitor" />
      </div>
      {monitor.error ? <ErrorBox error={monitor.error} /> : null}
      {charts && d ? (
        <div className="y-chart-grid">
          <Card title={t("monitor.cpu")} testId="chart-cpu">
            {d.system.hosts.length ? <Chart option={charts.cpu} label={t("monitor.cpu")} /> : <Empty>{t("monitor.noHosts")}</Empty>}
          </Card>
          <Card title={t("monitor.memory")} testId="chart-memory">
            {d.system.hosts.length ? <Chart option={charts.mem} label={t("monitor.memory")} /> : <Empty>{t("monitor.noHosts")}</Empty>}
          </Card>
          <Card title={t("monitor.disk")} testId="chart-disk">
            {d.system.hosts.length ? <Chart option={charts.disk} label={t("monitor.disk")} /> : <Empty>{t("monitor.noHosts")}</Empty>}
          </Card>
          <Card title={t("monitor.taskStates")} testId="chart-task-states">
            <Chart option={charts.states} label={t("monitor.taskStates")} />
            <p className="y-muted y-small">{t("monitor.taskStatesNote")}</p>
          </Card>
          <Card title={t("monitor.queueDepth")} testId="chart-queue-depth">
            {charts.hasQueues ? <Chart option={charts.queues} label={t("monitor.queueDepth")} /> : <Empty>{t("monitor.noQueued")}</Empty>}
            {celery ? (
              <p className={celery.warn ? "y-note y-small" : "y-muted y-small"} data-testid="celery-status" data-status={d.queues.celery.status}>
                {celery.text}
              </p>
            ) : null}
            <p className="y-muted y-small">{t("monitor.queueNote")}</p>
          </Card>
          <QueueLimitsCard paused={paused} />
          <DependenciesCard paused={paused} />
          <Card title={t("monitor.schedulerLag")} testId="chart-scheduler-lag">
            {d.lag.points.length ? <Chart option={charts.lag} label={t("monitor.schedulerLag")} /> : <Empty>{t("monitor.noLag")}</Empty>}
            <p className="y-muted y-small" data-testid="lag-note">
              {t("monitor.lagNote", { runs: i.number(d.lag.run_delay.count), tasks: i.number(d.lag.task_gap.count), waiting: i.number(d.lag.waiting_runs) })}
            </p>
          </Card>
          <Card title={t("monitor.runsPerHour")} testId="chart-runs-per-hour">
            {d.tasks.runs_per_hour.length ? <Chart option={charts.perHour} label={t("monitor.runsPerHour")} /> : <Empty>{t("monitor.noRuns")}</Empty>}
          </Card>
          <Card title={t("monitor.durations")} testId="chart-durations">
            {charts.hasDurations ? <Chart option={charts.durations} label={t("monitor.durations")} height={Math.max(220, 28 * d.tasks.per_dag.length + 60)} /> : <Empty>{t("monitor.noRuns")}</Empty>}
          </Card>
          <ErrorTrendsCard paused={paused} />
          <Card title={t("monitor.apiLatency")} testId="chart-api" className="y-span-2">
            {d.apis.routes.length ? (
              <Chart option={charts.api} label={t("monitor.apiLatency")} height={Math.max(240, 26 * Math.min(20, d.apis.routes.length) + 70)} />
            ) : (
              <Empty>{t("monitor.noApi")}</Empty>
            )}
            <p className="y-muted y-small">{t("monitor.apiNote", { n: i.number(d.apis.total_requests), workers: d.apis.workers })}</p>
          </Card>
        </div>
      ) : null}
    </div>
  );
}

export function buildCharts(d: MonitorData, i: I18n) {
  const { t, tx } = i;
  const snaps = d.states.points;
  const stateNames = [...new Set(snaps.flatMap((s) => Object.keys(s.states)))].sort();
  const running = d.system.hosts.map((h) => ({
    name: t("monitor.runningOn", { host: h.host }),
    type: "line",
    step: "end",
    showSymbol: false,
    lineStyle: { type: "dashed" },
    data: h.history.map((s) => [s.ts, s.running_tasks]),
  }));
  const states: EChartsCoreOption = {
    tooltip: { trigger: "axis" },
    legend: { top: 0, type: "scroll" },
    grid: { left: 44, right: 16, top: 32, bottom: 48 },
    xAxis: rangeAxis(d.states),
    yAxis: { type: "value", minInterval: 1 },
    dataZoom: zoom,
    series: [
      ...stateNames.map((s) => ({
        name: tx(`state.${s}`, s),
        type: "line",
        stack: "states",
        areaStyle: { opacity: 0.35 },
        showSymbol: false,
        itemStyle: { color: STATE_COLORS[s] },
        data: snaps.map((x) => [x.ts, x.states[s] ?? 0]),
      })),
      ...running,
    ],
  };
  const queueNames = [...new Set([...d.queues.queued.map((q) => q.queue), ...d.queues.celery.queues.map((q) => q.queue)])];
  const colorOf = new Map(queueNames.map((q, n) => [q, QUEUE_COLORS[n % QUEUE_COLORS.length]]));
  const queues: EChartsCoreOption = {
    tooltip: { trigger: "axis" },
    legend: { top: 0, type: "scroll" },
    grid: { left: 44, right: 16, top: 32, bottom: 48 },
    xAxis: rangeAxis(d.queues),
    yAxis: { type: "value", minInterval: 1 },
    dataZoom: zoom,
    series: [
      ...d.queues.queued.map((q) => ({
        name: t("monitor.queuedIn", { queue: q.queue }),
        type: "line",
        step: "end",
        showSymbol: false,
        itemStyle: { color: colorOf.get(q.queue) },
        areaStyle: { opacity: 0.15 },
        data: q.points.map((p) => [p.ts, p.count]),
      })),
      // A null length (the broker did not answer) breaks the line: connectNulls stays off.
      ...d.queues.celery.queues.map((q) => ({
        name: t("monitor.celeryQueue", { queue: q.queue }),
        type: "line",
        step: "end",
        showSymbol: false,
        connectNulls: false,
        itemStyle: { color: colorOf.get(q.queue) },
        lineStyle: { type: "dashed" },
        data: q.points.map((p) => [p.ts, p.length]),
      })),
    ],
  };
  const lagLine = (name: string, color: string, dashed: boolean, key: "run_delay_p50" | "run_delay_p95" | "task_gap_p50" | "task_gap_p95") => ({
    name,
    type: "line",
    showSymbol: true,
    symbolSize: 5,
    connectNulls: true,
    itemStyle: { color },
    lineStyle: dashed ? { type: "dashed" } : undefined,
    data: d.lag.points.map((p) => [p.ts, p[key]]),
  });
  const lag: EChartsCoreOption = {
    tooltip: { trigger: "axis", valueFormatter: (v: number | null) => i.duration(v) },
    // Four long names: a legend on two lines rather than one that pages.
    legend: { top: 0 },
    grid: { left: 56, right: 16, top: 56, bottom: 48 },
    xAxis: rangeAxis(d.lag),
    yAxis: { type: "value", min: 0, axisLabel: { formatter: (v: number) => i.duration(v) } },
    dataZoom: zoom,
    series: [
      lagLine(t("monitor.runDelayP95"), LAG_COLORS.run, false, "run_delay_p95"),
      lagLine(t("monitor.runDelayP50"), LAG_COLORS.run, true, "run_delay_p50"),
      lagLine(t("monitor.taskGapP95"), LAG_COLORS.task, false, "task_gap_p95"),
      lagLine(t("monitor.taskGapP50"), LAG_COLORS.task, true, "task_gap_p50"),
    ],
  };
  const hours = d.tasks.runs_per_hour;
  const perHour: EChartsCoreOption = {
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid: { left: 44, right: 16, top: 32, bottom: 48 },
    xAxis: { type: "time", axisLabel: { hideOverlap: true } },
    yAxis: { type: "value", minInterval: 1 },
    dataZoom: zoom,
    series: [
      { name: t("monitor.notFailed"), type: "bar", barMaxWidth: 28, stack: "runs", itemStyle: { color: STATE_COLORS.success }, data: hours.map((h) => [h.hour, h.runs - h.failed]) },
      { name: t("state.failed"), type: "bar", barMaxWidth: 28, stack: "runs", itemStyle: { color: STATE_COLORS.failed }, data: hours.map((h) => [h.hour, h.failed]) },
    ],
  };
  const perDag = d.tasks.per_dag.filter((x) => x.duration.count > 0);
  const durations: EChartsCoreOption = {
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, valueFormatter: (v: number) => i.duration(v) },
    legend: { top: 0 },
    grid: { left: 8, right: 24, top: 32, bottom: 8, containLabel: true },
    xAxis: { type: "value", name: t("monitor.seconds") },
    yAxis: { type: "category", data: perDag.map((x) => shortName(x.dag_id)), inverse: true },
    series: [
      { name: "p50", type: "bar", data: perDag.map((x) => x.duration.p50) },
      { name: "p95", type: "bar", data: perDag.map((x) => x.duration.p95) },
    ],
  };
  const routes = [...d.apis.routes].sort((a, b) => b.requests - a.requests).slice(0, 20);
  const api: EChartsCoreOption = {
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, valueFormatter: (v: number) => `${i.number(v, 1)} ms` },
    legend: { top: 0 },
    grid: { left: 8, right: 24, top: 32, bottom: 8, containLabel: true },
    xAxis: { type: "value", name: "ms" },
    yAxis: {
      type: "category",
      inverse: true,
      data: routes.map((r) => `${r.method} ${r.route}`),
      axisLabel: { width: 320, overflow: "truncate" },
    },
    series: [
      { name: "p50", type: "bar", data: routes.map((r) => r.p50_ms) },
      { name: "p95", type: "bar", data: routes.map((r) => r.p95_ms) },
      { name: "p99", type: "bar", data: routes.map((r) => r.p99_ms) },
    ],
  };
  return {
    cpu: percentChart(d.system.hosts, "cpu_percent"),
    mem: percentChart(d.system.hosts, "mem_percent"),
    disk: percentChart(d.system.hosts, "disk_percent"),
    states,
    queues,
    hasQueues: d.queues.queued.length > 0 || d.queues.celery.queues.length > 0,
    lag,
    perHour,
    durations,
    hasDurations: perDag.length > 0,
    api,
  };
}
