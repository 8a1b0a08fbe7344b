import { describe, expect, it } from "vitest";
import { pageTests } from "../test/app";
import { $, click, flush, type } from "../test/render";
import { fakeServer, meHandler, type Handler } from "../test/server";
import { highlight, type LogHit } from "./Logs";

const openApp = pageTests();
const open = () => openApp("/plugin/ylai-logs");

function hit(line: number, text: string, matches: number[][]): LogHit {
  return {
    dag_id: "script__disk_usage",
    kind: "script",
    name: "disk_usage",
    run_id: "manual__1",
    run_state: "failed",
    task_id: "disk_usage",
    map_index: -1,
    try_number: 2,
    line_number: line,
    timestamp: "2026-12-04T10:00:00.000000Z",
    level: "error",
    text,
    matches,
    run_link: "dags/script__disk_usage/runs/manual__1",
    line_link: `dags/script__disk_usage/runs/manual__1/tasks/disk_usage?try_number=2#${line}`,
  };
}

const page = (items: LogHit[], next: string | null, stopped: string | null = null) => ({ items, limit: 50, next_cursor: next, stopped_by: stopped, scanned_bytes: 4194304, scanned_files: 10, max_scan_bytes: 4194304 });

const search =
  (answer: (q: URLSearchParams) => { status?: number; body: unknown }): Handler =>
  (c) =>
    c.path.endsWith("/ylai/api/v1/logs/search") ? answer(c.search) : undefined;

describe("Logs page", () => {
  it("searches with the filters, highlights matches, links runs and loads more", async () => {
    const server = fakeServer(
      meHandler({ monitor: ["read"] }),
      search((q) => (q.get("cursor") === "c1" ? { body: page([hit(9, "later disk full", [[6, 15]])], null) } : { body: page([hit(3, "OSError: disk full on /var", [[9, 18]])], "c1", "scan_limit") })),
    );
    const el = await open();
    expect($(el, "page-logs")).not.toBeNull();
    type($(el, "log-q")!, "disk full");
    type($(el, "log-level")!, "error");
    type($(el, "log-state")!, "failed");
    type($(el, "log-target")!, "disk_usage");
    click($(el, "log-submit")!);
    await flush();
    const asked = server.calls.filter((c) => c.path.endsWith("/logs/search"));
    expect(asked).toHaveLength(1);
    expect(asked[0].search.get("q")).toBe("disk full");
    expect(asked[0].search.getAll("level")).toEqual(["error"]);
    expect(asked[0].search.getAll("state")).toEqual(["failed"]);
    expect(asked[0].search.get("script")).toBe("disk_usage");
    expect(asked[0].search.get("cursor")).toBeNull();

    expect([...el.querySelectorAll('[data-testid="log-match"]')].map((m) => m.textContent)).toEqual(["disk full"]);
    expect($(el, "log-text")?.textContent).toBe("OSError: disk full on /var");
    expect(($(el, "log-run-link") as HTMLAnchorElement).getAttribute("href")).toContain("dags/script__disk_usage/runs/manual__1");
    expect(($(el, "log-line-link") as HTMLAnchorElement).getAttribute("href")).toContain("try_number=2#3");
    expect($(el, "log-status")?.textContent).toContain("Stopped after reading 4.0 MiB");

    click($(el, "log-more")!);
    await flush();
    const more = server.calls.filter((c) => c.path.endsWith("/logs/search"));
    expect(more[1].search.get("cursor")).toBe("c1");
    expect(more[1].search.get("q")).toBe("disk full");
    expect(el.querySelectorAll('[data-testid="log-hit"]')).toHaveLength(2);
    expect($(el, "log-more")).toBeNull();
    expect($(el, "log-end")).not.toBeNull();
  });

  it("shows the reason of a bad regex next to the search box", async () => {
    fakeServer(
      meHandler({ monitor: ["read"] }),
      search(() => ({ status: 422, body: { error: { code: "invalid", message: "Invalid input", details: [{ field: "query.q", reason: "may not repeat a repetition" }] } } })),
    );
    const el = await open();
    type($(el, "log-q")!, "(a+)+");
    click($(el, "log-regex")!);
    click($(el, "log-submit")!);
    await flush();
    expect($(el, "log-q-error")?.textContent).toBe("The search text: may not repeat a repetition");
  });

  it("says when nothing matches", async () => {
    fakeServer(meHandler({ monitor: ["read"] }), search(() => ({ body: page([], null) })));
    const el = await open();
    click($(el, "log-submit")!);
    await flush();
    expect($(el, "log-empty")).not.toBeNull();
  });

  it("marks each span once, in order, and leaves the rest as text", () => {
    const parts = highlight("abcdef", [[4, 6], [0, 1], [0, 2]]);
    expect(parts.map((p) => (typeof p === "string" ? p : "[mark]"))).toEqual(["[mark]", "bcd", "[mark]"]);
  });
});
