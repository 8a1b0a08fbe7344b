import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { $, flush, render, type Rendered } from "./test/render";
import { pageFromPath } from "./lib/nav";
import { resetMeCache } from "./lib/me";
import YlaiApp from "./App";

const empty = { items: [], total: 0, limit: 50, offset: 0 };
const monitorTasks = { window_hours: 24, generated_at: "2024-01-01T00:00:00Z", task_states: { running: 2 }, run_states: { success: 5, failed: 1 }, success_rate: 0.83, queue_wait: { count: 3, p50: 1.5, p95: 3 }, per_dag: [], top_failing: [], runs_per_hour: [] };

let viewer = false;
const script = {
  name: "disk_usage",
  dag_id: "script__disk_usage",
  title: "Disk usage",
  description: "",
  owner: "sre",
  tags: [],
  runtime: "bash",
  params_schema: { type: "object", properties: { top: { type: "integer", minimum: 1 } }, required: [] },
  outputs: {},
  timeout_seconds: 60,
  retries: 0,
  sensitive: false,
  stats: { runs: 0, succeeded: 0, failed: 0, success_rate: null },
};

function fakeFetch(url: string): Promise<Response> {
  const path = new URL(url).pathname;
  const json = (body: unknown, status = 200) => Promise.resolve(new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } }));
  if (path.endsWith("/ylai/api/v1/me")) {
    if (!viewer) return json({ error: { code: "not_found", message: "Not Found" } }, 404);
    const dag = new URL(url).searchParams.get("dag_id");
    return json({
      username: "vera",
      roles: ["Viewer"],
      permissions: { tasks: ["read"], scripts: ["read"], presets: ["read"], monitor: ["read"] },
      dags: dag ? { [dag]: { read: true, run: false, logs: true } } : {},
    });
  }
  if (path.endsWith("/ylai/api/v1/scripts")) return json({ ...empty, items: [script], total: 1 });
  if (path.endsWith("/monitor/tasks")) return json(monitorTasks);
  if (path.endsWith("/monitor/apis")) return json({ window_minutes: 60, generated_at: "", workers: 1, total_requests: 12, error_rate: 0, routes: [] });
  if (path.endsWith("/monitor/system")) return json({ window_minutes: 15, resolution_seconds: 5, generated_at: "", workers_alive: 0, hosts: [] });
  if (path.endsWith("/dagRuns")) return json({ dag_runs: [], total_entries: 0 });
  if (path.endsWith("/api/v2/dags")) return json({ dags: [], total_entries: 0 });
  return json(empty);
}

let r: Rendered | null = null;
beforeEach(() => {
  // Airflow's index.html has <base href>: every relative URL resolves against it.
  if (!document.querySelector("base")) {
    const base = document.createElement("base");
    base.href = `${window.location.origin}/`;
    document.head.appendChild(base);
  }
  resetMeCache();
  vi.stubGlobal("fetch", vi.fn(fakeFetch));
});
afterEach(() => {
  viewer = false;
  r?.unmount();
  vi.unstubAllGlobals();
  window.history.replaceState(null, "", "/");
  localStorage.clear();
});

describe("page router", () => {
  it("maps Airflow's plugin routes, with any base path", () => {
    expect(pageFromPath("/plugin/ylai-overview")).toBe("overview");
    expect(pageFromPath("/plugin/ylai-run")).toBe("run");
    expect(pageFromPath("/airflow/plugin/ylai-monitor")).toBe("monitor");
    expect(pageFromPath("/a/b/plugin/ylai-scripts/")).toBe("scripts");
    expect(pageFromPath("/plugin/ylai-tasks")).toBe("tasks");
    expect(pageFromPath("/plugin/ylai-tasksx")).toBeNull();
    expect(pageFromPath("/dags")).toBeNull();
  });

  it.each([
    ["/plugin/ylai-overview", "page-overview"],
    ["/plugin/ylai-run", "page-run"],
    ["/base/plugin/ylai-monitor", "page-monitor"],
    ["/plugin/ylai-scripts", "page-scripts"],
    ["/plugin/ylai-tasks", "page-tasks"],
    ["/somewhere/else", "page-overview"],
  ])("renders %s as %s", async (path, testId) => {
    window.history.replaceState(null, "", path);
    r = render(<YlaiApp />);
    await flush();
    expect($(r.container, testId)).not.toBeNull();
  });

  it("switches pages through its tabs without reloading", async () => {
    window.history.replaceState(null, "", "/plugin/ylai-overview");
    r = render(<YlaiApp />);
    await flush();
    expect($(r.container, "stat-succeeded")?.textContent).toContain("5");
    ($(r.container, "tab-tasks") as HTMLAnchorElement).click();
    await flush();
    expect(window.location.pathname).toBe("/plugin/ylai-tasks");
    expect($(r.container, "page-tasks")).not.toBeNull();
  });

  it("follows the language Airflow stored", async () => {
    localStorage.setItem("i18nextLng", "zh-CN");
    window.history.replaceState(null, "", "/plugin/ylai-overview");
    r = render(<YlaiApp />);
    await flush();
    expect($(r.container, "ylai-root")?.getAttribute("lang")).toBe("zh-CN");
    expect(r.container.textContent).toContain("最近运行");
  });

  it("follows Airflow's dark mode class", async () => {
    document.documentElement.classList.add("dark");
    window.history.replaceState(null, "", "/plugin/ylai-overview");
    r = render(<YlaiApp />);
    await flush();
    expect($(r.container, "ylai-root")?.className).toContain("ylai-dark");
    document.documentElement.classList.remove("dark");
    await flush();
    expect($(r.container, "ylai-root")?.className).not.toContain("ylai-dark");
  });

  it("disables what GET /me does not allow, with the reason", async () => {
    viewer = true;
    window.history.replaceState(null, "", "/plugin/ylai-run?dag_id=script__disk_usage");
    r = render(<YlaiApp />);
    await flush(10);
    const button = $(r.container, "run-button") as HTMLButtonElement;
    expect(button.disabled).toBe(true);
    expect($(r.container, "run-permission")?.textContent).toBe("Your role may not start runs.");
    expect(($(r.container, "preset-save") as HTMLButtonElement).disabled).toBe(true);
    r.unmount();
    window.history.replaceState(null, "", "/plugin/ylai-tasks");
    r = render(<YlaiApp />);
    await flush(10);
    expect(($(r.container, "task-new") as HTMLButtonElement).disabled).toBe(true);
  });

  it("enables everything when the server has no /me (the server's 403 still applies)", async () => {
    window.history.replaceState(null, "", "/plugin/ylai-run?dag_id=script__disk_usage");
    r = render(<YlaiApp />);
    await flush(10);
    expect(($(r.container, "run-button") as HTMLButtonElement).disabled).toBe(false);
    expect($(r.container, "run-permission")).toBeNull();
  });

  it("registers one component under every page name", async () => {
    const mod = await import("./main");
    const g = globalThis as unknown as Record<string, unknown>;
    for (const name of ["ylai Overview", "ylai Run", "ylai Monitor", "ylai Scripts", "ylai Tasks", "ylai Alerts", "AirflowPlugin"]) expect(g[name]).toBe(mod.default);
  });
});
