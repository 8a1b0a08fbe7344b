import { act } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { $, render, type Rendered } from "../test/render";
import { EnvProvider } from "../i18n";
import { FakeEventSource } from "../test/eventSource";
import { LogViewer, streamUrl } from "./LogViewer";

let r: Rendered | null = null;
beforeEach(() => {
  vi.stubGlobal("EventSource", FakeEventSource);
});
afterEach(() => {
  r?.unmount();
  vi.unstubAllGlobals();
});

describe("LogViewer", () => {
  it("streams states and log lines, then stops at the end", () => {
    const onEnd = vi.fn();
    r = render(
      <EnvProvider env={{ lang: "en", dark: false }}>
        <LogViewer dagId="script__disk_usage" runId="manual__2024-01-01T00:00:00+00:00" onEnd={onEnd} />
      </EnvProvider>,
    );
    const es = FakeEventSource.last!;
    expect(es.url).toBe(streamUrl("script__disk_usage", "manual__2024-01-01T00:00:00+00:00"));
    expect(es.url).toContain("/ylai/api/v1/runs/script__disk_usage/manual__2024-01-01T00%3A00%3A00%2B00%3A00/logs/stream");
    const c = r.container;
    expect($(c, "log-viewer")?.getAttribute("data-status")).toBe("connecting");
    es.open();
    expect($(c, "stream-status")?.textContent).toBe("Streaming logs");
    es.emit("state", { task_id: "disk_usage", map_index: -1, state: "queued" });
    es.emit("state", { task_id: "disk_usage", map_index: -1, state: "running" });
    expect(c.querySelector('[data-task="disk_usage"]')?.getAttribute("data-state")).toBe("running");
    es.emit("log", { task_id: "disk_usage", try_number: 1, level: "info", event: "1234 bytes free", timestamp: "2024-01-01T00:00:01Z" }, "c1");
    es.emit("log", { task_id: "disk_usage", try_number: 1, level: "error", event: "boom", timestamp: "2024-01-01T00:00:02Z" }, "c2");
    const lines = c.querySelectorAll(".y-logline");
    expect(lines.length).toBe(2);
    expect(lines[0].textContent).toContain("1234 bytes free");
    expect(lines[1].className).toContain("y-level-error");
    es.fail(false);
    expect($(c, "stream-status")?.textContent).toContain("reconnecting");
    es.emit("state", { task_id: "disk_usage", map_index: -1, state: "success" });
    es.emit("end", { state: "success" }, "c2");
    expect(es.readyState).toBe(2);
    expect($(c, "log-viewer")?.getAttribute("data-final-state")).toBe("success");
    expect($(c, "stream-status")?.textContent).toBe("Run finished");
    expect(onEnd).toHaveBeenCalledWith("success", { disk_usage: "success" });
  });

  it("ignores malformed events and reports a closed stream", () => {
    r = render(
      <EnvProvider env={{ lang: "zh-CN", dark: false }}>
        <LogViewer dagId="d" runId="r" />
      </EnvProvider>,
    );
    const es = FakeEventSource.last!;
    act(() => {
      for (const fn of es.listeners.log ?? []) fn(new MessageEvent("log", { data: "not json" }));
    });
    expect(r.container.querySelectorAll(".y-logline").length).toBe(0);
    es.fail(true);
    expect($(r.container, "stream-status")?.textContent).toBe("日志流已停止。");
  });
});
