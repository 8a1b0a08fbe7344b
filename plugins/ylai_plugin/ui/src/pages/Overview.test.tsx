import { describe, expect, it } from "vitest";
import { $ } from "../test/render";
import { pageTests } from "../test/app";
import { fakeServer, type Handler } from "../test/server";
import type { QueueMonitor, SchedulerLag } from "../api/models";
import { queueTotals } from "./Overview";

const NOW = "2026-11-27T09:30:05Z";
const ts = (s: number) => `2026-11-27T09:29:${String(s).padStart(2, "0")}Z`;

const queues: QueueMonitor = {
  window_minutes: 60,
  resolution_seconds: 10,
  generated_at: NOW,
  queued: [
    { queue: "default", now: 2, peak: 4, points: [{ ts: ts(30), count: 4 }, { ts: ts(40), count: 2 }, { ts: ts(50), count: 2 }] },
    { queue: "gpu", now: 1, peak: 1, points: [{ ts: ts(30), count: 1 }, { ts: ts(40), count: 0 }, { ts: ts(50), count: 1 }] },
  ],
  celery: {
    status: "unreachable",
    detail: "ConnectionError",
    last_sample: ts(55),
    queues: [
      { queue: "default", latest: null, points: [{ ts: ts(30), length: 3 }, { ts: ts(40), length: null }, { ts: ts(50), length: 0 }] },
      { queue: "gpu", latest: null, points: [{ ts: ts(30), length: 1 }, { ts: ts(40), length: 2 }, { ts: ts(50), length: 0 }] },
    ],
  },
};
const lag: SchedulerLag = {
  window_minutes: 60,
  resolution_seconds: 60,
  generated_at: NOW,
  run_delay: { count: 3, p50: 1.2, p95: 4.8 },
  task_gap: { count: 9, p50: 0.9, p95: 2.5 },
  waiting_runs: 2,
  longest_wait_seconds: 12.5,
  points: [
    { ts: "2026-11-27T09:28:00Z", runs: 3, run_delay_p50: 1.2, run_delay_p95: 4.8, tasks: 4, task_gap_p50: 0.9, task_gap_p95: 2.5 },
    { ts: "2026-11-27T09:29:00Z", runs: 0, run_delay_p50: null, run_delay_p95: null, tasks: 5, task_gap_p50: 0.5, task_gap_p95: 1.5 },
  ],
};

describe("queueTotals", () => {
  it("adds the queues point by point; a Celery point without a reading stays a gap", () => {
    expect(queueTotals(queues)).toEqual({
      queued: [[ts(30), 5], [ts(40), 2], [ts(50), 3]],
      celery: [[ts(30), 4], [ts(40), null], [ts(50), 0]],
      now: 3,
      peak: 5,
    });
    expect(queueTotals({ ...queues, queued: [], celery: { ...queues.celery, queues: [] } })).toEqual({ queued: [], celery: [], now: 0, peak: 0 });
  });
});

const server: Handler = (c) => {
  if (c.path.endsWith("/monitor/queues")) return { body: queues };
  if (c.path.endsWith("/monitor/lag")) return { body: lag };
  if (c.path.endsWith("/monitor/tasks")) return { body: { window_hours: 24, generated_at: NOW, task_states: {}, run_states: {}, success_rate: null, queue_wait: { count: 0, p50: null, p95: null }, per_dag: [], top_failing: [], runs_per_hour: [] } };
  if (c.path.endsWith("/monitor/apis")) return { body: { window_minutes: 60, generated_at: NOW, workers: 1, total_requests: 0, error_rate: 0, routes: [], cache: { backend: "memory", hits: 0, misses: 0, hit_rate: null, ttl_seconds: 10 } } };
  if (c.path.endsWith("/monitor/system")) return { body: { window_minutes: 15, resolution_seconds: 10, generated_at: NOW, workers_alive: 0, hosts: [] } };
  if (c.path.endsWith("/dagRuns")) return { body: { dag_runs: [], total_entries: 0 } };
  if (c.path.endsWith("/scripts")) return { body: { items: [], total: 0, limit: 500, offset: 0 } };
  return undefined;
};

const open = pageTests();

describe("Overview cards", () => {
  it("show the queues and the scheduler lag of the last hour, with their trend lines", async () => {
    const calls = fakeServer(server).calls;
    const el = await open("/plugin/ylai-overview");
    const value = (id: string) => $(el, id)?.querySelector(".y-stat-value")?.textContent;
    expect(value("stat-queued-now")).toBe("3");
    expect(value("stat-queued-peak")).toBe("5");
    expect(value("stat-celery")).toBe("down");
    expect($(el, "stat-celery")?.querySelector(".y-tone-bad")).not.toBeNull();
    expect(value("stat-run-delay")).toBe("4.8 s");
    expect(value("stat-task-gap")).toBe("2.5 s");
    expect(value("stat-waiting-runs")).toBe("2");
    const paths = (id: string) => [...($(el, id)?.querySelectorAll("path") ?? [])].map((p) => p.getAttribute("d"));
    expect(paths("spark-queues")).toHaveLength(2);
    expect(paths("spark-queues")[1]).toMatch(/^M.*M/); // the Celery line has its gap
    // The last hour is the axis: points of the last two minutes sit at the right end.
    expect(paths("spark-lag")[0]).toMatch(/^M23\d\.\d,/);
    expect(paths("spark-lag")[1]).toMatch(/^M23\d\.\d,[\d.]+L23\d\.\d,/);
    for (const path of ["/monitor/queues", "/monitor/lag"]) expect(calls.find((c) => c.path.endsWith(path))?.search.get("window_minutes")).toBe("60");
  });

  it("leave the Celery figure out when the executor is not Celery", async () => {
    const local: Handler = (c) => (c.path.endsWith("/monitor/queues") ? { body: { ...queues, celery: { status: "not_configured", detail: "executor is LocalExecutor", last_sample: null, queues: [] } } } : undefined);
    fakeServer(local, server);
    const el = await open("/plugin/ylai-overview");
    expect($(el, "stat-queued-now")).not.toBeNull();
    expect($(el, "stat-celery")).toBeNull();
  });
});
