import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { flush, render, type Rendered } from "../test/render";
import { ensureBase, fakeServer, type Handler } from "../test/server";
import { EnvProvider } from "../i18n";
import { MeProvider, resetMeCache } from "../lib/me";
import { TraceLink, traceUrl } from "./TraceLink";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
let r: Rendered | null = null;

function me(template: string | null): Handler {
  return (c) => (c.path.endsWith("/ylai/api/v1/me") ? { body: { username: "u", roles: ["User"], permissions: {}, dags: {}, trace_url_template: template } } : undefined);
}

function mount(props: { traceId?: string | null }, lang: "en" | "zh-CN" = "en") {
  r = render(
    <EnvProvider env={{ lang, dark: false }}>
      <MeProvider>
        <TraceLink dagId="script__disk_usage" runId="manual__1" {...props} />
      </MeProvider>
    </EnvProvider>,
  );
  return r.container;
}

beforeEach(() => {
  ensureBase();
  resetMeCache();
});

afterEach(() => {
  r?.unmount();
  r = null;
});

describe("TraceLink", () => {
  it("links a known trace id through the configured template", async () => {
    const server = fakeServer(me("http://localhost:16686/trace/{trace_id}"));
    const el = mount({ traceId: TRACE });
    await flush();
    const link = el.querySelector<HTMLAnchorElement>('[data-testid="run-trace-link"]');
    expect(link?.href).toBe(`http://localhost:16686/trace/${TRACE}`);
    expect(el.textContent).toContain("Trace");
    // Known from the run's answer: no extra request for the run.
    expect(server.calls.some((c) => c.path.includes("/api/v1/runs/"))).toBe(false);
  });

  it("reads the trace id of a run it did not start, and shows it unlinked without a template (zh-CN)", async () => {
    const server = fakeServer(me(null), (c) => (c.path.endsWith("/ylai/api/v1/runs/script__disk_usage/manual__1") ? { body: { dag_id: "script__disk_usage", run_id: "manual__1", state: "running", trace_id: TRACE } } : undefined));
    const el = mount({}, "zh-CN");
    await flush();
    expect(server.calls.some((c) => c.path.endsWith("/api/v1/runs/script__disk_usage/manual__1"))).toBe(true);
    expect(el.querySelector('[data-testid="run-trace-link"]')).toBeNull();
    expect(el.querySelector('[data-testid="run-trace"]')?.textContent).toBe(`链路追踪 ${TRACE}`);
  });

  it("shows nothing for a run that was not traced", async () => {
    fakeServer(me("http://jaeger/trace/{trace_id}"));
    const el = mount({ traceId: null });
    await flush();
    expect(el.querySelector('[data-testid="run-trace"]')).toBeNull();
  });

  it("builds the URL only from a template that names {trace_id}", () => {
    expect(traceUrl("https://tempo.example.com/explore?trace={trace_id}", TRACE)).toBe(`https://tempo.example.com/explore?trace=${TRACE}`);
    expect(traceUrl("https://no-placeholder.example.com", TRACE)).toBeNull();
    expect(traceUrl(null, TRACE)).toBeNull();
  });
});
