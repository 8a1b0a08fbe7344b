import { afterEach, describe, expect, it } from "vitest";
import { pageTests } from "../test/app";
import { $, click, flush, render } from "../test/render";
import { fakeServer } from "../test/server";
import { EnvProvider, makeI18n } from "../i18n";
import { ErrorTrendsCard, failuresChart, taskLink } from "./ErrorTrends";

const signature = {
  dag_id: "script__http_check",
  kind: "script",
  name: "http_check",
  signature: "TimeoutError: request <hex> to <path> took <n>s",
  example: "TimeoutError: request 0x7ffe to /srv/api/9/status took 31.95s",
  count: 2,
  first_seen: "2026-12-03T12:05:00Z",
  last_seen: "2026-12-03T14:00:01Z",
  deployed_at: "2026-12-03T11:00:00Z",
  new: true,
  latest: { run_id: "manual__2026-12-03T14:00:00+00:00", task_id: "http_check", try_number: 2 },
};
const trends = {
  generated_at: "2026-12-03T14:00:05Z",
  hours: 24,
  since: "2026-12-02T14:00:05Z",
  history_days: 30,
  truncated: false,
  total: 5,
  dags: [
    { dag_id: "script__http_check", kind: "script", name: "http_check", failed: 4 },
    { dag_id: "pipeline__nightly", kind: "pipeline", name: "nightly", failed: 1 },
  ],
  per_hour: [
    { dag_id: "script__http_check", kind: "script", name: "http_check", hour: "2026-12-03T12:00:00Z", failed: 1 },
    { dag_id: "pipeline__nightly", kind: "pipeline", name: "nightly", hour: "2026-12-03T13:00:00Z", failed: 1 },
    { dag_id: "script__http_check", kind: "script", name: "http_check", hour: "2026-12-03T14:00:00Z", failed: 3 },
  ],
  signatures: [
    signature,
    { ...signature, signature: "ConnectionRefusedError: [Errno <n>] connect to <n> port <n> refused", count: 2, new: false, example: "x" },
    { ...signature, dag_id: "pipeline__nightly", kind: "pipeline", name: "nightly", signature: "", example: "", count: 1, new: false },
  ],
  signature_count: 3,
};
const answer = (body: unknown) => (c: { path: string }) => (c.path.endsWith("/ylai/api/v1/monitor/errors") ? { body } : undefined);

pageTests();
const mounted: Array<() => void> = [];
afterEach(() => mounted.splice(0).forEach((unmount) => unmount()));

describe("ErrorTrendsCard", () => {
  it("lists the top signatures with counts, first and last seen, the new badge and a link to the latest failed task", async () => {
    const server = fakeServer(answer(trends));
    const { container, unmount } = render(<ErrorTrendsCard />);
    mounted.push(unmount);
    await flush(8);
    expect(server.calls.find((c) => c.path.endsWith("/monitor/errors"))?.search.get("hours")).toBe("24");
    const rows = [...container.querySelectorAll('[data-testid="error-signature"]')];
    expect(rows.map((r) => r.getAttribute("data-new"))).toEqual(["true", "false", "false"]);
    const cells = [...rows[0].querySelectorAll("td")].map((td) => td.textContent);
    expect(cells[0]).toBe("new TimeoutError: request <hex> to <path> took <n>s");
    expect(cells.slice(1, 3)).toEqual(["http_check", "2"]);
    expect(cells[3]).not.toBe(cells[4]);
    expect(rows[0].querySelector("code")?.getAttribute("title")).toBe(signature.example);
    const link = rows[0].querySelector('[data-testid="error-latest-run"]')!;
    expect(link.getAttribute("href")).toContain("dags/script__http_check/runs/manual__2026-12-03T14%3A00%3A00%2B00%3A00/tasks/http_check");
    expect(rows[2].textContent).toContain("(no error line: not a script task, or stopped by Airflow)");
    expect($(container, "error-trends-note")?.textContent).toContain("5 failed tasks; the 3 most frequent of 3 signatures");
  });

  it("asks for another range, says when nothing failed, and shows errors", async () => {
    const server = fakeServer(answer({ ...trends, total: 0, dags: [], per_hour: [], signatures: [], signature_count: 0 }));
    const { container, unmount } = render(<ErrorTrendsCard />);
    mounted.push(unmount);
    await flush(8);
    expect($(container, "error-trends-empty")?.textContent).toBe("No task failed in this range.");
    click($(container, "errors-range-168")!);
    await flush(8);
    expect(server.calls.filter((c) => c.path.endsWith("/monitor/errors")).map((c) => c.search.get("hours"))).toContain("168");
    fakeServer((c) => (c.path.endsWith("/monitor/errors") ? { status: 503, body: { error: { code: "unavailable", message: "The metadata database is unavailable" } } } : undefined));
    const failed = render(<ErrorTrendsCard />);
    mounted.push(failed.unmount);
    await flush(8);
    expect($(failed.container, "error-trends-error")?.textContent).toContain("The metadata database is unavailable");
  });

  it("stacks one bar series per script or pipeline over the whole range", () => {
    const option = failuresChart(trends, makeI18n("en")) as { series: Array<{ name: string; data: unknown[] }>; xAxis: { min: number; max: number } };
    expect(option.series.map((s) => [s.name, s.data.length])).toEqual([["http_check", 2], ["nightly", 1]]);
    expect(option.xAxis.max - option.xAxis.min).toBe(24 * 3_600_000);
    expect(taskLink("a b", "r/1", "t")).toBe("dags/a%20b/runs/r%2F1/tasks/t");
  });

  it("is in Chinese on a Chinese page", async () => {
    fakeServer(answer(trends));
    const { container, unmount } = render(
      <EnvProvider env={{ lang: "zh-CN", dark: false }}>
        <ErrorTrendsCard />
      </EnvProvider>,
    );
    mounted.push(unmount);
    await flush(8);
    expect(container.textContent).toContain("错误趋势");
    expect(container.textContent).toContain("最常见的错误特征");
    expect(container.textContent).toContain("新");
  });
});
