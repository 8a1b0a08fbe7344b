import { describe, expect, it } from "vitest";
import { API_VERSION } from "../../generated/ylai";
import { clearShownError } from "../lib/lastError";
import { pageTests } from "../test/app";
import { $, click, flush, type } from "../test/render";
import { fakeServer, meHandler, type Handler } from "../test/server";
import { feedbackBody } from "./Feedback";

const open = pageTests();
const posted = (answer: { status: number; body: unknown }): Handler => (c) => (c.method === "POST" && c.path === "/ylai/api/v1/feedback" ? answer : undefined);
const created = { status: 201, body: { id: 1, rating: 4 } };

describe("the feedback button", () => {
  it("is on every page and sends a rating, a comment, the page and the version", async () => {
    clearShownError();
    const server = fakeServer(meHandler({ tasks: ["read"] }), posted(created));
    const el = await open("/plugin/ylai-tasks");
    expect($(el, "feedback-dialog")).toBeNull();
    click($(el, "feedback-open")!);
    const send = $(el, "feedback-send") as HTMLButtonElement;
    expect(send.disabled).toBe(true); // no rating yet
    expect($(el, "feedback-context")?.textContent).toBe(`Sent with it: the page (Tasks) and ylai's version (${API_VERSION}).`);
    click($(el, "feedback-rating-4")!);
    expect($(el, "feedback-rating-4")?.getAttribute("aria-checked")).toBe("true");
    type($(el, "feedback-comment")!, "  The list is great  ");
    click(send);
    await flush();
    const call = server.calls.find((c) => c.path === "/ylai/api/v1/feedback");
    expect(call?.body).toEqual({ rating: 4, comment: "The list is great", page: "tasks", app_version: API_VERSION });
    expect($(el, "feedback-dialog")).toBeNull();
    expect($(el, "feedback-sent")?.textContent).toBe("Thank you: your feedback was sent.");
  });

  it("offers the last error the page showed, and sends it only when ticked", async () => {
    const server = fakeServer(
      meHandler({ tasks: ["read"] }),
      (c) => (c.path === "/ylai/api/v1/tasks" ? { status: 500, body: { error: { code: "boom", message: "the tasks table is locked" } } } : undefined),
      posted(created),
    );
    const el = await open("/plugin/ylai-tasks");
    click($(el, "feedback-open")!);
    const box = $(el, "feedback-with-error") as HTMLInputElement;
    expect(box.disabled).toBe(false);
    expect($(el, "feedback-error-text")).toBeNull();
    click(box);
    expect($(el, "feedback-error-text")?.textContent).toContain("the tasks table is locked");
    click($(el, "feedback-rating-2")!);
    click($(el, "feedback-send")!);
    await flush();
    const body = server.calls.find((c) => c.path === "/ylai/api/v1/feedback")?.body as Record<string, unknown>;
    expect(body.rating).toBe(2);
    expect(body.last_error).toContain("the tasks table is locked");
  });

  it("says why a send failed and keeps what was typed", async () => {
    clearShownError();
    fakeServer(meHandler({ tasks: ["read"] }), posted({ status: 422, body: { error: { code: "invalid_input", message: "comment: too long" } } }));
    const el = await open("/plugin/ylai-overview");
    click($(el, "feedback-open")!);
    click($(el, "feedback-rating-5")!);
    type($(el, "feedback-comment")!, "hello");
    click($(el, "feedback-send")!);
    await flush();
    expect($(el, "feedback-error")?.textContent).toContain("comment: too long");
    expect(($(el, "feedback-comment") as HTMLTextAreaElement).value).toBe("hello");
    click($(el, "feedback-cancel")!);
    expect($(el, "feedback-dialog")).toBeNull();
    expect($(el, "feedback-sent")).toBeNull();
  });

  it("leaves out an empty last error and cuts the comment to the API's limit", () => {
    expect(feedbackBody("run", 3, "x".repeat(2100), null)).toEqual({ rating: 3, comment: "x".repeat(2000), page: "run", app_version: API_VERSION });
    expect(feedbackBody("run", 3, "", "boom").last_error).toBe("boom");
  });
});
