// The Alerts page's rule list, silences and one alert's detail: what ../Alerts.test.tsx leaves out
// (toggling and deleting rules, silences by scope and their checks, muted and pending deliveries).
import { describe, expect, it, vi } from "vitest";
import { ruleOut } from "../../test/fixtures";
import { pageTests } from "../../test/app";
import { $, click, flush, type } from "../../test/render";
import { fakeServer, meHandler, type Call, type Handler } from "../../test/server";

const MANAGE = { alerts: ["read", "create", "edit", "delete"] };
const page = (items: unknown[]) => ({ items, total: items.length, limit: 50, offset: 0 });
const rule = ruleOut;
const writes = (calls: Call[]) => calls.filter((c) => c.method !== "GET").map((c) => `${c.method} ${c.path} ${JSON.stringify(c.body ?? null)}`);

const open = pageTests();
const text = (el: ParentNode, testId: string) => $(el, testId)?.textContent ?? "";

describe("rule list", () => {
  const MANIFEST = rule(2, { name: "disk full", source: "manifest", source_ref: "dags/scripts/disk_usage.yaml", enabled: false, firing: 3, scope: { tags: ["ops"], dag_ids: ["script__disk_usage"], scripts: [], pipelines: [] } });

  it("shows where a rule comes from, whether it is on and how many alerts fire, and toggles it", async () => {
    let rules = [rule(1), MANIFEST];
    const server = fakeServer(
      meHandler(MANAGE),
      (c) => {
        if (c.method !== "PATCH") return undefined;
        const enabled = (c.body as { enabled: boolean }).enabled;
        rules = rules.map((x) => (c.path.endsWith(`/rules/${x.id}`) ? { ...x, enabled } : x));
        return { body: {} };
      },
      (c) => (c.path.endsWith("/alerts/rules") ? { body: page(rules) } : undefined),
    );
    const el = await open("/plugin/ylai-alerts");
    const row = text(el, "rule-row-2");
    expect(row).toContain("from dags/scripts/disk_usage.yaml");
    expect(row).toContain("disabled");
    expect(row).toContain("tagged ops; DAGs script__disk_usage");
    expect(row).toContain("Chinese (Simplified)");
    expect($(el, "rule-row-2")?.className).toContain("y-muted");
    expect(text(el, "rule-row-1")).toContain("Everything (all DAGs)");
    // A manifest's rule is deleted in its manifest, not here.
    expect(($(el, "rule-delete-2") as HTMLButtonElement).disabled).toBe(true);
    expect($(el, "rule-delete-2")?.getAttribute("title")).toBe("This rule comes from an alerts: section; remove it there.");
    expect(text(el, "rule-toggle-2")).toBe("Enable");
    click($(el, "rule-toggle-2")!);
    await flush(8);
    click($(el, "rule-toggle-1")!);
    await flush(8);
    expect(writes(server.calls)).toEqual(['PATCH /ylai/api/v1/alerts/rules/2 {"enabled":true}', 'PATCH /ylai/api/v1/alerts/rules/1 {"enabled":false}']);
    expect(text(el, "rule-toggle-2")).toBe("Disable");
    expect(text(el, "rule-toggle-1")).toBe("Enable");
  });

  it("deletes a rule after confirmation and shows a refusal", async () => {
    let rules = [rule(1), rule(4)];
    const server = fakeServer(
      meHandler(MANAGE),
      (c) => {
        if (c.method !== "DELETE") return undefined;
        if (c.path.endsWith("/rules/4")) return { status: 409, body: { error: { code: "conflict", message: "Rule 4 is in use by an escalation" } } };
        rules = rules.filter((x) => x.id !== 1);
        return { status: 204 };
      },
      (c) => (c.path.endsWith("/alerts/rules") ? { body: page(rules) } : undefined),
    );
    const confirm = vi.spyOn(window, "confirm").mockReturnValueOnce(false).mockReturnValue(true);
    const el = await open("/plugin/ylai-alerts");
    click($(el, "rule-delete-1")!);
    await flush();
    expect(writes(server.calls)).toEqual([]);
    expect(confirm).toHaveBeenCalledWith("Delete the alert rule “rule 1”? Its alert history stays.");
    click($(el, "rule-delete-1")!);
    await flush(8);
    expect($(el, "rule-row-1")).toBeNull();
    click($(el, "rule-delete-4")!);
    await flush(8);
    expect(text(el, "rules")).toContain("Rule 4 is in use by an escalation");
    expect(writes(server.calls)).toEqual(["DELETE /ylai/api/v1/alerts/rules/1 null", "DELETE /ylai/api/v1/alerts/rules/4 null"]);
  });

  it("says how to start when there is no rule", async () => {
    fakeServer(meHandler(MANAGE), (c) => (c.path.endsWith("/alerts/rules") ? { body: page([]) } : undefined));
    const el = await open("/plugin/ylai-alerts");
    expect(text(el, "rules-empty")).toContain("No alert rules yet.");
  });
});

describe("silences", () => {
  const rules: Handler = (c) => (c.path.endsWith("/alerts/rules") ? { body: page([{ id: 5, name: "nightly" }]) } : undefined);

  it("checks what to silence and until when before sending", async () => {
    const server = fakeServer(meHandler(MANAGE), rules, (c) => (c.path.endsWith("/alerts/silences") ? { body: page([]) } : undefined));
    const el = await open("/plugin/ylai-alerts?tab=silences");
    expect(text(el, "silences")).toContain("No silences.");
    click($(el, "silence-save")!);
    await flush();
    expect(text(el, "silence-rule-error")).toBe("Required");
    type($(el, "silence-until")!, "2020-01-01T10:00");
    click($(el, "silence-mode-scope")!);
    click($(el, "silence-save")!);
    await flush();
    expect(text(el, "silence-until-error")).toBe("Must be in the future");
    expect(text(el, "silence-scope-error")).toBe("Give at least one tag, pipeline, script or DAG id.");
    type($(el, "silence-until")!, "");
    click($(el, "silence-save")!);
    await flush();
    expect(text(el, "silence-until-error")).toBe("Required");
    expect(writes(server.calls)).toEqual([]);
  });

  it("silences tags and DAGs for a few hours, and shows the server's field errors", async () => {
    let silences: unknown[] = [];
    let answer = 0;
    const server = fakeServer(
      meHandler(MANAGE),
      rules,
      (c) => {
        if (c.method !== "POST") return undefined;
        answer += 1;
        if (answer === 1) return { status: 422, body: { error: { code: "invalid_input", message: "bad", details: [{ field: "body.scope.tags.0", reason: "Unknown tag nightlyy" }] } } };
        if (answer === 2) return { status: 500, body: { error: { code: "internal", message: "Database is locked" } } };
        const body = c.body as { scope: unknown; ends_at: string; comment: string };
        silences = [{ id: 3, rule_id: null, scope: body.scope, starts_at: "2026-11-28T00:00:00Z", ends_at: body.ends_at, comment: body.comment, created_by: "ursula", created_at: "", active: false }];
        return { status: 201, body: silences[0] };
      },
      (c) => (c.path.endsWith("/alerts/silences") ? { body: page(silences) } : undefined),
    );
    const el = await open("/plugin/ylai-alerts?tab=silences");
    click($(el, "silence-mode-scope")!);
    type($(el, "silence-tags")!, "nightlyy, ");
    type($(el, "silence-dag-ids")!, " legacy_export");
    type($(el, "silence-comment")!, "maintenance");
    const before = Date.now();
    click([...el.querySelectorAll('[data-testid="silence-form"] button')].find((b) => b.textContent === "4 h from now")!);
    click($(el, "silence-save")!);
    await flush(8);
    expect(text(el, "silence-scope-error")).toBe("Unknown tag nightlyy");
    click($(el, "silence-save")!);
    await flush(8);
    expect(text(el, "silence-error")).toContain("Database is locked");
    click($(el, "silence-save")!);
    await flush(8);
    const posts = server.calls.filter((c) => c.method === "POST").map((c) => c.body as { scope: unknown; ends_at: string; comment: string });
    expect(posts.map((b) => b.scope)).toEqual(Array(3).fill({ tags: ["nightlyy"], dag_ids: ["legacy_export"] }));
    // "4 h" from now, to the minute the form shows.
    const hours = (new Date(posts[2].ends_at).getTime() - before) / 3600_000;
    expect(hours).toBeGreaterThan(3.98);
    expect(hours).toBeLessThanOrEqual(4);
    expect(posts[2].comment).toBe("maintenance");
    // Saved: the comment field is cleared and the list shows the silence.
    expect(($(el, "silence-comment") as HTMLInputElement).value).toBe("");
    const row = text(el, "silence-row-3");
    expect(row).toContain("tagged nightlyy; DAGs legacy_export");
    expect(row).toContain("not active");
    expect(row).toContain("maintenance");
  });

  it("keeps a Viewer from silencing or ending silences", async () => {
    const silence = { id: 8, rule_id: 99, scope: null, starts_at: "2026-11-28T00:00:00Z", ends_at: "2026-11-29T00:00:00Z", comment: "", created_by: "olga", created_at: "", active: true };
    fakeServer(meHandler({ alerts: ["read"] }), rules, (c) => (c.path.endsWith("/alerts/silences") ? { body: page([silence]) } : undefined));
    const el = await open("/plugin/ylai-alerts?tab=silences");
    expect(($(el, "silence-save") as HTMLButtonElement).disabled).toBe(true);
    expect(($(el, "silence-delete-8") as HTMLButtonElement).disabled).toBe(true);
    // A rule the list no longer has is named by its id.
    expect(text(el, "silence-row-8")).toContain("Rule “#99”");
    expect(text(el, "silence-row-8")).toContain("muting now");
  });
});

describe("one alert", () => {
  const alert = {
    id: 12,
    rule_id: null,
    rule_name: "deleted rule",
    condition_type: "run_failed",
    dedup_key: "k",
    state: "firing",
    severity: "critical",
    suppressed: null,
    title: "script__disk_usage failed",
    summary: "",
    details: { error_tail: "No space left" },
    dag_id: "script__disk_usage",
    run_id: "manual__3",
    started_at: "2026-11-28T00:00:00Z",
    resolved_at: null,
    last_notified_at: null,
    escalation_level: 1,
    occurrences: 3,
    last_failure_at: "2026-11-28T02:00:00Z",
  };
  const serve = (extra: Record<string, unknown>) => (c: Call) => (c.path.endsWith("/alerts/events/12") ? { body: { ...alert, deliveries: [], ...extra } } : undefined);

  it("counts the failures of its incident and links the latest run and its logs", async () => {
    const pending = { id: 4, kind: "escalation", channel_type: "email", target: "ops@example.com", connection_id: null, language: "en", status: "pending", attempts: 1, next_attempt_at: "2026-11-28T03:00:00Z", last_error: "SMTP 451", created_at: "", sent_at: null, attempt_log: [{ attempted_at: "2026-11-28T02:30:00Z", ok: false, error: null, duration_ms: 1500, worker: "api-1" }] };
    fakeServer(meHandler(MANAGE), serve({ deliveries: [pending] }));
    const el = await open("/plugin/ylai-alerts?alert=12");
    expect(el.querySelector("h1")?.textContent).toBe("script__disk_usage failed");
    expect(text(el, "alert-occurrences")).toMatch(/^3 · latest /);
    expect(new URL(($(el, "alert-logs") as HTMLAnchorElement).href).search).toBe("?dag_id=script__disk_usage&run_id=manual__3");
    expect(text(el, "alert-detail")).toContain("script__disk_usage / manual__3");
    expect(text(el, "alert-detail")).toContain("deleted rule");
    expect($(el, "alert-summary")).toBeNull();
    const d = $(el, "delivery-4")!;
    expect(d.getAttribute("data-status")).toBe("pending");
    expect(d.textContent).toContain("Escalation");
    expect(d.textContent).toContain("next attempt");
    expect(d.textContent).toContain("SMTP 451");
    expect(d.querySelector("tbody tr")?.textContent).toContain("failed");
  });

  it("says a muted alert was recorded but not sent", async () => {
    fakeServer(meHandler(MANAGE), serve({ suppressed: "silenced", occurrences: 1, run_id: null, summary: "disk full" }));
    const el = await open("/plugin/ylai-alerts?alert=12");
    expect(text(el, "alert-detail")).toContain("silenced, not sent");
    expect(text(el, "deliveries")).toContain("Muted: recorded, not sent.");
    expect(text(el, "alert-occurrences")).toBe("1");
    expect($(el, "alert-logs")).toBeNull();
    expect(text(el, "alert-summary")).toBe("disk full");
  });

  it("says when nothing was sent, and shows an unknown alert's error", async () => {
    fakeServer(meHandler(MANAGE), serve({ dag_id: null }), (c) => (c.path.endsWith("/alerts/events/13") ? { status: 404, body: { error: { code: "not_found", message: "No alert 13" } } } : undefined));
    let el = await open("/plugin/ylai-alerts?alert=12");
    expect(text(el, "deliveries")).toContain("Nothing was sent for this alert.");
    expect(text(el, "alert-detail")).not.toContain("DAG");
    el = await open("/plugin/ylai-alerts?alert=13");
    expect(text(el, "error")).toContain("No alert 13");
  });
});
