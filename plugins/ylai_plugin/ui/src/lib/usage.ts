// The page-view and click beacon (issue 20): which pages people open and where on the layout they
// click, sent in batches to POST /usage/events. A click is only {page, region, x, y}: the region is
// the nearest ancestor marked data-ylai-region (the shell and PageHeader mark the layout's main
// regions) and x, y are fractions of that region's box, so the positions survive other screen
// sizes. Never a text, a target's name, a value or a key: the API refuses any other field (422).
import { useEffect } from "react";
import { ylai } from "../api/client";
import { ApiError } from "./api";

/** The layout's main regions (the API's enum). */
export const REGIONS = ["topbar", "nav", "header", "main", "aside", "footer", "dialog"] as const;
export type Region = (typeof REGIONS)[number];
export const REGION_ATTR = "data-ylai-region";

export interface PageViewEvent {
  type: "page_view";
  page: string;
  ts: string;
}

export interface ClickEvent {
  type: "click";
  page: string;
  region: Region;
  x: number;
  y: number;
}

export type UsageEvent = PageViewEvent | ClickEvent;

/** What a send tells the beacon: how long to wait (a 429), or that the server records nothing. */
export interface SendResult {
  /** Seconds the server asked to wait before the next batch. */
  retryAfter?: number;
  /** The server does not record usage (switched off, or no such route): stop sending. */
  disabled?: boolean;
}

export type Send = (events: UsageEvent[], keepalive: boolean) => Promise<SendResult>;

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));
const round = (v: number) => Math.round(v * 10_000) / 10_000;

/** The region element a click landed in, or null outside the marked regions. */
export function regionElement(target: EventTarget | null): HTMLElement | null {
  if (!(target instanceof Element)) return null;
  const el = target.closest<HTMLElement>(`[${REGION_ATTR}]`);
  return el && (REGIONS as readonly string[]).includes(el.getAttribute(REGION_ATTR) ?? "") ? el : null;
}

/** A click as the beacon sends it: page, region and the position as fractions of the region's box. */
export function clickEvent(page: string, target: EventTarget | null, clientX: number, clientY: number): ClickEvent | null {
  const el = regionElement(target);
  if (!el) return null;
  const box = el.getBoundingClientRect();
  if (!(box.width > 0) || !(box.height > 0)) return null;
  return {
    type: "click",
    page,
    region: el.getAttribute(REGION_ATTR) as Region,
    x: round(clamp01((clientX - box.left) / box.width)),
    y: round(clamp01((clientY - box.top) / box.height)),
  };
}

export interface BeaconOptions {
  send: Send;
  /** Send as soon as this many events wait. */
  batchSize?: number;
  /** Send what waits every this many ms. */
  intervalMs?: number;
  /** At most this many events wait (the oldest go first): a server that keeps saying 429 costs no memory. */
  maxQueue?: number;
  now?: () => number;
}

/** The API takes 1..50 events per batch. */
export const MAX_BATCH = 50;
/** Without a Retry-After, waits double from this one up to the maximum. */
const FIRST_BACKOFF_MS = 10_000;
const MAX_BACKOFF_MS = 300_000;

/**
 * Queues events and sends them in batches: every ``intervalMs``, at ``batchSize`` events and on
 * demand (the page going away). After a 429 nothing is sent before the server's Retry-After (or a
 * doubling wait without one) and the batch goes back to the queue; once the server says it records
 * no usage, the beacon stops.
 */
export class UsageBeacon {
  readonly queue: UsageEvent[] = [];
  disabled = false;
  private blockedUntil = 0;
  private backoffMs = 0;
  private inFlight = false;
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly send: Send;
  private readonly batchSize: number;
  private readonly intervalMs: number;
  private readonly maxQueue: number;
  private readonly now: () => number;

  constructor({ send, batchSize = 20, intervalMs = 10_000, maxQueue = 200, now = () => Date.now() }: BeaconOptions) {
    this.send = send;
    this.batchSize = Math.min(batchSize, MAX_BATCH);
    this.intervalMs = intervalMs;
    this.maxQueue = maxQueue;
    this.now = now;
  }

  add(event: UsageEvent): void {
    if (this.disabled) return;
    this.queue.push(event);
    if (this.queue.length > this.maxQueue) this.queue.splice(0, this.queue.length - this.maxQueue);
    if (this.queue.length >= this.batchSize) void this.flush();
  }

  /** Whether a 429 still holds the next batch back. */
  get waiting(): boolean {
    return this.now() < this.blockedUntil;
  }

  /** Send what waits (one batch); ``keepalive`` for the page going away (fetch outlives the page). */
  async flush(keepalive = false): Promise<void> {
    if (this.disabled || this.queue.length === 0 || this.waiting || (this.inFlight && !keepalive)) return;
    const batch = this.queue.splice(0, MAX_BATCH);
    this.inFlight = true;
    let result: SendResult;
    try {
      result = await this.send(batch, keepalive);
    } catch {
      result = {}; // the network: this batch is lost, the next one tries again
    } finally {
      this.inFlight = false;
    }
    if (result.disabled) {
      this.disabled = true;
      this.queue.length = 0;
      this.stop();
      return;
    }
    if (result.retryAfter !== undefined) {
      this.backoffMs = result.retryAfter > 0 ? result.retryAfter * 1000 : Math.min(MAX_BACKOFF_MS, this.backoffMs ? this.backoffMs * 2 : FIRST_BACKOFF_MS);
      this.blockedUntil = this.now() + this.backoffMs;
      this.queue.unshift(...batch);
      if (this.queue.length > this.maxQueue) this.queue.splice(0, this.queue.length - this.maxQueue);
      return;
    }
    this.backoffMs = 0;
  }

  start(): void {
    if (this.timer !== null || this.disabled) return;
    this.timer = setInterval(() => void this.flush(), this.intervalMs);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}

/** POST /usage/events through the typed client; a 429 and a switched-off or missing recorder as the beacon reads them. */
export const sendToApi: Send = async (events, keepalive) => {
  try {
    const { data } = await ylai.POST("/api/v1/usage/events", { body: { events }, keepalive });
    return data?.enabled === false ? { disabled: true } : {};
  } catch (err) {
    if (err instanceof ApiError) {
      if (err.status === 429) return { retryAfter: err.retryAfter ?? 0 };
      // No such route (an older server), or a caller the server will not take events from.
      if (err.status === 404 || err.status === 401 || err.status === 403) return { disabled: true };
      if (err.status === 503) return { retryAfter: err.retryAfter ?? 0 };
    }
    return {};
  }
};

let shared: UsageBeacon | null = null;
let pagehide: (() => void) | null = null;

/** The one beacon of the page (created on first use; the page going away sends what waits). */
export function usageBeacon(): UsageBeacon {
  if (!shared) {
    const beacon = new UsageBeacon({ send: sendToApi });
    shared = beacon;
    pagehide = () => void beacon.flush(true);
    window.addEventListener("pagehide", pagehide);
  }
  return shared;
}

/** Forget the page's beacon (tests). */
export function resetUsageBeacon(): void {
  shared?.stop();
  if (pagehide) window.removeEventListener("pagehide", pagehide);
  shared = null;
  pagehide = null;
}

/**
 * Record a view of ``page`` and every pointer click inside ``root`` (the shell's element). A
 * click made from the keyboard (detail 0, no position) is not recorded: no keystrokes.
 */
export function useUsageBeacon(page: string, root: { current: HTMLElement | null }): void {
  useEffect(() => {
    const beacon = usageBeacon();
    beacon.add({ type: "page_view", page, ts: new Date().toISOString() });
    beacon.start();
    const el = root.current;
    const onClick = (e: MouseEvent) => {
      if (e.detail === 0) return;
      const event = clickEvent(page, e.target, e.clientX, e.clientY);
      if (event) beacon.add(event);
    };
    el?.addEventListener("click", onClick, true);
    return () => {
      el?.removeEventListener("click", onClick, true);
      beacon.stop();
    };
  }, [page, root]);
}
