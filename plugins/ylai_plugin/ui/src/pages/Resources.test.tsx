import { describe, expect, it, vi } from "vitest";
import { pageTests } from "../test/app";
import { $, click, flush } from "../test/render";
import { fakeServer, meHandler, type Call, type Handler } from "../test/server";
import { FakeEventSource } from "../test/eventSource";
import { makeI18n } from "../i18n";
import type { ResourceRanking, ScriptResources } from "../api/models";
import { TREND_TOP, nextSort, orderBy, trendChart, type Sort } from "./Resources";

const MIB = 1024 * 1024;
const none = { count: 0, p50: null, p95: null };

function metric(p50: number | null, p95: number | null, max: number | null, run: string | null, previousP95: number | null, changeP95: number | null) {
  return { count: p95 === null ? 0 : 3, p50, p95, max, max_run_id: run, previous: { count: previousP95 === null ? 0 : 2, p50: previousP95, p95: previousP95 }, change_p50: null, change_p95: changeP95 };
}

function script(name: string, rssMib: number | null, cpu: number | null, duration: number, runs: number, failed = 0): ScriptResources {
  const day = (start: string, n: number, rss: number | null) => ({ start, runs: n, duration: n ? { count: n, p50: duration, p95: duration } : none, peak_rss_bytes: rss === null ? none : { count: n, p50: rss * MIB, p95: rss * MIB }, cpu_seconds: none });
  return {
    name,
    dag_id: `script__${name}`,
    kind: "script",
    title: name === "csv_profiler" ? "CSV profiler" : "",
    runs,
    failed,
    duration: metric(duration / 2, duration, duration, `manual__${name}_slow`, duration, 0),
    peak_rss_bytes: rssMib === null ? metric(null, null, null, null, null, null) : metric((rssMib / 2) * MIB, rssMib * MIB, rssMib * MIB, `manual__${name}_big`, (rssMib / 2) * MIB, 1),
    cpu_seconds: cpu === null ? metric(null, null, null, null, null, null) : metric(cpu / 2, cpu, cpu, `manual__${name}_busy`, cpu * 2, -0.5),
    trend: [day("2026-11-26T00:00:00Z", 0, null), day("2026-11-27T00:00:00Z", runs, rssMib)],
  };
}

function ranking(items: ScriptResources[], extra: Partial<ResourceRanking> = {}): ResourceRanking {
  return {
    range: "7d",
    bucket: "day",
    since: "2026-11-20T09:30:00Z",
    until: "2026-11-27T09:30:00Z",
    previous_since: "2026-11-13T09:30:00Z",
    generated_at: "2026-11-27T09:30:00Z",
    order_by: "-peak_rss_bytes_p95",
    total: items.length,
    truncated: false,
    items,
    ...extra,
  };
}

const ITEMS = [script("csv_profiler", 80, 9, 60, 3), script("disk_usage", 30, 3, 30, 4, 1), script("http_check", null, null, 2, 1, 1)];
const rankingHandler =
  (body: ResourceRanking): Handler =>
  (c) =>
    c.path.endsWith("/ylai/api/v1/resources/scripts") ? { body } : undefined;
const asked = (calls: Call[]) => calls.filter((c) => c.path.endsWith("/resources/scripts")).map((c) => `${c.search.get("range")} ${c.search.get("order_by")}`);

const openApp = pageTests();
const open = (path = "/plugin/ylai-resources") => openApp(path);

const text = (el: ParentNode, testId: string) => $(el, testId)?.textContent ?? "";
const href = (el: ParentNode, testId: string) => {
  const a = $(el, testId) as HTMLAnchorElement | null;
  return a ? new URL(a.href).pathname + new URL(a.href).search : null;
};

describe("Resources page", () => {
  it("ranks scripts as the server does, with figures, changes and links to their runs", async () => {
    fakeServer(meHandler({ monitor: ["read"], reports: ["read"] }), rankingHandler(ranking(ITEMS)));
    const el = await open();
    expect($(el, "page-resources")).not.toBeNull();
    const rows = [...el.querySelectorAll('[data-testid="resources-table"] tbody tr')].map((tr) => tr.getAttribute("data-testid"));
    expect(rows).toEqual(["resources-row-csv_profiler", "resources-row-disk_usage", "resources-row-http_check"]);
    expect(text(el, "resources-row-csv_profiler")).toContain("CSV profiler");
    expect(text(el, "figure-peak_rss_bytes-csv_profiler")).toBe("80 MiB");
    expect(text(el, "figure-cpu_seconds-disk_usage")).toBe("3 s");
    expect(text(el, "figure-duration-csv_profiler")).toBe("1 min 0 s");
    // More memory than the range before: a red rise; less CPU: a green fall.
    const row = $(el, "resources-row-disk_usage")!;
    expect(row.querySelector("span.y-tone-bad")?.textContent).toBe(" ▲ +100%");
    expect(row.querySelector("span.y-tone-ok")?.textContent).toBe(" ▼ -50%");
    expect(row.textContent).toContain("1 failed");
    // A script that only failed has no memory figure and no run to point at.
    expect(text(el, "figure-peak_rss_bytes-http_check")).toBe("—");
    expect($(el, "peak-run-peak_rss_bytes-http_check")).toBeNull();

    expect(href(el, "resources-script-disk_usage")).toBe("/plugin/ylai-scripts?name=disk_usage");
    expect(href(el, "peak-run-peak_rss_bytes-disk_usage")).toBe("/plugin/ylai-run?dag_id=script__disk_usage&run_id=manual__disk_usage_big");
    expect(text(el, "peak-run-peak_rss_bytes-disk_usage")).toBe("max 30 MiB");
    expect(href(el, "all-runs-disk_usage")).toBe("/dags/script__disk_usage/runs");
    expect($(el, "chart-resources-trend")).not.toBeNull();
    expect(text(el, "chart-resources-trend")).toContain("Peak memory p95, per day: the top 5 scripts");
  });

  it("asks the server for each range, figure, percentile and direction", async () => {
    const server = fakeServer(meHandler({ monitor: ["read"] }), rankingHandler(ranking(ITEMS)));
    const el = await open();
    expect(asked(server.calls)).toEqual(["7d -peak_rss_bytes_p95"]);
    expect($(el, "sort-peak_rss_bytes")?.textContent).toBe("Peak memory p95 ▼");
    click($(el, "sort-cpu_seconds")!);
    await flush();
    click($(el, "sort-cpu_seconds")!); // again: lowest first
    await flush();
    click($(el, "stat-p50")!);
    await flush();
    click($(el, "range-30d")!);
    await flush();
    click($(el, "sort-duration")!);
    await flush();
    click($(el, "sort-name")!);
    await flush();
    click($(el, "range-24h")!);
    await flush();
    click($(el, "sort-runs")!);
    await flush();
    expect(asked(server.calls)).toEqual([
      "7d -peak_rss_bytes_p95",
      "7d -cpu_seconds_p95",
      "7d cpu_seconds_p95",
      "7d cpu_seconds_p50",
      "30d cpu_seconds_p50",
      "30d -duration_p50",
      "30d name",
      "24h name",
      "24h -runs",
    ]);
    expect($(el, "range-24h")?.getAttribute("aria-pressed")).toBe("true");
    expect($(el, "sort-runs")?.getAttribute("aria-pressed")).toBe("true");
  });

  it("follows a link to the run where a figure peaked", async () => {
    // The Run page follows the run's logs (Server-Sent Events).
    vi.stubGlobal("EventSource", FakeEventSource);
    fakeServer(meHandler({ monitor: ["read"] }), rankingHandler(ranking(ITEMS)), (c) => (c.path.includes("/api/v2/") ? { body: { dags: [], dag_runs: [], total_entries: 0 } } : undefined));
    const el = await open();
    click($(el, "peak-run-cpu_seconds-csv_profiler")!);
    await flush();
    expect(window.location.pathname).toBe("/plugin/ylai-run");
    expect(new URLSearchParams(window.location.search).get("run_id")).toBe("manual__csv_profiler_busy");
    expect($(el, "page-run")).not.toBeNull();
    expect(FakeEventSource.last?.url).toContain("manual__csv_profiler_busy");
  });

  it("says so when no script ran, when runs were cut and when the role may not read the monitor", async () => {
    fakeServer(meHandler({ monitor: ["read"] }), rankingHandler(ranking([])));
    let el = await open();
    expect(text(el, "resources-empty")).toBe("No script finished a run in this range.");
    expect($(el, "chart-resources-trend")).toBeNull();

    fakeServer(meHandler({ monitor: ["read"] }), rankingHandler(ranking(ITEMS, { truncated: true })));
    el = await open();
    expect(el.textContent).toContain("the figures cover part of them");

    fakeServer(meHandler({}), (c) => (c.path.endsWith("/resources/scripts") ? { status: 403, body: { error: { code: "forbidden", message: "You may not read ylai Monitor" } } } : undefined));
    el = await open();
    expect(el.textContent).toContain("You may not read ylai Monitor");
    expect($(el, "resources-table")).toBeNull();
  });

  it("is in Chinese when Airflow is", async () => {
    localStorage.setItem("i18nextLng", "zh-CN");
    try {
      fakeServer(meHandler({ monitor: ["read"] }), rankingHandler(ranking(ITEMS)));
      const el = await open();
      expect(text(el, "sort-peak_rss_bytes")).toBe("峰值内存 p95 ▼");
      expect(text(el, "peak-run-peak_rss_bytes-disk_usage")).toBe("最高 30 MiB");
    } finally {
      localStorage.removeItem("i18nextLng");
    }
  });
});

describe("sorting and the trend chart", () => {
  it("maps a sort to the API's order_by and toggles direction", () => {
    const s: Sort = { key: "peak_rss_bytes", stat: "p95", desc: true };
    expect(orderBy(s)).toBe("-peak_rss_bytes_p95");
    expect(orderBy({ ...s, key: "duration", stat: "p50", desc: false })).toBe("duration_p50");
    expect(orderBy({ ...s, key: "runs" })).toBe("-runs");
    expect(nextSort(s, "peak_rss_bytes")).toEqual({ ...s, desc: false });
    expect(nextSort(s, "cpu_seconds")).toEqual({ key: "cpu_seconds", stat: "p95", desc: true });
    expect(nextSort(s, "name")).toEqual({ key: "name", stat: "p95", desc: false });
  });

  it("draws the top scripts' percentile per bucket, memory in MiB", () => {
    const many = Array.from({ length: TREND_TOP + 2 }, (_, n) => script(`s${n}`, 10 * (n + 1), 1, 5, 2));
    const option = trendChart(ranking(many), "peak_rss_bytes", "p95", makeI18n("en")) as { series: { name: string; data: unknown[] }[]; yAxis: { name: string } };
    expect(option.series.map((s) => s.name)).toEqual(["s0", "s1", "s2", "s3", "s4"]);
    expect(option.series[1].data).toEqual([
      ["2026-11-26T00:00:00Z", null],
      ["2026-11-27T00:00:00Z", 20],
    ]);
    expect(option.yAxis.name).toBe("MiB");
    const cpu = trendChart(ranking(many), "duration", "p50", makeI18n("zh-CN")) as { series: { data: unknown[] }[]; yAxis: { name: string } };
    expect(cpu.series[0].data).toEqual([
      ["2026-11-26T00:00:00Z", null],
      ["2026-11-27T00:00:00Z", 5],
    ]);
    expect(cpu.yAxis.name).toBe("秒");
  });
});
