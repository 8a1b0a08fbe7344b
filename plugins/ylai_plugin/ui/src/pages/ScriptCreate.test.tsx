import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { $, click, flush, render, type, type Rendered } from "../test/render";
import { ensureBase, fakeServer, meHandler, type Handler } from "../test/server";
import { resetMeCache } from "../lib/me";
import YlaiApp from "../App";
import { scriptFieldErrors } from "./ScriptCreate";

const ADMIN = { scripts: ["read", "create", "edit", "delete"] };
const detail: Handler = (c) =>
  c.method === "GET" && c.path === "/ylai/api/v1/scripts/greeter"
    ? { body: { name: "greeter", dag_id: "script__greeter", title: "Greeter", description: "", owner: "x", tags: [], runtime: "python", params_schema: { type: "object", properties: {} }, outputs: {}, timeout_seconds: 60, retries: 1, sensitive: false, stats: { runs: 0, succeeded: 0, failed: 0, success_rate: null }, recent_runs: [] } }
    : undefined;

let r: Rendered | null = null;
beforeEach(() => {
  ensureBase();
  resetMeCache();
  window.history.replaceState(null, "", "/plugin/ylai-scripts?new=1");
});
afterEach(() => {
  r?.unmount();
  r = null;
  vi.unstubAllGlobals();
  window.history.replaceState(null, "", "/");
});

describe("script creation", () => {
  it("checks the name and the manifest before sending", async () => {
    const server = fakeServer(meHandler(ADMIN, ["Admin"]));
    r = render(<YlaiApp />);
    await flush();
    type($(r.container, "script-name")!, "Bad-Name");
    type($(r.container, "script-manifest")!, "[1, 2]");
    click($(r.container, "script-save")!);
    await flush();
    expect($(r.container, "script-name-error")?.textContent).toBe("Lower-case letters, digits and _ (up to 63), starting with a letter.");
    expect($(r.container, "script-manifest-error")?.textContent).toBe("Must be a JSON object");
    expect(server.calls.filter((c) => c.method === "POST")).toHaveLength(0);
  });

  it("shows the server's 422 field errors inline, manifest paths included", async () => {
    fakeServer(meHandler(ADMIN, ["Admin"]), (c) =>
      c.method === "POST"
        ? { status: 422, body: { error: { code: "invalid_input", message: "Invalid manifest", details: [{ field: "body.manifest.params.who.type", reason: "Input should be 'string', 'integer'" }, { field: "body.content", reason: "String should have at least 1 character" }] } } }
        : undefined,
    );
    r = render(<YlaiApp />);
    await flush();
    type($(r.container, "script-name")!, "greeter");
    click($(r.container, "script-save")!);
    await flush();
    expect($(r.container, "script-manifest-error")?.textContent).toBe("params.who.type: Input should be 'string', 'integer'");
    expect($(r.container, "script-content-error")?.textContent).toBe("String should have at least 1 character");
    expect($(r.container, "script-error")).toBeNull();
  });

  it("posts name, runtime, content and the parsed manifest, then opens the new script", async () => {
    const server = fakeServer(meHandler(ADMIN, ["Admin"]), detail, (c) => (c.method === "POST" ? { status: 201, body: { name: "greeter", dag_id: "script__greeter", runtime: "bash", current_version: 1, versions: [] } } : undefined));
    r = render(<YlaiApp />);
    await flush();
    type($(r.container, "script-name")!, "greeter");
    type($(r.container, "script-runtime")!, "bash");
    // the example follows the runtime until the user writes their own
    expect(($(r.container, "script-content") as HTMLTextAreaElement).value).toContain("#!/usr/bin/env bash");
    type($(r.container, "script-content")!, "echo hi");
    type($(r.container, "script-runtime")!, "python");
    expect(($(r.container, "script-content") as HTMLTextAreaElement).value).toBe("echo hi");
    type($(r.container, "script-runtime")!, "bash");
    type($(r.container, "script-manifest")!, '{"title": "Greeter", "params": {"who": {"type": "string"}}}');
    click($(r.container, "script-save")!);
    await flush(10);
    const post = server.calls.find((c) => c.method === "POST");
    expect(post?.path).toBe("/ylai/api/v1/scripts");
    expect(post?.body).toEqual({ name: "greeter", runtime: "bash", content: "echo hi", manifest: { title: "Greeter", params: { who: { type: "string" } } }, comment: "" });
    expect(window.location.search).toBe("?name=greeter&created=1");
    expect($(r.container, "script-created")?.textContent).toContain("script__greeter");
  });

  it("is disabled, with the reason, without can_create on ylai Scripts", async () => {
    fakeServer(meHandler({ scripts: ["read"] }, ["Viewer"]));
    r = render(<YlaiApp />);
    await flush();
    expect(($(r.container, "script-save") as HTMLButtonElement).disabled).toBe(true);
    expect(($(r.container, "script-name") as HTMLInputElement).disabled).toBe(true);
    expect($(r.container, "script-permission")?.textContent).toContain("may not create scripts");
    r.unmount();
    window.history.replaceState(null, "", "/plugin/ylai-scripts");
    r = render(<YlaiApp />);
    await flush();
    expect(($(r.container, "script-new") as HTMLButtonElement).disabled).toBe(true);
  });

  it("maps server paths to fields", () => {
    expect(scriptFieldErrors([{ field: "body.name", reason: "bad" }, { field: "body.manifest", reason: "x" }, { field: "body.manifest.timeout", reason: "y" }])).toEqual({ name: "bad", manifest: "x\ntimeout: y" });
  });
});
