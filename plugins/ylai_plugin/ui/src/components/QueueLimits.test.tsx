import { afterEach, describe, expect, it } from "vitest";
import { pageTests } from "../test/app";
import { $, flush, render } from "../test/render";
import { fakeServer } from "../test/server";
import { ApiError } from "../lib/api";
import { EnvProvider } from "../i18n";
import { BusyNote, isBusy } from "./BusyNote";
import { QueueLimitsCard } from "./QueueLimits";

const limits = {
  generated_at: "2026-12-03T14:00:05Z",
  retry_after_seconds: 30,
  queues: [
    { queue: "default", depth: 5, limit: 5, full: true },
    { queue: "gpu", depth: 1, limit: 0, full: false },
  ],
};

pageTests();
const mounted: Array<() => void> = [];
afterEach(() => mounted.splice(0).forEach((unmount) => unmount()));

describe("QueueLimitsCard", () => {
  it("shows each queue's waiting task instances, its limit and whether run requests are refused", async () => {
    const server = fakeServer((c) => (c.path.endsWith("/ylai/api/v1/monitor/queue-limits") ? { body: limits } : undefined));
    const { container, unmount } = render(<QueueLimitsCard />);
    mounted.push(unmount);
    await flush(8);
    expect(server.calls.map((c) => c.path)).toContain("/ylai/api/v1/monitor/queue-limits");
    const full = $(container, "queue-limit-default")!;
    expect(full.getAttribute("data-full")).toBe("true");
    expect([...full.querySelectorAll("td")].map((td) => td.textContent)).toEqual(["default", "5", "5", "refused (full)"]);
    const open = $(container, "queue-limit-gpu")!;
    expect([...open.querySelectorAll("td")].map((td) => td.textContent)).toEqual(["gpu", "1", "none", "accepted"]);
    expect(container.textContent).toContain("retry after 30 s");
  });

  it("says so when the figures cannot be read", async () => {
    fakeServer((c) => (c.path.endsWith("/queue-limits") ? { status: 503, body: { error: { code: "unavailable", message: "The metadata database is unavailable" } } } : undefined));
    const { container, unmount } = render(<QueueLimitsCard />);
    mounted.push(unmount);
    await flush(8);
    expect($(container, "queue-limits-error")?.textContent).toContain("The metadata database is unavailable");
  });

  it("is in Chinese on a Chinese page", async () => {
    fakeServer((c) => (c.path.endsWith("/queue-limits") ? { body: limits } : undefined));
    const { container, unmount } = render(
      <EnvProvider env={{ lang: "zh-CN", dark: false }}>
        <QueueLimitsCard />
      </EnvProvider>,
    );
    mounted.push(unmount);
    await flush(8);
    expect(container.textContent).toContain("队列上限（背压）");
    expect(container.textContent).toContain("拒绝（已满）");
  });
});

describe("BusyNote", () => {
  it("is for 429 answers only, and leaves out the retry time when the server gave none", () => {
    expect(isBusy(new ApiError(429, "queue_full", "full"))).toBe(true);
    expect(isBusy(new ApiError(503, "unavailable", "down", [], 5))).toBe(false);
    expect(isBusy(new Error("x"))).toBe(false);
    const { container, unmount } = render(<BusyNote error={new ApiError(429, "rate_limited", "Too many requests")} />);
    mounted.push(unmount);
    expect($(container, "busy-retry")).toBeNull();
    expect($(container, "busy-reason")?.textContent).toBe("Too many requests");
  });

  it("names the time to try again in the page's language", () => {
    const now = () => Date.parse("2026-12-03T14:00:00Z");
    const { container, unmount } = render(
      <EnvProvider env={{ lang: "zh-CN", dark: false }}>
        <BusyNote error={new ApiError(429, "queue_full", "队列 'default' 已满", [], 30)} now={now} />
      </EnvProvider>,
    );
    mounted.push(unmount);
    expect($(container, "busy-note")?.textContent).toContain("队列已满：运行未启动。");
    expect($(container, "busy-retry")?.textContent).toMatch(/^请在 30 秒后（.+）重试。$/);
  });
});
