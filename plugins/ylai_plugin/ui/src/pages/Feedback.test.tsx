import { describe, expect, it, vi } from "vitest";
import { pageTests } from "../test/app";
import { $, click, flush, type } from "../test/render";
import { fakeServer, meHandler, type Handler } from "../test/server";
import { NO_FILTERS, feedbackExportFilters, feedbackQuery, type FeedbackEntry } from "./Feedback";

const open = pageTests();
const all = (el: ParentNode, id: string) => [...el.querySelectorAll<HTMLElement>(`[data-testid="${id}"]`)];
const ADMIN = { feedback: ["read", "edit"], reports: ["read", "create"] };

function entry(extra: Partial<FeedbackEntry> = {}): FeedbackEntry {
  return {
    id: 3,
    created_at: "2026-12-06T03:00:00Z",
    user: "ursula",
    rating: 2,
    comment: "The run form forgets my values",
    page: "run",
    app_version: "0.1.0",
    last_error: "Error 503: the metadata database is down",
    handled: false,
    reply_note: null,
    handled_by: null,
    handled_at: null,
    ...extra,
  };
}

/** GET /feedback answering the entries, PATCH /feedback/{id} changing them. */
function feedbackServer(entries: FeedbackEntry[]): Handler {
  return (c) => {
    if (c.method === "GET" && c.path === "/ylai/api/v1/feedback") return { body: { items: entries, total: entries.length, limit: 50, offset: 0 } };
    const m = /^\/ylai\/api\/v1\/feedback\/(\d+)$/.exec(c.path);
    if (c.method === "PATCH" && m) {
      const e = entries.find((x) => x.id === Number(m[1]));
      if (!e) return { status: 404, body: { error: { code: "not_found", message: "no such feedback" } } };
      Object.assign(e, c.body, { handled_by: "ada", handled_at: "2026-12-06T04:00:00Z" });
      return { body: e };
    }
    return undefined;
  };
}
const listCalls = (calls: { method: string; path: string; search: URLSearchParams }[]) => calls.filter((c) => c.method === "GET" && c.path === "/ylai/api/v1/feedback").map((c) => Object.fromEntries(c.search));

describe("Feedback page", () => {
  it("lists the feedback with rating, page, comment and the error sent along", async () => {
    const server = fakeServer(meHandler(ADMIN, ["Admin"], "ada"), feedbackServer([entry(), entry({ id: 2, rating: 5, comment: "", page: "monitor", last_error: null, handled: true, reply_note: "thanks", handled_by: "ada" })]));
    const el = await open("/plugin/ylai-feedback");
    expect($(el, "page-feedback")).not.toBeNull();
    expect(listCalls(server.calls)[0]).toEqual({ order_by: "-created_at", limit: "50", offset: "0" });
    const rows = all(el, "feedback-entry");
    expect(rows.map((r) => r.dataset.handled)).toEqual(["false", "true"]);
    expect(all(el, "feedback-entry-rating")[0].textContent).toBe("★★☆☆☆");
    expect(all(el, "feedback-entry-comment").map((c) => c.textContent)).toEqual(["The run form forgets my values", "—"]);
    expect($(el, "feedback-entry-error")?.textContent).toBe("Error shown: Error 503: the metadata database is down");
    expect($(el, "feedback-entry-note")?.textContent).toBe("thanks");
    expect(rows[0].textContent).toContain("Run");
    expect(rows[0].textContent).toContain("version 0.1.0");
  });

  it("filters by state, rating and page", async () => {
    const server = fakeServer(meHandler(ADMIN, ["Admin"]), feedbackServer([entry()]));
    const el = await open("/plugin/ylai-feedback");
    type($(el, "feedback-filter-handled")!, "false");
    type($(el, "feedback-filter-rating")!, "2");
    type($(el, "feedback-filter-page")!, "run");
    await flush();
    expect(listCalls(server.calls).at(-1)).toEqual({ handled: "false", rating: "2", page: "run", order_by: "-created_at", limit: "50", offset: "0" });
  });

  it("marks an entry handled with a reply note", async () => {
    const entries = [entry()];
    const server = fakeServer(meHandler(ADMIN, ["Admin"]), feedbackServer(entries));
    const el = await open("/plugin/ylai-feedback");
    click($(el, "feedback-entry-edit")!);
    type($(el, "feedback-entry-note-input")!, "Fixed in 0.2: the form keeps them");
    click($(el, "feedback-entry-save")!);
    await flush();
    expect(server.calls.find((c) => c.method === "PATCH")).toMatchObject({ path: "/ylai/api/v1/feedback/3", body: { handled: true, reply_note: "Fixed in 0.2: the form keeps them" } });
    expect(all(el, "feedback-entry")[0].dataset.handled).toBe("true");
    expect($(el, "feedback-entry-note")?.textContent).toBe("Fixed in 0.2: the form keeps them");
    expect($(el, "feedback-entry-handled")).not.toBeNull();
    // and reopens it
    click($(el, "feedback-entry-edit")!);
    click($(el, "feedback-entry-reopen")!);
    await flush();
    expect(server.calls.filter((c) => c.method === "PATCH").at(-1)?.body).toEqual({ handled: false, reply_note: "Fixed in 0.2: the form keeps them" });
    expect(all(el, "feedback-entry")[0].dataset.handled).toBe("false");
  });

  it("shows a failed change next to the entry", async () => {
    const gone: Handler = (c) => (c.method === "PATCH" ? { status: 404, body: { error: { code: "not_found", message: "no such feedback" } } } : undefined);
    fakeServer(meHandler(ADMIN, ["Admin"]), gone, feedbackServer([entry()]));
    const el = await open("/plugin/ylai-feedback");
    click($(el, "feedback-entry-edit")!);
    click($(el, "feedback-entry-save")!);
    await flush();
    expect($(el, "feedback-entry-error-box")?.textContent).toContain("no such feedback");
  });

  it("is read-only for those who may only read it", async () => {
    fakeServer(meHandler({ feedback: ["read"] }, ["Auditor"]), feedbackServer([entry()]));
    const el = await open("/plugin/ylai-feedback");
    expect($(el, "feedback-entry-edit")).toBeNull();
    expect($(el, "feedback-readonly")).not.toBeNull();
  });

  it("says so when the list cannot be read, and when it is empty", async () => {
    fakeServer(meHandler({}, ["Viewer"]), (c) => (c.path === "/ylai/api/v1/feedback" ? { status: 403, body: { error: { code: "forbidden", message: "needs ylai Feedback" } } } : undefined));
    let el = await open("/plugin/ylai-feedback");
    expect($(el, "feedback-list-error")?.textContent).toContain("needs ylai Feedback");
    fakeServer(meHandler(ADMIN, ["Admin"]), feedbackServer([]));
    el = await open("/plugin/ylai-feedback");
    expect($(el, "feedback-empty")).not.toBeNull();
  });

  it("exports the feedback dataset with the list's filters", async () => {
    const clicked: string[] = [];
    vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
      clicked.push(this.href);
    });
    fakeServer(meHandler(ADMIN, ["Admin"]), feedbackServer([entry()]));
    const el = await open("/plugin/ylai-feedback");
    type($(el, "feedback-filter-handled")!, "false");
    type($(el, "feedback-filter-rating")!, "2");
    type($(el, "feedback-filter-page")!, "logs");
    await flush();
    click($(el, "feedback-export-csv")!);
    expect(clicked[0]).toContain("/ylai/api/v1/exports/feedback?format=csv&language=en");
    const query = new URL(clicked[0]).searchParams;
    expect(query.getAll("state")).toEqual(["open"]);
    expect(query.getAll("rating")).toEqual(["2"]);
    expect(query.getAll("page")).toEqual(["logs"]);
  });

  it("builds its queries", () => {
    expect(feedbackQuery(NO_FILTERS, 50)).toEqual({ handled: undefined, rating: undefined, page: undefined, order_by: "-created_at", limit: 50, offset: 50 });
    expect(feedbackQuery({ handled: "true", rating: "5", page: "run" }, 0)).toMatchObject({ handled: true, rating: 5, page: "run" });
    expect(feedbackExportFilters({ handled: "false", rating: "2", page: "logs" })).toEqual({ state: ["open"], rating: [2], page: "logs" });
    expect(feedbackExportFilters({ handled: "true", rating: "", page: "" })).toEqual({ state: ["handled"], rating: undefined, page: undefined });
    expect(feedbackExportFilters(NO_FILTERS)).toEqual({ state: undefined, rating: undefined, page: undefined });
  });
});
