import { describe, expect, it, vi } from "vitest";
import { pageTests } from "../test/app";
import { $, click, flush, type } from "../test/render";
import { fakeServer, meHandler, type Handler } from "../test/server";
import { EMPTY_FORM, auditExportFilters, auditQuery, type AuditEntry } from "./Audit";

const open = pageTests();
const all = (el: ParentNode, id: string) => [...el.querySelectorAll(`[data-testid="${id}"]`)];

function entry(extra: Partial<AuditEntry> = {}): AuditEntry {
  return {
    id: 7,
    when: "2026-12-05T10:00:00Z",
    user: "alice",
    action: "ylai.task.update",
    object_kind: "task",
    object_id: "12",
    summary: "changed params of task 'nightly'",
    dag_id: "script__disk_usage",
    run_id: null,
    task_id: null,
    extra: { changed: ["params"] },
    ...extra,
  };
}
const page = (items: AuditEntry[], total = items.length, offset = 0) => ({ items, total, limit: 50, offset });
const audit =
  (answer: (q: URLSearchParams) => { status?: number; body: unknown }): Handler =>
  (c) =>
    c.method === "GET" && c.path === "/ylai/api/v1/audit" ? answer(c.search) : undefined;
const asked = (calls: { path: string; search: URLSearchParams }[]) => calls.filter((c) => c.path === "/ylai/api/v1/audit").map((c) => Object.fromEntries(c.search));

describe("Audit page", () => {
  it("lists entries newest first with user, action, object, summary and the run link", async () => {
    const run = entry({ id: 8, action: "ylai.script.run", object_kind: "script", object_id: "etl", summary: "started a run of script 'etl'", dag_id: "script__etl", run_id: "manual__1" });
    const server = fakeServer(meHandler({ reports: ["read"] }, ["Admin"], "alice"), audit(() => ({ body: page([run, entry()]) })));
    const el = await open("/plugin/ylai-audit");
    expect($(el, "page-audit")).not.toBeNull();
    expect(asked(server.calls)[0]).toEqual({ limit: "50", offset: "0" });
    expect(all(el, "audit-entry").map((r) => r.getAttribute("data-action"))).toEqual(["ylai.script.run", "ylai.task.update"]);
    expect(all(el, "audit-entry-object").map((c) => c.textContent)).toEqual(["Script etl", "Task 12"]);
    expect(all(el, "audit-entry-summary")[1].textContent).toBe("changed params of task 'nightly'");
    expect($(el, "audit-entry-run")?.getAttribute("href")).toContain("/dags/script__etl/runs/manual__1");
    expect($(el, "audit-paging")).toBeNull();
  });

  it("sends the filters and pages through the results", async () => {
    const server = fakeServer(meHandler({ reports: ["read"] }), audit((q) => ({ body: page([entry({ id: Number(q.get("offset") ?? 0) + 1 })], 120, Number(q.get("offset") ?? 0)) })));
    const el = await open("/plugin/ylai-audit");
    type($(el, "audit-user")!, "bob");
    type($(el, "audit-action")!, "ylai.task");
    type($(el, "audit-object")!, "task:12");
    click($(el, "audit-all-events")!);
    click($(el, "audit-submit")!);
    await flush(8);
    expect(asked(server.calls).at(-1)).toEqual({ user: "bob", action: "ylai.task", object: "task:12", all_events: "true", limit: "50", offset: "0" });
    expect($(el, "audit-range")?.textContent).toBe("1–50 of 120");
    click($(el, "audit-next")!);
    await flush(8);
    expect(asked(server.calls).at(-1)?.offset).toBe("50");
    expect($(el, "audit-range")?.textContent).toBe("51–100 of 120");
    expect(($(el, "audit-previous") as HTMLButtonElement).disabled).toBe(false);
  });

  it("exports what the list shows, in the UI's language", async () => {
    const clicked: string[] = [];
    vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
      clicked.push(this.href);
    });
    fakeServer(meHandler({ reports: ["read", "create"] }), audit(() => ({ body: page([entry()]) })));
    const el = await open("/plugin/ylai-audit");
    type($(el, "audit-object")!, "script");
    click($(el, "audit-submit")!);
    await flush(8);
    click($(el, "audit-export-csv")!);
    expect(clicked[0]).toContain("/ylai/api/v1/exports/audit?format=csv&language=en");
    expect(clicked[0]).toContain("action=ylai.");
    expect(clicked[0]).toContain("object=script");
  });

  it("says when nothing matches, and shows the server's refusal", async () => {
    fakeServer(meHandler({}), audit(() => ({ body: page([]) })));
    let el = await open("/plugin/ylai-audit");
    expect($(el, "audit-empty")?.textContent).toBe("No audit entries match.");
    fakeServer(meHandler({}), audit(() => ({ status: 403, body: { error: { code: "forbidden", message: "You may not read the audit log", details: [] } } })));
    el = await open("/plugin/ylai-audit");
    expect($(el, "audit-error")?.textContent).toContain("You may not read the audit log");
  });

  it("speaks Chinese", async () => {
    window.localStorage.setItem("i18nextLng", "zh-CN");
    try {
      fakeServer(meHandler({}), audit(() => ({ body: page([entry()]) })));
      const el = await open("/plugin/ylai-audit");
      expect(el.textContent).toContain("变更内容");
      expect($(el, "audit-entry-object")?.textContent).toBe("任务 12");
    } finally {
      window.localStorage.removeItem("i18nextLng");
    }
  });
});

describe("audit queries", () => {
  it("leave out empty filters and turn local times into UTC", () => {
    expect(auditQuery(EMPTY_FORM, 0)).toEqual({ limit: 50, offset: 0 });
    const q = auditQuery({ ...EMPTY_FORM, user: " bob ", since: "2026-12-01T10:00" }, 50);
    expect(q.user).toBe("bob");
    expect(q.since).toBe(new Date("2026-12-01T10:00").toISOString());
    expect(q.offset).toBe(50);
  });

  it("export ylai's entries only unless Airflow's events are asked for", () => {
    expect(auditExportFilters(EMPTY_FORM).action).toBe("ylai.");
    expect(auditExportFilters({ ...EMPTY_FORM, allEvents: true }).action).toBeUndefined();
    expect(auditExportFilters({ ...EMPTY_FORM, action: "ylai.task" }).action).toBe("ylai.task");
  });
});
