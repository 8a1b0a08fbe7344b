import { describe, expect, it } from "vitest";
import type { ApprovalOut } from "../api/approvals";
import { pageTests } from "../test/app";
import { $, click, flush, type } from "../test/render";
import { fakeServer, meHandler, type Call, type Handler } from "../test/server";
import { missingComment } from "./Approvals";

const open = pageTests();
const text = (el: ParentNode, id: string) => $(el, id)?.textContent ?? "";
const all = (el: ParentNode, id: string) => [...el.querySelectorAll(`[data-testid="${id}"]`)];

function approval(extra: Partial<ApprovalOut> = {}): ApprovalOut {
  return {
    id: "6f1c0c1e-7a53-4d0e-9f6b-1d2e3f4a5b6c",
    dag_id: "script__payroll_export",
    run_id: "manual__2026-12-05T10:00:00+00:00",
    task_id: "approval",
    kind: "script",
    target: "payroll_export",
    requested_by: "alice",
    requested_at: "2026-12-05T10:00:00Z",
    approvers: ["Approver", "bob"],
    reason_required: false,
    four_eyes: true,
    timeout_at: "2026-12-06T10:00:00Z",
    state: "pending",
    decided_by: null,
    decided_at: null,
    comment: null,
    params: { month: "2026-11", bank_token: "***" },
    can_decide: true,
    cannot_decide_reason: null,
    ...extra,
  };
}
const page = (items: ApprovalOut[], total = items.length) => ({ items, total, limit: 50, offset: 0 });
const list =
  (answer: (q: URLSearchParams) => { status?: number; body: unknown }): Handler =>
  (c) =>
    c.method === "GET" && c.path === "/ylai/api/v1/approvals" ? answer(c.search) : undefined;
const posted = (calls: Call[]) => calls.filter((c) => c.method === "POST").map((c) => ({ path: c.path, body: c.body }));
const err = (status: number, code: string, message: string, details: unknown[] = []) => ({ status, body: { error: { code, message, details } } });

describe("Approvals page", () => {
  it("lists what waits for me with the target, params, requester, approvers and timeout", async () => {
    const server = fakeServer(meHandler({}, ["Approver"], "bob"), list(() => ({ body: page([approval()]) })));
    const el = await open("/plugin/ylai-approvals");
    expect($(el, "page-approvals")).not.toBeNull();
    const asked = server.calls.find((c) => c.path === "/ylai/api/v1/approvals")!;
    expect(Object.fromEntries(asked.search)).toEqual({ view: "waiting_for_me", state: "pending", limit: "50", offset: "0" });
    expect(text(el, "approval-target")).toBe("payroll_export");
    expect(text(el, "approval-state")).toBe("Pending");
    expect(JSON.parse(text(el, "approval-params"))).toEqual({ month: "2026-11", bank_token: "***" });
    expect(text(el, "approval-requested-by")).toMatch(/^alice · /);
    expect(text(el, "approval-approvers")).toBe("Approver, bob");
    expect(text(el, "approval-timeout")).not.toBe("Never");
    expect($(el, "approval-run-link")?.getAttribute("href")).toContain("/dags/script__payroll_export/runs/manual__2026-12-05T10%3A00%3A00%2B00%3A00");
    expect(el.textContent).toContain("Four eyes: the requester cannot approve");
  });

  it("approves with a comment and shows the decision", async () => {
    let decided: ApprovalOut | null = null;
    const server = fakeServer(
      meHandler({}, ["Approver"], "bob"),
      list(() => ({ body: page(decided ? [] : [approval()]) })),
      (c) => {
        if (c.method !== "POST" || !c.path.endsWith("/approve")) return undefined;
        decided = approval({ state: "approved", decided_by: "bob", decided_at: "2026-12-05T10:05:00Z", comment: (c.body as { comment: string }).comment, can_decide: false, cannot_decide_reason: "Already decided" });
        return { body: decided };
      },
    );
    const el = await open("/plugin/ylai-approvals");
    type($(el, "approval-comment-input")!, "  checked the month  ");
    click($(el, "approval-approve")!);
    await flush(8);
    expect(posted(server.calls)).toEqual([{ path: "/ylai/api/v1/approvals/6f1c0c1e-7a53-4d0e-9f6b-1d2e3f4a5b6c/approve", body: { comment: "checked the month" } }]);
    expect(text(el, "approval-done")).toBe("Approved payroll_export: the run goes on.");
    // The list is read again: the approval no longer waits for me.
    expect(server.calls.filter((c) => c.path === "/ylai/api/v1/approvals").length).toBeGreaterThan(1);
  });

  it("approves without a comment unless the approval requires one; a rejection always needs one", async () => {
    const server = fakeServer(meHandler({}, ["Approver"], "bob"), list(() => ({ body: page([approval({ reason_required: true })]) })));
    const el = await open("/plugin/ylai-approvals");
    expect(el.textContent).toContain("Comment (required)");
    click($(el, "approval-approve")!);
    await flush();
    expect(text(el, "approval-comment-error")).toBe("This approval needs a comment.");
    click($(el, "approval-reject")!);
    await flush();
    expect(text(el, "approval-comment-error")).toBe("Say why you reject it: a rejection needs a comment.");
    expect(posted(server.calls)).toEqual([]);
    expect(missingComment({ reason_required: false }, "approve", "")).toBe(false);
    expect(missingComment({ reason_required: false }, "reject", " ")).toBe(true);
    expect(missingComment({ reason_required: true }, "approve", "ok")).toBe(false);
  });

  it("rejects with a comment and shows the server's comment problem next to the box", async () => {
    let answer: { status?: number; body: unknown } = err(422, "validation_error", "Invalid request", [{ field: "body.comment", reason: "A comment of at least 5 characters is required" }]);
    const server = fakeServer(meHandler({}, ["Approver"], "bob"), list(() => ({ body: page([approval()]) })), (c) => (c.method === "POST" && c.path.endsWith("/reject") ? answer : undefined));
    const el = await open("/plugin/ylai-approvals");
    type($(el, "approval-comment-input")!, "no");
    click($(el, "approval-reject")!);
    await flush(8);
    expect(text(el, "approval-comment-error")).toBe("A comment of at least 5 characters is required");
    answer = { body: approval({ state: "rejected", decided_by: "bob", comment: "wrong month" }) };
    type($(el, "approval-comment-input")!, "wrong month");
    click($(el, "approval-reject")!);
    await flush(8);
    expect(posted(server.calls).at(-1)).toEqual({ path: "/ylai/api/v1/approvals/6f1c0c1e-7a53-4d0e-9f6b-1d2e3f4a5b6c/reject", body: { comment: "wrong month" } });
    expect(text(el, "approval-done")).toBe("Rejected payroll_export: the run ends as failed with your comment.");
  });

  it("disables the buttons with the server's reason when the caller cannot decide", async () => {
    const reason = "Four eyes: you requested this run, someone else must approve it";
    fakeServer(meHandler({}, ["User"], "alice"), list(() => ({ body: page([approval({ can_decide: false, cannot_decide_reason: reason })]) })));
    const el = await open("/plugin/ylai-approvals?tab=mine");
    for (const id of ["approval-approve", "approval-reject"]) {
      const button = $(el, id) as HTMLButtonElement;
      expect(button.disabled).toBe(true);
      expect(button.title).toBe(reason);
    }
    expect(text(el, "approval-cannot-decide")).toBe(reason);
    expect(($(el, "approval-comment-input") as HTMLTextAreaElement).disabled).toBe(true);
  });

  it("shows a refused or conflicting decision clearly", async () => {
    let answer = err(403, "forbidden", "Only Approver or bob may approve this run");
    fakeServer(meHandler({}, ["Approver"], "bob"), list(() => ({ body: page([approval()]) })), (c) => (c.method === "POST" ? answer : undefined));
    const el = await open("/plugin/ylai-approvals");
    click($(el, "approval-approve")!);
    await flush(8);
    expect(text(el, "approval-decide-error")).toContain("Only Approver or bob may approve this run");
    answer = err(409, "conflict", "This approval was already approved by carol");
    click($(el, "approval-approve")!);
    await flush(8);
    expect(text(el, "approval-decide-error")).toContain("409");
    expect(text(el, "approval-decide-error")).toContain("already approved by carol");
  });

  it("shows my requests and the history in every state, filtered by state, with the decision", async () => {
    const server = fakeServer(
      meHandler({}, ["User"], "alice"),
      list((q) => ({
        body: page(
          [approval({ state: "rejected", decided_by: "bob", decided_at: "2026-12-05T10:05:00Z", comment: "wrong month", can_decide: false, cannot_decide_reason: "Already decided" }), approval({ id: "x2", state: "timed_out", can_decide: false })].filter(
            (a) => !q.get("state") || a.state === q.get("state"),
          ),
        ),
      })),
    );
    const el = await open("/plugin/ylai-approvals?tab=history");
    expect(all(el, "approval")).toHaveLength(2);
    expect(all(el, "approval-state").map((s) => s.textContent)).toEqual(["Rejected", "Timed out"]);
    expect(text(el, "approval-comment")).toBe("wrong month");
    expect(text(el, "approval-decided-by")).toMatch(/^bob · /);
    expect($(el, "approval-approve")).toBeNull();
    type($(el, "approvals-state")!, "timed_out");
    await flush(8);
    expect(all(el, "approval")).toHaveLength(1);
    const last = server.calls.filter((c) => c.path === "/ylai/api/v1/approvals").at(-1)!;
    expect(Object.fromEntries(last.search)).toMatchObject({ view: "all", state: "timed_out" });
    click($(el, "approvals-tab-mine")!);
    await flush(8);
    expect(Object.fromEntries(server.calls.filter((c) => c.path === "/ylai/api/v1/approvals").at(-1)!.search)).toEqual({ view: "mine", limit: "50", offset: "0" });
  });

  it("says when nothing waits and when the list cannot be read", async () => {
    let answer: { status?: number; body: unknown } = { body: page([]) };
    fakeServer(meHandler({}, ["Approver"], "bob"), list(() => answer));
    let el = await open("/plugin/ylai-approvals");
    expect(text(el, "approvals-empty")).toBe("Nothing waits for your approval.");
    answer = err(403, "forbidden", "Viewer may not list approvals");
    el = await open("/plugin/ylai-approvals");
    expect(text(el, "approvals-error")).toContain("Viewer may not list approvals");
  });

  it("opens one approval from a run's link, in Chinese too", async () => {
    localStorage.setItem("i18nextLng", "zh-CN");
    try {
      fakeServer(meHandler({}, ["Approver"], "bob"), (c) => (c.path === "/ylai/api/v1/approvals/6f1c0c1e-7a53-4d0e-9f6b-1d2e3f4a5b6c" ? { body: approval() } : undefined));
      const el = await open("/plugin/ylai-approvals?id=6f1c0c1e-7a53-4d0e-9f6b-1d2e3f4a5b6c");
      expect(all(el, "approval")).toHaveLength(1);
      expect(text(el, "approval-state")).toBe("待审批");
      expect(text(el, "approval-approve")).toBe("批准");
      expect(text(el, "approvals-tab-waiting")).toBe("待我审批");
    } finally {
      localStorage.removeItem("i18nextLng");
    }
  });
});
