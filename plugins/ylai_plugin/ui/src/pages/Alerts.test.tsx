import { describe, expect, it, vi } from "vitest";
import { ruleOut } from "../test/fixtures";
import { pageTests } from "../test/app";
import { $, click, flush, type } from "../test/render";
import { fakeServer, meHandler, type Handler } from "../test/server";
import type { ConditionSpec } from "../../generated/alertConditions";
import { makeI18n } from "../i18n";
import type { AlertCondition, AlertRule, ConditionType } from "../api/models";
import { CONDITION_TYPES, checkRule, conditionBody, conditionSummary, emptyRule, formFromRule, newCondition } from "../lib/alertForm";
import { describeCondition } from "./alerts/common";

// What `ylai openapi` + `npm run gen:api` would give for a module "backlog" with these params
// (hoisted: the mock of the generated module below uses it).
const BACKLOG: ConditionSpec = vi.hoisted(() => ({
  type: "backlog",
  title: "Backlog",
  labels: { label: "alerts.cond.backlog", help: "alerts.condHelp.backlog", summary: "alerts.desc.backlog" },
  fields: [
    { name: "max_queued", type: "integer", required: false, nullable: false, default: 100, minimum: 1, maximum: 10000, label: "alerts.f.max_queued" },
    { name: "for_seconds", type: "number", required: true, nullable: false, exclusiveMinimum: 0, initial: 300, unit: "seconds", label: "alerts.f.for_seconds" },
    { name: "pool", type: "string", required: false, nullable: false, default: "default_pool", pattern: "^[a-z_]+$", label: "alerts.f.pool" },
    { name: "level", type: "string", required: false, nullable: false, default: "any", enum: ["any", "high"], label: "alerts.f.level" },
    { name: "internal", type: "array", required: false, nullable: false, hidden: true, label: "alerts.f.internal" },
  ],
}));

vi.mock("../../generated/alertConditions", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../generated/alertConditions")>();
  return { ...real, ALERT_CONDITIONS: [...real.ALERT_CONDITIONS, BACKLOG] };
});

const backlog = "backlog" as ConditionType;
const { t } = makeI18n("en");

const MANAGE = { alerts: ["read", "create", "edit", "delete"], reports: ["read", "create"] };
const page = (items: unknown[]) => ({ items, total: items.length, limit: 50, offset: 0 });
const dags: Handler = (c) => (c.path.endsWith("/api/v2/dags") ? { body: { dags: [{ dag_id: "pipeline__nightly_etl", tags: [{ name: "nightly" }] }], total_entries: 1 } } : undefined);
const rule = ruleOut(5, {
  name: "nightly · A run failed",
  scope: { dag_ids: [], scripts: [], pipelines: [], tags: ["nightly"] },
  channels: [{ type: "slack", target: "#data-alerts", connection_id: null, language: "en" }],
  firing: 1,
});

const open = pageTests();

describe("Alerts page", () => {
  it("sets 'tell #data-alerts on Slack when a nightly pipeline fails or runs twice as long as usual' as two rules", async () => {
    const server = fakeServer(meHandler(MANAGE), dags, (c) => (c.method === "POST" ? { status: 201, body: { ...rule, ...(c.body as object), id: 9 } } : undefined), (c) => (c.path.endsWith("/alerts/rules") ? { body: page([]) } : undefined));
    const el = await open("/plugin/ylai-alerts?new=1");
    type($(el, "rule-name")!, "nightly");
    click($(el, "scope-some")!);
    type($(el, "scope-tags")!, "nightly");
    click($(el, "condition-add")!); // a second condition: "takes too long", factor 2 × p95 by default
    expect(($(el, "condition-1-type") as HTMLSelectElement).value).toBe("duration");
    expect(($(el, "condition-1-p95_factor") as HTMLInputElement).value).toBe("2");
    type($(el, "channels-0-target")!, "#data-alerts");
    expect($(el, "rule-summary")?.textContent).toContain("more than 2 × its usual time");
    click($(el, "rule-save")!);
    await flush(8);
    const posts = server.calls.filter((c) => c.method === "POST");
    expect(posts.map((p) => p.path)).toEqual(["/ylai/api/v1/alerts/rules", "/ylai/api/v1/alerts/rules"]);
    expect(posts.map((p) => (p.body as { condition: unknown }).condition)).toEqual([{ type: "run_failed" }, { type: "duration", p95_factor: 2, last_n_runs: 20, min_runs: 3 }]);
    expect((posts[0].body as { scope: { tags: string[] } }).scope.tags).toEqual(["nightly"]);
    expect((posts[0].body as { channels: unknown[] }).channels).toEqual([{ type: "slack", target: "#data-alerts", connection_id: null, language: "en" }]);
    expect(window.location.search).toBe("?tab=rules");
  });

  it("shows the server's field errors next to their fields", async () => {
    fakeServer(meHandler(MANAGE), dags, (c) =>
      c.method === "POST"
        ? { status: 422, body: { error: { code: "invalid_input", message: "Invalid input", details: [{ field: "body.channels.0", reason: "Value error, target must be an http(s) URL for a webhook channel" }, { field: "body.condition.duration.p95_factor", reason: "Input should be less than or equal to 1000" }] } } }
        : undefined,
    );
    const el = await open("/plugin/ylai-alerts?new=1");
    type($(el, "rule-name")!, "slow");
    type($(el, "condition-0-type")!, "duration");
    type($(el, "channels-0-target")!, "#x");
    click($(el, "rule-save")!);
    await flush(8);
    expect($(el, "channels-0-target-error")?.textContent).toContain("http(s) URL");
    expect($(el, "condition-0-p95_factor-error")?.textContent).toBe("Input should be less than or equal to 1000");
  });

  it("lists rules in words and disables writes for a Viewer, with the reason", async () => {
    fakeServer(meHandler({ alerts: ["read"], reports: ["read"] }, ["Viewer"]), (c) => (c.path.endsWith("/alerts/rules") ? { body: page([rule]) } : undefined));
    const el = await open("/plugin/ylai-alerts");
    expect($(el, "rules-table")?.textContent).toContain("tagged nightly");
    expect($(el, "rules-table")?.textContent).toContain("#data-alerts");
    expect(($(el, "rule-new") as HTMLButtonElement).disabled).toBe(true);
    expect(($(el, "rule-delete-5") as HTMLButtonElement).disabled).toBe(true);
    expect(($(el, "rule-toggle-5") as HTMLButtonElement).disabled).toBe(true);
    expect($(el, "alerts-permission")?.textContent).toBe("Your role may not create alert rules or silences.");
  });

  it("creates a silence until a time and ends one", async () => {
    const until = new Date(Date.now() + 3 * 3600_000);
    const silence = { id: 2, rule_id: 5, scope: null, starts_at: "2026-11-28T00:00:00Z", ends_at: until.toISOString(), comment: "", created_by: "u", created_at: "", active: true };
    const server = fakeServer(
      meHandler(MANAGE),
      (c) => (c.path.endsWith("/alerts/rules") ? { body: page([rule]) } : undefined),
      (c) => (c.method === "POST" ? { status: 201, body: silence } : c.method === "DELETE" ? { status: 204 } : undefined),
      (c) => (c.path.endsWith("/alerts/silences") ? { body: page([silence]) } : undefined),
    );
    const el = await open("/plugin/ylai-alerts?tab=silences&silence_rule=5");
    expect(($(el, "silence-rule") as HTMLSelectElement).value).toBe("5");
    const p = (n: number) => String(n).padStart(2, "0");
    type($(el, "silence-until")!, `${until.getFullYear()}-${p(until.getMonth() + 1)}-${p(until.getDate())}T${p(until.getHours())}:${p(until.getMinutes())}`);
    click($(el, "silence-save")!);
    await flush();
    const post = server.calls.find((c) => c.method === "POST");
    expect(post?.path).toBe("/ylai/api/v1/alerts/silences");
    const body = post?.body as { rule_id: number; ends_at: string };
    expect(body.rule_id).toBe(5);
    expect(Math.abs(new Date(body.ends_at).getTime() - until.getTime())).toBeLessThan(60_000);
    expect($(el, "silences-table")?.textContent).toContain("Rule “nightly · A run failed”");
    click($(el, "silence-delete-2")!);
    await flush();
    expect(server.calls.find((c) => c.method === "DELETE")?.path).toBe("/ylai/api/v1/alerts/silences/2");
  });

  it("shows the history and an alert's deliveries with every attempt", async () => {
    const alert = { id: 11, rule_id: 5, rule_name: "nightly", condition_type: "run_failed", dedup_key: "k", state: "resolved", severity: "critical", suppressed: null, title: "pipeline__nightly_etl failed", summary: "boom", details: {}, dag_id: "pipeline__nightly_etl", run_id: "r1", started_at: "2026-11-28T00:00:00Z", resolved_at: "2026-11-28T01:00:00Z", last_notified_at: null, escalation_level: 0, occurrences: 1, last_failure_at: null };
    const delivery = { id: 1, kind: "firing", channel_type: "slack", target: "#data-alerts", connection_id: null, language: "zh-CN", status: "sent", attempts: 2, next_attempt_at: null, last_error: null, created_at: "", sent_at: "2026-11-28T00:01:00Z", attempt_log: [{ attempted_at: "2026-11-28T00:00:30Z", ok: false, error: "connection refused", duration_ms: 5, worker: "w1" }, { attempted_at: "2026-11-28T00:01:00Z", ok: true, error: null, duration_ms: 12, worker: "w1" }] };
    fakeServer(meHandler(MANAGE), (c) => (c.path.endsWith("/alerts/events") ? { body: page([alert]) } : c.path.endsWith("/alerts/events/11") ? { body: { ...alert, deliveries: [delivery] } } : undefined));
    let el = await open("/plugin/ylai-alerts?tab=history");
    expect($(el, "history-table")?.textContent).toContain("pipeline__nightly_etl failed");
    expect($(el, "export-alerts")).not.toBeNull();
    el = await open("/plugin/ylai-alerts?alert=11");
    const d = $(el, "delivery-1");
    expect(d?.textContent).toContain("#data-alerts");
    expect(d?.textContent).toContain("Chinese (Simplified)");
    expect(d?.textContent).toContain("connection refused");
    expect(d?.querySelectorAll("tbody tr")).toHaveLength(2);
  });
});

// A condition type this UI has never heard of (a new module in ylai's registry, mocked into the
// generated module above) gets a working form from its params schema.
describe("a condition type the UI has never heard of", () => {
  it("gets its fields with their defaults, its checks and its body from its schema", () => {
    expect(CONDITION_TYPES).toContain("backlog");
    const c = newCondition(backlog);
    expect(c).toEqual({ type: "backlog", max_queued: "100", for_seconds: "300", pool: "default_pool", level: "any" });
    expect(conditionBody(c)).toEqual({ type: "backlog", max_queued: 100, for_seconds: 300, pool: "default_pool", level: "any" });
    const f = { ...emptyRule(), name: "q", conditions: [{ ...c, max_queued: "1.5", for_seconds: "0", pool: "Bad Pool", level: "low" }, { ...c, max_queued: "20000", for_seconds: "", pool: " " }] };
    f.channels = [{ type: "slack" as const, target: "#x", connection_id: "", language: "en" as const }];
    expect(checkRule(f, t)).toEqual({
      "conditions.0.max_queued": "Must be of type integer",
      "conditions.0.for_seconds": "Must be greater than 0",
      "conditions.0.pool": "Must match the pattern ^[a-z_]+$",
      "conditions.0.level": "Must be one of: any, high",
      "conditions.1.max_queued": "Must be at most 10000",
      "conditions.1.for_seconds": "Required",
      "conditions.1.pool": "Must match the pattern ^[a-z_]+$",
    });
    const stored = { type: "backlog", max_queued: 5, for_seconds: 60, pool: "etl", level: "high", internal: ["x"] } as unknown as AlertCondition;
    const back = formFromRule({ ...rule, condition: stored } as AlertRule);
    expect(back.conditions[0]).toEqual({ type: "backlog", max_queued: "5", for_seconds: "60", pool: "etl", level: "high" });
    expect(conditionSummary(stored, { number: String, duration: (s) => `${s}s` })).toEqual({
      key: "alerts.desc.backlog",
      params: { max_queued: "5", for_seconds: "60s", pool: "etl", level: "high" },
    });
  });
});

describe("condition summaries from the params schemas", () => {
  it("read each registered condition in words, by its mode or by the value of a field", () => {
    const i = makeI18n("en");
    const say = (c: unknown) => describeCondition(i, c as AlertCondition);
    expect(say({ type: "run_failed" })).toBe("A run failed");
    expect(say({ type: "failure_rate", window_minutes: 1440, threshold_percent: 50, min_runs: 3 })).toBe("≥ 50% of runs failed in 24 h 0 min (at least 3 runs)");
    expect(say({ type: "duration", p95_factor: 2, last_n_runs: 20, min_runs: 3, max_seconds: null })).toBe("A run takes more than 2 × its usual time (p95 of the last 20 runs)");
    expect(say({ type: "duration", max_seconds: 90, p95_factor: null })).toBe("A run takes more than 1 min 30 s");
    expect(say({ type: "queue_wait", max_seconds: 600 })).toBe("Waits in the queue more than 10 min 0 s");
    expect(say({ type: "worker_heartbeat", max_silence_seconds: 120, min_alive: 1, kinds: ["celery-worker"] })).toBe("No worker heartbeat for 2 min 0 s, or fewer than 1 workers alive");
    expect(say({ type: "deadline", must: "start", time: "06:30", timezone: "Asia/Shanghai" })).toBe("No run started by 06:30 (Asia/Shanghai)");
    expect(say({ type: "deadline", time: "06:30" })).toBe("No run finished by 06:30 (UTC)");
  });
});

describe("the rule editor with a new condition type", () => {
  it("shows its inputs, checks them and posts its params", async () => {
    const server = fakeServer(meHandler(MANAGE), dags, (c) => (c.method === "POST" ? { status: 201, body: { ...rule, ...(c.body as object), id: 9 } } : undefined), (c) => (c.path.endsWith("/alerts/rules") ? { body: page([]) } : undefined));
    const el = await open("/plugin/ylai-alerts?new=1");
    type($(el, "rule-name")!, "backlog");
    type($(el, "condition-0-type")!, "backlog");
    expect(($(el, "condition-0-max_queued") as HTMLInputElement).value).toBe("100");
    expect(($(el, "condition-0-for_seconds") as HTMLInputElement).value).toBe("300");
    expect(($(el, "condition-0-level") as HTMLSelectElement).value).toBe("any");
    expect($(el, "condition-0-internal")).toBeNull();
    type($(el, "condition-0-max_queued")!, "0");
    type($(el, "channels-0-target")!, "#data-alerts");
    click($(el, "rule-save")!);
    await flush(4);
    expect($(el, "condition-0-max_queued-error")?.textContent).toBe("Must be at least 1");
    expect(server.calls.filter((c) => c.method === "POST")).toEqual([]);
    type($(el, "condition-0-max_queued")!, "50");
    type($(el, "condition-0-level")!, "high");
    click($(el, "rule-save")!);
    await flush(8);
    const posts = server.calls.filter((c) => c.method === "POST");
    expect(posts.map((p) => (p.body as { condition: unknown }).condition)).toEqual([{ type: "backlog", max_queued: 50, for_seconds: 300, pool: "default_pool", level: "high" }]);
  });
});
