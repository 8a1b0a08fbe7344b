import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { $, flush, render, type Rendered } from "./test/render";
import { pageFromPath } from "./lib/nav";
import { resetMeCache } from "./lib/me";
import { regionElement } from "./lib/usage";
import YlaiApp from "./App";
import { HistoryApp, PAGE_COMPONENTS } from "./Shell";
import { PAGE_LIST } from "./lib/nav";
import en from "./i18n/en.json";
import zh from "./i18n/zh-CN.json";

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

function fakeFetch(input: string | Request): Promise<Response> {
  const url = typeof input === "string" ? input : input.url;
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
  if (path.endsWith("/monitor/queues")) return json({ window_minutes: 60, resolution_seconds: 10, generated_at: "2024-01-01T00:00:00Z", queued: [], celery: { status: "not_configured", detail: "executor is LocalExecutor", last_sample: null, queues: [] } });
  if (path.endsWith("/monitor/lag")) return json({ window_minutes: 60, resolution_seconds: 60, generated_at: "2024-01-01T00:00:00Z", run_delay: { count: 0, p50: null, p95: null }, task_gap: { count: 0, p50: null, p95: null }, waiting_runs: 0, longest_wait_seconds: null, points: [] });
  if (path.endsWith("/monitor/task-states")) return json({ window_minutes: 60, resolution_seconds: 10, generated_at: "2024-01-01T00:00:00Z", points: [] });
  if (path.endsWith("/monitor/queue-limits")) return json({ generated_at: "2024-01-01T00:00:00Z", retry_after_seconds: 30, queues: [] });
  if (path.endsWith("/monitor/dependencies")) return json({ generated_at: "2024-01-01T00:00:00Z", not_closed: 0, settings: { failure_threshold: 5, open_seconds: 30, half_open_calls: 1 }, breakers: [] });
  if (path.endsWith("/monitor/errors")) return json({ hours: 24, history_days: 30, generated_at: "2024-01-01T00:00:00Z", dags: [], per_hour: [], signature_count: 0, signatures: [], truncated: false });
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

describe("the page list (ylai_plugin/pages.json)", () => {
  it("gives every page a component, a tab label and a title in both languages", () => {
    expect(PAGE_LIST.length).toBeGreaterThan(0);
    for (const { id, menu } of PAGE_LIST) {
      expect(PAGE_COMPONENTS[id], id).toBeTypeOf("function");
      // Airflow 3.3 shows a plugin's menu names as given (docs/ui.md): both languages, as the tabs word them.
      expect(menu).toBe(`ylai ${(en as Record<string, string>)[`nav.${id}`]} · ${(zh as Record<string, string>)[`nav.${id}`]}`);
      for (const dict of [en, zh] as Record<string, string>[]) {
        expect(dict[`nav.${id}`], `nav.${id}`).toBeTruthy();
        expect(dict[`${id}.title`], `${id}.title`).toBeTruthy();
      }
    }
    expect(Object.keys(PAGE_COMPONENTS).sort()).toEqual(PAGE_LIST.map((p) => p.id).sort());
  });
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
    for (const name of ["ylai Overview · 概览", "ylai Run · 运行", "ylai Monitor · 监控", "ylai Scripts · 脚本", "ylai Tasks · 任务", "ylai Alerts · 告警", "AirflowPlugin"]) expect(g[name]).toBe(mod.default);
  });
});

describe("standalone view (/ylai/app/<page>)", () => {
  const href = (testId: string) => new URL(($(r!.container, testId) as HTMLAnchorElement).href).pathname + new URL(($(r!.container, testId) as HTMLAnchorElement).href).search;

  it("links its tabs to itself, switches without reloading and offers the way back into Airflow", async () => {
    window.history.replaceState(null, "", "/ylai/app/overview");
    r = render(<HistoryApp standalone />);
    await flush();
    expect($(r.container, "page-overview")).not.toBeNull();
    expect(href("tab-tasks")).toBe("/ylai/app/tasks");
    expect(href("open-in-airflow")).toBe("/plugin/ylai-overview");
    expect(href("api-docs-link")).toBe("/ylai/api/v1/swagger");
    expect($(r.container, "open-standalone")).toBeNull();
    // A click on the top bar lands in a heatmap region of its own (lib/usage.ts).
    expect(regionElement($(r.container, "open-in-airflow"))?.getAttribute("data-ylai-region")).toBe("topbar");
    ($(r.container, "tab-tasks") as HTMLAnchorElement).click();
    await flush();
    expect(window.location.pathname).toBe("/ylai/app/tasks");
    expect($(r.container, "page-tasks")).not.toBeNull();
    expect(href("open-in-airflow")).toBe("/plugin/ylai-tasks");
  });

  it("keeps the query of ylai links and leaves Airflow's pages to Airflow", async () => {
    window.history.replaceState(null, "", "/ylai/app/scripts");
    r = render(<HistoryApp standalone />);
    await flush();
    const links = Array.from(r.container.querySelectorAll("a")).map((a) => new URL(a.href).pathname + new URL(a.href).search);
    expect(links).toContain("/ylai/app/run?dag_id=script__disk_usage");
    expect(links.some((l) => l.startsWith("/plugin/ylai-") && !l.startsWith("/plugin/ylai-scripts"))).toBe(false);
  });

  it("switches language and colour mode with Airflow's own settings", async () => {
    window.history.replaceState(null, "", "/ylai/app/overview");
    r = render(<HistoryApp standalone />);
    await flush();
    const select = $(r.container, "lang-select") as HTMLSelectElement;
    select.value = "zh-CN";
    select.dispatchEvent(new Event("change", { bubbles: true }));
    await flush();
    expect(localStorage.getItem("i18nextLng")).toBe("zh-CN");
    expect($(r.container, "ylai-root")?.getAttribute("lang")).toBe("zh-CN");
    expect($(r.container, "tab-run")?.textContent).toBe("运行");
    ($(r.container, "dark-toggle") as HTMLInputElement).click();
    await flush();
    expect(localStorage.getItem("theme")).toBe("dark");
    expect(document.documentElement.classList.contains("dark")).toBe(true);
    expect($(r.container, "ylai-root")?.className).toContain("ylai-dark");
    document.documentElement.classList.remove("dark", "light");
    document.documentElement.removeAttribute("lang");
    document.documentElement.style.colorScheme = "";
  });

  it("inside Airflow's UI keeps its links there and points to the standalone view", async () => {
    window.history.replaceState(null, "", "/plugin/ylai-run?dag_id=x");
    r = render(<YlaiApp />);
    await flush();
    expect(href("tab-tasks")).toBe("/plugin/ylai-tasks");
    expect(href("open-standalone")).toBe("/ylai/app/run?dag_id=x");
    // The API docs open in their own tab: Swagger UI is a page of its own, not one of Airflow's.
    expect(href("api-docs-link")).toBe("/ylai/api/v1/swagger");
    expect(($(r.container, "api-docs-link") as HTMLAnchorElement).target).toBe("_blank");
    expect($(r.container, "standalone-bar")).toBeNull();
    expect(regionElement($(r.container, "open-standalone"))?.getAttribute("data-ylai-region")).toBe("topbar");
  });
});
