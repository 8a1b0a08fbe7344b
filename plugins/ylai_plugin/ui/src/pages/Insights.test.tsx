import { describe, expect, it } from "vitest";
import { makeI18n } from "../i18n";
import { pageTests } from "../test/app";
import { $, click, flush, type } from "../test/render";
import { fakeServer, meHandler, type Handler } from "../test/server";
import { defaultRange, insightCharts, pivot, type UsageStats } from "./Insights";

const open = pageTests();
const all = (el: ParentNode, id: string) => [...el.querySelectorAll<HTMLElement>(`[data-testid="${id}"]`)];

const STATS: UsageStats = {
  start: "2026-11-07",
  end: "2026-12-06",
  enabled: true,
  page_views: [
    { page: "run", views: 120, users: 8 },
    { page: "monitor", views: 30, users: 3 },
  ],
  features: [
    { feature: "run", source: "ui", count: 40 },
    { feature: "run", source: "api", count: 12 },
    { feature: "run", source: "schedule", count: 100 },
    { feature: "export", source: "ui", count: 4 },
  ],
  daily_active: [
    { day: "2026-12-05", role: "User", users: 5 },
    { day: "2026-12-05", role: "Admin", users: 1 },
    { day: "2026-12-06", role: "User", users: 3 },
  ],
  weekly_active: [{ week: "2026-11-30", role: "User", users: 9 }],
  top_scripts: [{ dag_id: "script__etl", name: "etl", runs: 30, users: 4 }],
  top_pipelines: [],
  first_run: { new_users: 5, users_with_run: 4, median_seconds: 600, p90_seconds: 3600, mean_seconds: 900 },
};
const stats =
  (body: UsageStats | ((q: URLSearchParams) => UsageStats)): Handler =>
  (c) =>
    c.path === "/ylai/api/v1/usage/stats" ? { body: typeof body === "function" ? body(c.search) : body } : undefined;
const asked = (calls: { path: string; search: URLSearchParams }[]) => calls.filter((c) => c.path === "/ylai/api/v1/usage/stats").map((c) => Object.fromEntries(c.search));

describe("Insights page", () => {
  it("shows the figures of the range: views, runs, active users, first runs, top scripts", async () => {
    const server = fakeServer(meHandler({ insights: ["read"] }, ["Admin"]), stats(STATS));
    const el = await open("/plugin/ylai-insights");
    expect($(el, "page-insights")).not.toBeNull();
    expect(asked(server.calls)[0]).toEqual(defaultRange());
    expect($(el, "insights-views")?.textContent).toContain("150");
    expect($(el, "insights-runs")?.textContent).toContain("152");
    expect($(el, "insights-peak")?.textContent).toContain("6");
    expect($(el, "insights-new-users")?.textContent).toContain("5");
    expect($(el, "insights-with-run")?.textContent).toContain("4");
    expect($(el, "insights-first-run-median")?.textContent).toContain("10 min 0 s");
    expect($(el, "insights-first-run-p90")?.textContent).toContain("1 h 0 min");
    const scripts = all(el, "insights-top-script");
    expect(scripts.map((r) => r.dataset.dag)).toEqual(["script__etl"]);
    expect($(el, "insights-top-script-runs")?.textContent).toBe("30");
    expect($(el, "insights-top-pipelines")?.textContent).toContain("Nothing recorded in this range.");
    for (const chart of ["insights-pages-chart", "insights-features-chart", "insights-daily-chart", "insights-weekly-chart"]) expect($(el, chart), chart).not.toBeNull();
    expect($(el, "insights-disabled")).toBeNull();
  });

  it("asks again for another range", async () => {
    const server = fakeServer(meHandler({ insights: ["read"] }, ["Admin"]), stats((q) => ({ ...STATS, start: q.get("start") ?? "", end: q.get("end") ?? "" })));
    const el = await open("/plugin/ylai-insights");
    type($(el, "insights-start")!, "2026-10-01");
    await flush();
    expect(asked(server.calls).at(-1)).toEqual({ start: "2026-10-01", end: defaultRange().end });
    type($(el, "insights-end")!, "2026-10-31");
    await flush();
    expect(asked(server.calls).at(-1)).toEqual({ start: "2026-10-01", end: "2026-10-31" });
    click($(el, "insights-last-7")!);
    await flush();
    expect(asked(server.calls).at(-1)).toEqual(defaultRange(new Date(), 7));
  });

  it("says when usage statistics are off, when nothing was recorded and when it may not read them", async () => {
    fakeServer(meHandler({ insights: ["read"] }, ["Admin"]), stats({ ...STATS, enabled: false, page_views: [], features: [], daily_active: [], weekly_active: [], top_scripts: [] }));
    let el = await open("/plugin/ylai-insights");
    expect($(el, "insights-disabled")?.textContent).toContain("usage_enabled");
    expect($(el, "insights-pages-chart")).toBeNull();
    expect($(el, "insights-pages")?.textContent).toContain("Nothing recorded");
    fakeServer(meHandler({}, ["Viewer"]), (c) => (c.path === "/ylai/api/v1/usage/stats" ? { status: 403, body: { error: { code: "forbidden", message: "needs ylai Insights" } } } : undefined));
    el = await open("/plugin/ylai-insights");
    expect($(el, "insights-error")?.textContent).toContain("needs ylai Insights");
  });
});

describe("the charts' data", () => {
  it("pivots rows into one series per role over sorted days, zero where none", () => {
    expect(pivot(STATS.daily_active, (r) => r.day, (r) => r.role, (r) => r.users)).toEqual({
      keys: ["2026-12-05", "2026-12-06"],
      series: [
        { name: "Admin", data: [1, 0] },
        { name: "User", data: [5, 3] },
      ],
    });
  });

  it("names pages, features and sources in the UI's language", () => {
    const charts = insightCharts(STATS, makeI18n("zh-CN"));
    const pages = charts.pages as { xAxis: { data: string[] }; series: { name: string; data: number[] }[] };
    expect(pages.xAxis.data).toEqual(["运行", "监控"]);
    expect(pages.series.map((s) => s.data)).toEqual([
      [120, 30],
      [8, 3],
    ]);
    const features = charts.features as { xAxis: { data: string[] }; series: { name: string; data: number[]; stack: string }[] };
    expect(features.xAxis.data).toEqual(["导出", "运行"]);
    expect(features.series.map((s) => [s.name, s.data])).toEqual([
      ["接口调用", [0, 12]],
      ["调度", [0, 100]],
      ["页面", [4, 40]],
    ]);
    expect(features.series[0].stack).toBe("all");
    expect((charts.daily as { series: { type: string }[] }).series[0].type).toBe("line");
    const oneDay = insightCharts({ ...STATS, daily_active: [{ day: "2026-12-06", role: "User", users: 2 }] }, makeI18n("en"));
    expect((oneDay.daily as { series: { type: string }[] }).series[0].type).toBe("bar");
  });
});
