import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ensureBase, fakeServer } from "../test/server";
import { MAX_BATCH, UsageBeacon, clickEvent, regionElement, resetUsageBeacon, sendToApi, usageBeacon, type UsageEvent } from "./usage";

const view = (page = "run"): UsageEvent => ({ type: "page_view", page, ts: "2026-12-06T03:00:00.000Z" });

function fakeBox(el: HTMLElement, left: number, top: number, width: number, height: number): void {
  el.getBoundingClientRect = () => ({ left, top, width, height, right: left + width, bottom: top + height, x: left, y: top, toJSON: () => ({}) }) as DOMRect;
}

describe("clickEvent", () => {
  let host: HTMLElement;
  beforeEach(() => {
    host = document.createElement("div");
    host.innerHTML = `<div data-ylai-region="main" id="main"><form><input id="secret" value="hunter2" name="password"><button id="b">Delete the task 'payroll'</button></form></div><div id="outside">x</div><div data-ylai-region="sidebar" id="odd">y</div>`;
    document.body.appendChild(host);
    fakeBox(host.querySelector("#main")!, 100, 50, 800, 400);
  });
  afterEach(() => host.remove());

  it("places a click in the nearest marked region, as fractions of its box", () => {
    const event = clickEvent("tasks", host.querySelector("#b"), 300, 150);
    expect(event).toEqual({ type: "click", page: "tasks", region: "main", x: 0.25, y: 0.25 });
  });

  it("clamps positions to the box and rounds them", () => {
    expect(clickEvent("run", host.querySelector("#b"), 1000, 10)).toMatchObject({ x: 1, y: 0 });
    expect(clickEvent("run", host.querySelector("#b"), 101, 51)).toMatchObject({ x: 0.0013, y: 0.0025 });
  });

  it("records nothing outside the regions, in an unknown region or in an empty box", () => {
    expect(clickEvent("run", host.querySelector("#outside"), 1, 1)).toBeNull();
    expect(regionElement(host.querySelector("#odd"))).toBeNull();
    expect(clickEvent("run", null, 1, 1)).toBeNull();
    fakeBox(host.querySelector("#main")!, 0, 0, 0, 0);
    expect(clickEvent("run", host.querySelector("#b"), 1, 1)).toBeNull();
  });

  it("never carries a text, a value or a target's name", () => {
    const event = clickEvent("run", host.querySelector("#secret"), 500, 200);
    expect(Object.keys(event!).sort()).toEqual(["page", "region", "type", "x", "y"]);
    const json = JSON.stringify(event);
    for (const leak of ["hunter2", "password", "secret", "Delete", "payroll", "input", "button"]) expect(json).not.toContain(leak);
  });
});

describe("UsageBeacon", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("sends a batch when enough events wait, and what waits every interval", async () => {
    const sent: UsageEvent[][] = [];
    const beacon = new UsageBeacon({ send: async (events) => (sent.push(events), {}), batchSize: 3, intervalMs: 10_000 });
    beacon.start();
    beacon.add(view("a"));
    beacon.add(view("b"));
    expect(sent).toHaveLength(0);
    beacon.add(view("c"));
    await vi.advanceTimersByTimeAsync(0);
    expect(sent.map((b) => b.map((e) => e.page))).toEqual([["a", "b", "c"]]);
    beacon.add(view("d"));
    await vi.advanceTimersByTimeAsync(9_999);
    expect(sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sent.map((b) => b.map((e) => e.page))).toEqual([["a", "b", "c"], ["d"]]);
    // nothing waits: nothing is sent
    await vi.advanceTimersByTimeAsync(30_000);
    expect(sent).toHaveLength(2);
    beacon.stop();
  });

  it("sends at most the API's 50 events per batch", async () => {
    const sent: UsageEvent[][] = [];
    const beacon = new UsageBeacon({ send: async (events) => (sent.push(events), {}), batchSize: 500, maxQueue: 500 });
    for (let i = 0; i < 120; i += 1) beacon.add(view());
    await beacon.flush();
    expect(sent[0]).toHaveLength(MAX_BATCH);
    expect(beacon.queue).toHaveLength(70);
  });

  it("backs off after a 429 for the server's Retry-After, keeping the batch", async () => {
    let now = 0;
    const answers = [{ retryAfter: 30 }, {}];
    const sent: number[] = [];
    const beacon = new UsageBeacon({ send: async (events) => (sent.push(events.length), answers.shift() ?? {}), batchSize: 100, now: () => now });
    beacon.add(view());
    beacon.add(view());
    await beacon.flush();
    expect(sent).toEqual([2]);
    expect(beacon.queue).toHaveLength(2);
    expect(beacon.waiting).toBe(true);
    now = 29_000;
    beacon.add(view());
    await beacon.flush();
    expect(sent).toEqual([2]);
    now = 30_000;
    await beacon.flush();
    expect(sent).toEqual([2, 3]);
    expect(beacon.queue).toHaveLength(0);
  });

  it("doubles its wait after 429s without a Retry-After, and keeps a bounded queue", async () => {
    let now = 0;
    const beacon = new UsageBeacon({ send: async () => ({ retryAfter: 0 }), batchSize: 1000, maxQueue: 5, now: () => now });
    for (let i = 0; i < 8; i += 1) beacon.add(view(`p${i}`));
    expect(beacon.queue.map((e) => e.page)).toEqual(["p3", "p4", "p5", "p6", "p7"]);
    await beacon.flush();
    now = 9_999;
    expect(beacon.waiting).toBe(true);
    now = 10_000;
    expect(beacon.waiting).toBe(false);
    await beacon.flush();
    now = 10_000 + 19_999;
    expect(beacon.waiting).toBe(true);
    now = 30_000;
    expect(beacon.waiting).toBe(false);
    expect(beacon.queue).toHaveLength(5);
  });

  it("stops for good when the server records no usage", async () => {
    const send = vi.fn(async () => ({ disabled: true }));
    const beacon = new UsageBeacon({ send, batchSize: 100 });
    beacon.start();
    beacon.add(view());
    await beacon.flush();
    beacon.add(view());
    await vi.advanceTimersByTimeAsync(60_000);
    expect(send).toHaveBeenCalledTimes(1);
    expect(beacon.disabled).toBe(true);
    expect(beacon.queue).toHaveLength(0);
  });

  it("drops a batch the network lost and goes on", async () => {
    const send = vi.fn().mockRejectedValueOnce(new Error("offline")).mockResolvedValue({});
    const beacon = new UsageBeacon({ send, batchSize: 100 });
    beacon.add(view("lost"));
    await beacon.flush();
    beacon.add(view("next"));
    await beacon.flush();
    expect(send.mock.calls.map(([events]) => (events as UsageEvent[])[0].page)).toEqual(["lost", "next"]);
  });
});

describe("sending through the API", () => {
  beforeEach(ensureBase);
  afterEach(() => {
    resetUsageBeacon();
    vi.unstubAllGlobals();
  });

  it("posts the batch, marked as the UI's, and reads 429, a switched-off recorder and a missing route", async () => {
    const answers = [
      { status: 202, body: { accepted: 1 } },
      { status: 429, body: { error: { code: "rate_limited", message: "slow down" } }, headers: { "Retry-After": "12" } },
      { status: 202, body: { accepted: 0, enabled: false } },
      { status: 404, body: { error: { code: "not_found", message: "no" } } },
      { status: 500, body: {} },
    ];
    const server = fakeServer((c) => (c.path === "/ylai/api/v1/usage/events" ? answers.shift() : undefined));
    expect(await sendToApi([view()], false)).toEqual({});
    expect(server.calls[0].method).toBe("POST");
    expect(server.calls[0].body).toEqual({ events: [view()] });
    expect(await sendToApi([view()], true)).toEqual({ retryAfter: 12 });
    expect(await sendToApi([view()], false)).toEqual({ disabled: true });
    expect(await sendToApi([view()], false)).toEqual({ disabled: true });
    expect(await sendToApi([view()], false)).toEqual({});
    const request = (globalThis.fetch as unknown as { mock: { calls: [Request][] } }).mock.calls[1][0];
    expect(request.headers.get("X-Ylai-Source")).toBe("ui");
    expect(request.keepalive).toBe(true);
  });

  it("sends what waits when the page goes away", async () => {
    const server = fakeServer((c) => (c.path === "/ylai/api/v1/usage/events" ? { status: 202, body: { accepted: 1 } } : undefined));
    const beacon = usageBeacon();
    expect(usageBeacon()).toBe(beacon);
    beacon.add(view("audit"));
    window.dispatchEvent(new Event("pagehide"));
    await vi.waitFor(() => expect(server.calls).toHaveLength(1));
    expect(server.calls[0].body).toEqual({ events: [view("audit")] });
  });
});
