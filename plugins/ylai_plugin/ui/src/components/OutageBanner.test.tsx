import type { ReactNode } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ylai } from "../api/client";
import { EnvProvider } from "../i18n";
import { currentOutage, outageFrom, reportRecovery } from "../lib/outage";
import { $, flush, render, type Rendered } from "../test/render";
import { ensureBase, fakeServer, type Handler } from "../test/server";
import { OutageBanner } from "./OutageBanner";

const DB_DOWN = {
  status: 503,
  headers: { "Retry-After": "5" },
  body: { error: { code: "unavailable", message: "The metadata database is unavailable; retry in 5 s", details: { dependency: "metadata_db", retry_after: 5 } } },
};
const healthy = { status: "healthy", detail: null, latency_ms: 1 };

let down = true;
let brokerDown = false;
const api: Handler = (c) => {
  if (c.path.endsWith("/ylai/api/v1/health")) {
    if (down) return DB_DOWN;
    return { body: { version: "0.1.0", status: "healthy", executor: "CeleryExecutor", metadata_db: healthy, broker: brokerDown ? { status: "unhealthy", detail: "OperationalError", latency_ms: null } : healthy, cache: healthy, scheduler: healthy } };
  }
  if (c.path.endsWith("/ylai/api/v1/tasks")) return down ? DB_DOWN : { body: { items: [], total: 0, limit: 50, offset: 0 } };
  return undefined;
};

let r: Rendered | null = null;

/** Let time pass (real timers) until ``done()`` holds. */
async function waitFor(done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i += 1) await flush(1);
  expect(done()).toBe(true);
}

function inLang(lang: "en" | "zh-CN", node: ReactNode) {
  return <EnvProvider env={{ lang, dark: false }}>{node}</EnvProvider>;
}
beforeEach(() => {
  ensureBase();
  down = true;
  brokerDown = false;
  reportRecovery();
});
afterEach(() => {
  r?.unmount();
  r = null;
  vi.unstubAllGlobals();
  reportRecovery();
});

describe("OutageBanner", () => {
  it("names the dependency a 503 names, polls /health and goes away once requests succeed", async () => {
    const { calls } = fakeServer(api);
    r = render(<OutageBanner minPollMs={10} maxPollMs={10} />);
    expect($(r.container, "outage-banner")).toBeNull();
    await ylai.GET("/api/v1/tasks").catch(() => undefined);
    await flush();
    const banner = $(r.container, "outage-banner");
    expect(banner?.textContent).toBe("The metadata database is unavailable; retrying…");
    expect(banner?.getAttribute("data-dependency")).toBe("metadata_db");
    expect(banner?.getAttribute("role")).toBe("status");
    // While it is down, the banner asks /health again (every Retry-After, here bounded to 10 ms).
    await waitFor(() => calls.some((c) => c.path.endsWith("/ylai/api/v1/health")));
    expect($(r.container, "outage-banner")).not.toBeNull();
    down = false;
    await waitFor(() => $(r!.container, "outage-banner") === null);
    expect(currentOutage()).toBeNull();
  });

  it("goes away as soon as any other request succeeds", async () => {
    fakeServer(api);
    r = render(<OutageBanner />);
    await ylai.GET("/api/v1/tasks").catch(() => undefined);
    await flush();
    expect($(r.container, "outage-banner")).not.toBeNull();
    down = false;
    await ylai.GET("/api/v1/tasks");
    await flush();
    expect($(r.container, "outage-banner")).toBeNull();
  });

  it("stays while /health still reports the dependency unhealthy", async () => {
    const broker = { ...DB_DOWN, body: { error: { code: "unavailable", message: "The Celery broker is unavailable; retry in 5 s", details: { dependency: "broker", retry_after: 5 } } } };
    fakeServer((c) => (c.path.endsWith("/ylai/api/v1/tasks") ? broker : undefined), api);
    r = render(<OutageBanner />);
    await ylai.GET("/api/v1/tasks").catch(() => undefined);
    await flush();
    expect($(r.container, "outage-banner")?.textContent).toBe("The Celery broker is unavailable; retrying…");
    down = false;
    brokerDown = true;
    await ylai.GET("/api/v1/health");
    await flush();
    expect($(r.container, "outage-banner")).not.toBeNull();
    brokerDown = false;
    await ylai.GET("/api/v1/health");
    await flush();
    expect($(r.container, "outage-banner")).toBeNull();
  });

  it("speaks Chinese, and says the API is slow after a timeout that named no dependency", async () => {
    const timeout = { status: 503, headers: { "Retry-After": "5" }, body: { error: { code: "unavailable", message: "…", details: { dependency: null, retry_after: 5, timeout: 30 } } } };
    let slow = false;
    fakeServer((c) => (slow && c.path.endsWith("/ylai/api/v1/tasks") ? timeout : undefined), api);
    r = render(inLang("zh-CN", <OutageBanner />));
    await ylai.GET("/api/v1/tasks").catch(() => undefined);
    await flush();
    expect($(r.container, "outage-banner")?.textContent).toBe("元数据库不可用，正在重试…");
    slow = true;
    await ylai.GET("/api/v1/tasks").catch(() => undefined);
    await flush();
    expect($(r.container, "outage-banner")?.textContent).toBe("ylai 的 API 未能及时响应，正在重试…");
  });

  it("ignores 503s that name no dependency (an unbuilt Swagger UI, a missing font) and other errors", () => {
    expect(outageFrom(503, { error: { code: "unavailable", message: "Swagger UI is not built", details: null } }, null)).toBeNull();
    expect(outageFrom(500, DB_DOWN.body, "5")).toBeNull();
    expect(outageFrom(503, null, "5")).toBeNull();
    expect(outageFrom(503, DB_DOWN.body, "nonsense")).toEqual({ dependency: "metadata_db", message: DB_DOWN.body.error.message, retryAfter: 5 });
  });
});
