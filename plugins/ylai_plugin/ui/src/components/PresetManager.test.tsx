import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { $, click, flush, render, type, type Rendered } from "../test/render";
import { ensureBase, fakeServer, meHandler, type Handler } from "../test/server";
import { EnvProvider } from "../i18n";
import { MeProvider, resetMeCache } from "../lib/me";
import type { Schema } from "../lib/schema";
import type { Preset } from "../api/models";
import { PresetManager } from "./PresetManager";

const schema: Schema = {
  type: "object",
  properties: { top: { type: "integer", minimum: 1, maximum: 100 }, token: { type: "string", "x-ylai-secret": true } },
};

const mine: Preset = { id: 7, name: "small", dag_id: "script__disk_usage", description: "", params: { top: 3, token: "***" }, owner: "ursula", shared_with_role: null, visibility: "private", editable: true, created_at: "2026-11-28T00:00:00Z", updated_at: "2026-11-28T00:00:00Z" };
const theirs: Preset = { ...mine, id: 8, name: "team", owner: "olga", shared_with_role: "User", visibility: "shared", editable: false };

const ALL = { presets: ["read", "create", "edit", "delete"] };

let r: Rendered | null = null;
let changed = 0;

function mount(presets: Preset[], conf: Record<string, unknown> = { top: 9 }) {
  r = render(
    <EnvProvider env={{ lang: "en", dark: false }}>
      <MeProvider>
        <PresetManager presets={presets} schema={schema} conf={conf} onChanged={() => (changed += 1)} />
      </MeProvider>
    </EnvProvider>,
  );
  return r;
}

const patchOk: Handler = (c) => (c.method === "PATCH" ? { body: { ...mine, ...(c.body as object) } } : undefined);

beforeEach(() => {
  ensureBase();
  resetMeCache();
  changed = 0;
});
afterEach(() => {
  r?.unmount();
  r = null;
  vi.unstubAllGlobals();
});

describe("PresetManager", () => {
  it("renames, shares and changes params with one PATCH of only what changed", async () => {
    const server = fakeServer(meHandler(ALL), patchOk);
    const { container } = mount([mine]);
    await flush();
    click($(container, "preset-edit-7")!);
    type($(container, "preset-edit-name")!, "bad/name");
    click($(container, "preset-edit-save")!);
    await flush();
    expect($(container, "preset-edit-name-error")?.textContent).toContain("starting with a letter or digit");
    expect(server.calls.filter((c) => c.method === "PATCH")).toHaveLength(0);

    type($(container, "preset-edit-name")!, "nightly sample");
    type($(container, "preset-edit-share")!, "User");
    click($(container, "preset-edit-save")!);
    await flush();
    const first = server.calls.find((c) => c.method === "PATCH");
    expect(first?.path).toBe("/ylai/api/v1/presets/7");
    // params untouched: not sent, so the masked secret is kept by the server
    expect(first?.body).toEqual({ name: "nightly sample", shared_with_role: "User" });
    expect($(container, "preset-manage-done")?.textContent).toBe("Preset “nightly sample” updated.");
    expect(changed).toBe(1);
  });

  it("takes params from the form and checks them against the schema first", async () => {
    const server = fakeServer(meHandler(ALL), patchOk);
    const { container } = mount([mine], { top: 9 });
    await flush();
    click($(container, "preset-edit-7")!);
    type($(container, "preset-edit-params")!, '{"top": 0}');
    click($(container, "preset-edit-save")!);
    await flush();
    expect($(container, "preset-edit-params-error")?.textContent).toBe("top: Must be at least 1");
    type($(container, "preset-edit-params")!, "{nope");
    click($(container, "preset-edit-save")!);
    await flush();
    expect($(container, "preset-edit-params-error")?.textContent).toBe("Not valid JSON");
    click($(container, "preset-edit-use-form")!);
    click($(container, "preset-edit-save")!);
    await flush();
    expect(server.calls.find((c) => c.method === "PATCH")?.body).toEqual({ params: { top: 9 } });
  });

  it("shows the server's field errors next to their fields", async () => {
    fakeServer(meHandler(ALL, ["User", "Op"]), (c) =>
      c.method === "PATCH" ? { status: 422, body: { error: { code: "invalid_input", message: "Invalid input", details: [{ field: "body.shared_with_role", reason: "you can only share with your roles" }] } } } : undefined,
    );
    const { container } = mount([mine]);
    await flush();
    click($(container, "preset-edit-7")!);
    type($(container, "preset-edit-share")!, "Op");
    click($(container, "preset-edit-save")!);
    await flush();
    expect($(container, "preset-edit-share-error")?.textContent).toBe("you can only share with your roles");
    expect(changed).toBe(0);
  });

  it("deletes after confirmation", async () => {
    const server = fakeServer(meHandler(ALL), (c) => (c.method === "DELETE" ? { status: 204 } : undefined));
    const confirm = vi.fn(() => false);
    vi.stubGlobal("confirm", confirm);
    const { container } = mount([mine]);
    await flush();
    click($(container, "preset-delete-7")!);
    await flush();
    expect(confirm).toHaveBeenCalledWith("Delete the preset “small”?");
    expect(server.calls.filter((c) => c.method === "DELETE")).toHaveLength(0);
    confirm.mockReturnValue(true);
    click($(container, "preset-delete-7")!);
    await flush();
    expect(server.calls.find((c) => c.method === "DELETE")?.path).toBe("/ylai/api/v1/presets/7");
    expect($(container, "preset-manage-done")?.textContent).toBe("Preset “small” deleted.");
    expect(changed).toBe(1);
  });

  it("disables edit and delete with the reason: role without rights, or another user's preset", async () => {
    fakeServer(meHandler({ presets: ["read", "create"] }));
    const { container } = mount([mine]);
    await flush();
    const edit = $(container, "preset-edit-7") as HTMLButtonElement;
    expect(edit.disabled).toBe(true);
    expect(edit.title).toBe("Your role may not edit presets.");
    expect(($(container, "preset-delete-7") as HTMLButtonElement).disabled).toBe(true);
    expect($(container, "preset-manage-permission")?.textContent).toBe("Your role may not edit or delete presets.");
    r?.unmount();

    resetMeCache();
    fakeServer(meHandler(ALL));
    const second = mount([mine, theirs]).container;
    await flush();
    expect(($(second, "preset-edit-7") as HTMLButtonElement).disabled).toBe(false);
    const other = $(second, "preset-delete-8") as HTMLButtonElement;
    expect(other.disabled).toBe(true);
    expect(other.title).toBe("Only its owner or an Admin may change this preset.");
    expect($(second, "preset-manage-permission")).toBeNull();
  });
});
