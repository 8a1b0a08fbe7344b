import { act } from "react";
import { describe, expect, it } from "vitest";
import { usageBeacon } from "../lib/usage";
import { pageTests } from "../test/app";
import { $, click, flush } from "../test/render";
import { fakeServer, meHandler, type Handler } from "../test/server";
import { placeCells } from "./Heatmap";

const open = pageTests();
const all = (el: ParentNode, id: string) => [...el.querySelectorAll<HTMLElement>(`[data-testid="${id}"]`)];
const ADMIN = { insights: ["read"], feedback: ["read", "edit"], tasks: ["read"] };

function fakeBox(el: Element, left: number, top: number, width: number, height: number): void {
  (el as HTMLElement).getBoundingClientRect = () => ({ left, top, width, height, right: left + width, bottom: top + height, x: left, y: top, toJSON: () => ({}) }) as DOMRect;
}

const heatmap: Handler = (c) =>
  c.path === "/ylai/api/v1/usage/heatmap"
    ? {
        body: {
          page: c.search.get("page"),
          start: "2026-11-07",
          end: "2026-12-06",
          buckets: 10,
          cells: [
            { region: "main", x: 2, y: 5, count: 8 },
            { region: "nav", x: 0, y: 0, count: 2 },
            { region: "footer", x: 1, y: 1, count: 1 },
          ],
          total: 11,
        },
      }
    : undefined;

describe("placeCells", () => {
  it("puts each cell on its bucket of the region's box, hottest at 1", () => {
    const cells = placeCells(
      { buckets: 4, total: 5, cells: [{ region: "main", x: 1, y: 2, count: 4 }, { region: "nav", x: 3, y: 0, count: 1 }, { region: "footer", x: 0, y: 0, count: 9 }] },
      { main: { left: 0, top: 100, width: 400, height: 200 }, nav: { left: 0, top: 0, width: 800, height: 40 } },
    );
    expect(cells).toEqual([
      { key: "main-1-2", left: 100, top: 200, width: 100, height: 50, region: "main", heat: 4 / 9, count: 4 },
      { key: "nav-3-0", left: 600, top: 0, width: 200, height: 10, region: "nav", heat: 1 / 9, count: 1 },
    ]);
  });
});

describe("the heatmap overlay", () => {
  it("is a switch for users who may read the insights and draws the page's clicks over its regions", async () => {
    const server = fakeServer(meHandler(ADMIN, ["Admin"], "ada"), heatmap);
    const el = await open("/plugin/ylai-tasks");
    expect($(el, "heatmap-overlay")).toBeNull();
    const root = $(el, "ylai-root")!;
    fakeBox(root, 0, 0, 1000, 800);
    fakeBox(root.querySelector('[data-ylai-region="main"]')!, 0, 100, 1000, 700);
    fakeBox(root.querySelector('[data-ylai-region="nav"]')!, 0, 0, 1000, 40);
    click($(el, "heatmap-toggle")!);
    await flush();
    expect(server.calls.find((c) => c.path === "/ylai/api/v1/usage/heatmap")?.search.get("page")).toBe("tasks");
    expect($(el, "heatmap-legend")?.textContent).toBe("11 clicks recorded on this page");
    const cells = all(el, "heatmap-cell");
    // the footer's cell: no footer on this page
    expect(cells.map((c) => c.dataset.count)).toEqual(["8", "2"]);
    expect(cells[0].style.left).toBe("200px");
    expect(cells[0].style.top).toBe("450px");
    expect(cells[0].style.width).toBe("100px");
    expect(cells[0].style.height).toBe("70px");
    expect(Number(cells[0].style.opacity)).toBeCloseTo(0.75);
    expect($(el, "heatmap-toggle")?.getAttribute("aria-pressed")).toBe("true");
    click($(el, "heatmap-toggle")!);
    expect($(el, "heatmap-overlay")).toBeNull();
  });

  it("says so when the heatmap cannot be read", async () => {
    fakeServer(meHandler(ADMIN, ["Admin"]), (c) => (c.path === "/ylai/api/v1/usage/heatmap" ? { status: 403, body: { error: { code: "forbidden", message: "no insights" } } } : undefined));
    const el = await open("/plugin/ylai-tasks");
    click($(el, "heatmap-toggle")!);
    await flush();
    expect($(el, "heatmap-error")?.textContent).toContain("no insights");
    expect(all(el, "heatmap-cell")).toHaveLength(0);
  });

  it("is absent for users who may not read the insights", async () => {
    const server = fakeServer(meHandler({ tasks: ["read"] }, ["Viewer"], "vera"), heatmap);
    const el = await open("/plugin/ylai-tasks");
    expect($(el, "feedback-open")).not.toBeNull();
    expect($(el, "heatmap-toggle")).toBeNull();
    expect($(el, "heatmap-overlay")).toBeNull();
    expect(server.calls.some((c) => c.path === "/ylai/api/v1/usage/heatmap")).toBe(false);
    // nor are the restricted pages' tabs there
    expect($(el, "tab-feedback")).toBeNull();
    expect($(el, "tab-insights")).toBeNull();
    expect($(el, "tab-tasks")).not.toBeNull();
  });
});

describe("the shell's beacon", () => {
  it("records the page view and pointer clicks as region and position only", async () => {
    fakeServer(meHandler(ADMIN, ["Admin"]));
    const el = await open("/plugin/ylai-tasks");
    expect($(el, "tab-feedback")).not.toBeNull();
    expect($(el, "tab-insights")).not.toBeNull();
    const beacon = usageBeacon();
    expect(beacon.queue.map((e) => [e.type, e.page])).toEqual([["page_view", "tasks"]]);
    const nav = el.querySelector('[data-ylai-region="nav"]')!;
    fakeBox(nav, 10, 20, 400, 40);
    const tab = $(el, "tab-insights")!;
    act(() => {
      tab.dispatchEvent(new MouseEvent("click", { bubbles: true, cancelable: true, detail: 1, clientX: 110, clientY: 30 }));
    });
    // a click from the keyboard: no position, not recorded
    act(() => {
      $(el, "tab-tasks")!.dispatchEvent(new MouseEvent("click", { bubbles: true, cancelable: true, detail: 0 }));
    });
    await flush();
    expect(beacon.queue[1]).toEqual({ type: "click", page: "tasks", region: "nav", x: 0.25, y: 0.25 });
    // the tab led to the Insights page: its view
    expect(beacon.queue.slice(2).map((e) => [e.type, e.page])).toEqual([
      ["page_view", "insights"],
      ["page_view", "tasks"],
    ]);
  });
});
