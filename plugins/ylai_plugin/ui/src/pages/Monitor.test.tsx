import { describe, expect, it } from "vitest";
import { pageTests } from "../test/app";
import { $, click, flush } from "../test/render";
import { fakeServer, type Handler } from "../test/server";
import { makeI18n } from "../i18n";
import type { QueueMonitor, SchedulerLag, TaskStateHistory } from "../api/models";
import { buildCharts, celeryNote, type MonitorData } from "./Monitor";

const i18n = makeI18n("en");
const NOW = "2026-11-27T09:30:05Z";
const ts = (m: number, s = 0) => `2026-11-27T09:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}Z`;

const states: TaskStateHistory = {
  window_minutes: 60,
  resolution_seconds: 10,
  generated_at: NOW,
  points: [
    { ts: ts(29, 40), states: { running: 2, queued: 1 } },
    { ts: ts(29, 50), states: { running: 1, success: 2 } },
    { ts: ts(30, 0), states: {} },
  ],
};
const queues: QueueMonitor = {
  window_minutes: 60,
  resolution_seconds: 10,
  generated_at: NOW,
  queued: [
    { queue: "default", now: 1, peak: 3, points: [{ ts: ts(29, 50), count: 3 }, { ts: ts(30, 0), count: 1 }] },
    { queue: "gpu", now: 0, peak: 1, points: [{ ts: ts(29, 50), count: 1 }, { ts: ts(30, 0), count: 0 }] },
  ],
  celery: {
    status: "unreachable",
    detail: "ConnectionError",
    last_sample: ts(30, 2),
    queues: [{ queue: "default", latest: null, points: [{ ts: ts(29, 50), length: 4 }, { ts: ts(30, 0), length: null }] }],
  },
};
const lag: SchedulerLag = {
  window_minutes: 60,
  resolution_seconds: 60,
  generated_at: NOW,
  run_delay: { count: 3, p50: 1.2, p95: 4.8 },
  task_gap: { count: 9, p50: 0.9, p95: 2.4 },
  waiting_runs: 1,
  longest_wait_seconds: 12.5,
  points: [
    { ts: ts(28), runs: 3, run_delay_p50: 1.2, run_delay_p95: 4.8, tasks: 0, task_gap_p50: null, task_gap_p95: null },
    { ts: ts(29), runs: 0, run_delay_p50: null, run_delay_p95: null, tasks: 9, task_gap_p50: 0.9, task_gap_p95: 2.4 },
  ],
};
const system = { window_minutes: 60, resolution_seconds: 10, generated_at: NOW, workers_alive: 0, hosts: [] };
const tasks = { window_hours: 1, generated_at: NOW, task_states: {}, run_states: {}, success_rate: null, queue_wait: { count: 0, p50: null, p95: null }, per_dag: [], top_failing: [], runs_per_hour: [] };
const apis = { window_minutes: 60, generated_at: NOW, workers: 1, total_requests: 0, error_rate: 0, routes: [], cache: { backend: "memory", hits: 0, misses: 0, hit_rate: null, ttl_seconds: 10 } };
const data = { system, tasks, apis, states, queues, lag } as unknown as MonitorData;

type Series = { name: string; data: unknown[]; lineStyle?: { type: string }; connectNulls?: boolean; stack?: string };
const series = (option: unknown) => (option as { series: Series[] }).series;

describe("the Monitor's history charts", () => {
  it("fill the task states from the history the API rebuilt, over the whole range", () => {
    const charts = buildCharts(data, i18n);
    const byName = Object.fromEntries(series(charts.states).map((s) => [s.name, s]));
    // The state names as the dictionary has them (state.queued ...), in the order of the states.
    expect(Object.keys(byName)).toEqual(["queued", "running", "success"]);
    expect(byName.running.data).toEqual([[ts(29, 40), 2], [ts(29, 50), 1], [ts(30, 0), 0]]);
    expect(byName.success.stack).toBe("states");
    const axis = (charts.states as { xAxis: { min: number; max: number } }).xAxis;
    expect(axis.max - axis.min).toBe(60 * 60_000);
    expect(axis.max).toBe(Date.parse(NOW));
  });

  it("draw queued task instances per queue and the Celery broker dashed, with its gap", () => {
    const charts = buildCharts(data, i18n);
    const lines = series(charts.queues);
    expect(lines.map((s) => s.name)).toEqual(["queued · default", "queued · gpu", "Celery · default"]);
    expect(lines[0].data).toEqual([[ts(29, 50), 3], [ts(30, 0), 1]]);
    expect(lines[2].lineStyle?.type).toBe("dashed");
    expect(lines[2].connectNulls).toBe(false);
    expect(lines[2].data).toEqual([[ts(29, 50), 4], [ts(30, 0), null]]);
    expect(charts.hasQueues).toBe(true);
    expect(buildCharts({ ...data, queues: { ...queues, queued: [], celery: { ...queues.celery, queues: [] } } }, i18n).hasQueues).toBe(false);
  });

  it("draw the scheduler lag of runs and of task hand-offs", () => {
    const lines = series(buildCharts(data, i18n).lag);
    expect(lines.map((s) => s.name)).toEqual(["run start delay p95", "run start delay p50", "task hand-off p95", "task hand-off p50"]);
    expect(lines[0].data).toEqual([[ts(28), 4.8], [ts(29), null]]);
    expect(lines[2].data).toEqual([[ts(28), null], [ts(29), 2.4]]);
  });

  it("say what the Celery broker's state means", () => {
    const note = (celery: Partial<QueueMonitor["celery"]>) => celeryNote({ ...queues, celery: { ...queues.celery, ...celery } }, i18n);
    expect(note({})).toEqual({ text: "The Celery broker did not answer (ConnectionError): its line has a gap there.", warn: true });
    expect(note({ status: "ok", queues: [{ queue: "a", latest: 2, points: [] }, { queue: "b", latest: 3, points: [] }] })).toEqual({ text: "Celery broker: 5 messages waiting now.", warn: false });
    expect(note({ status: "no_samples" }).warn).toBe(true);
    expect(note({ status: "not_configured" }).text).toContain("not Celery");
  });
});

const answers: Handler = (c) => {
  const body: Record<string, unknown> = { system, tasks, apis, "task-states": states, queues, lag };
  const name = c.path.split("/monitor/")[1];
  return name && name in body ? { body: body[name] } : undefined;
};

const open = pageTests();

describe("Monitor page", () => {
  it("shows queue depth and scheduler lag from history, and asks again for another range", async () => {
    const server = fakeServer(answers);
    const el = await open("/plugin/ylai-monitor");
    expect($(el, "chart-queue-depth")?.querySelector('[role="img"]')?.getAttribute("aria-label")).toBe("Queue depth");
    expect($(el, "celery-status")?.getAttribute("data-status")).toBe("unreachable");
    expect($(el, "celery-status")?.textContent).toContain("did not answer (ConnectionError)");
    expect($(el, "chart-scheduler-lag")?.querySelector('[role="img"]')).not.toBeNull();
    expect($(el, "queue-limits")).not.toBeNull(); // the backpressure card (components/QueueLimits.test.tsx)
    expect($(el, "dependencies")).not.toBeNull(); // the circuit breakers card (components/Dependencies.test.tsx)
    expect($(el, "lag-note")?.textContent).toContain("Runs started: 3; tasks started after upstream tasks: 9; runs due and not started now: 1.");
    const windows = (path: string) => server.calls.filter((c) => c.path.endsWith(path)).map((c) => c.search.get("window_minutes"));
    expect(windows("/monitor/queues")).toEqual(["60"]);
    click($(el, "range-24h")!);
    await flush(8);
    for (const path of ["/monitor/queues", "/monitor/lag", "/monitor/task-states"]) expect(windows(path)).toEqual(["60", "1440"]);
  });

  it("says so when nothing was queued and nothing started", async () => {
    const quiet: Handler = (c) =>
      c.path.endsWith("/monitor/queues")
        ? { body: { ...queues, queued: [], celery: { status: "not_configured", detail: "executor is LocalExecutor", last_sample: null, queues: [] } } }
        : c.path.endsWith("/monitor/lag")
          ? { body: { ...lag, points: [], run_delay: { count: 0, p50: null, p95: null }, task_gap: { count: 0, p50: null, p95: null }, waiting_runs: 0 } }
          : undefined;
    fakeServer(quiet, answers);
    const el = await open("/plugin/ylai-monitor");
    expect($(el, "chart-queue-depth")?.textContent).toContain("No task instance was queued in this range.");
    expect($(el, "celery-status")?.className).not.toContain("y-note");
    expect($(el, "chart-scheduler-lag")?.textContent).toContain("No run or task started in this range.");
  });
});
