import { describe, expect, it } from "vitest";
import { pageTests } from "../test/app";
import { $, click, flush } from "../test/render";
import { fakeServer, type Handler } from "../test/server";
import type { Schemas } from "../api/client";
import { differs, resourceKey, toggle } from "./Access";

const ACTIONS = ["can_read", "can_create", "can_edit", "can_delete"];
const RESOURCES = ["ylai Tasks", "ylai Scripts"];
const all = Object.fromEntries(RESOURCES.map((r) => [r, ACTIONS]));

function matrix(viewer: Record<string, string[]>): Schemas["AccessMatrixOut"] {
  return {
    resources: RESOURCES,
    actions: ACTIONS,
    roles: [
      { name: "Admin", user_count: 1, users: ["admin"], permissions: all },
      { name: "Viewer", user_count: 2, users: ["olga", "wang"], permissions: viewer },
    ],
    links: [
      { text: "Users", href: "/auth/users/list/" },
      { text: "Roles", href: "/auth/roles/list/" },
    ],
  };
}

const me =
  (mayManage: boolean, permissions: Record<string, string[]>, roles: string[]): Handler =>
  (c) =>
    c.path.endsWith("/ylai/api/v1/me") ? { body: { username: "u", roles, permissions, dags: {}, may_manage_access: mayManage } } : undefined;

const openApp = pageTests();
const open = () => openApp("/plugin/ylai-access");
const box = (el: ParentNode, testId: string) => $(el, testId) as HTMLInputElement;

describe("Access page", () => {
  it("shows admins every role's users and grants, and saves one role's changes with PUT", async () => {
    let viewer: Record<string, string[]> = { "ylai Tasks": ["can_read"], "ylai Scripts": ["can_read"] };
    const server = fakeServer(me(true, { tasks: ["read"] }, ["Admin"]), (c) => {
      if (c.path.endsWith("/ylai/api/v1/access") && c.method === "GET") return { body: matrix(viewer) };
      if (c.path.endsWith("/ylai/api/v1/access/Viewer") && c.method === "PUT") {
        viewer = (c.body as { permissions: Record<string, string[]> }).permissions;
        return { body: { role: matrix(viewer).roles[1], granted: ["can_create on ylai Tasks"], revoked: ["can_read on ylai Scripts"] } };
      }
      return undefined;
    });
    const el = await open();
    expect($(el, "page-access")).not.toBeNull();
    expect($(el, "access-users-Viewer")?.textContent).toBe("Users (2): olga, wang");
    expect(($(el, "access-link-users") as HTMLAnchorElement).getAttribute("href")).toBe("/auth/users/list/");
    expect(($(el, "access-link-roles") as HTMLAnchorElement).getAttribute("href")).toBe("/auth/roles/list/");
    expect(box(el, "grant-Viewer-tasks-can_read").checked).toBe(true);
    expect(box(el, "grant-Viewer-tasks-can_create").checked).toBe(false);
    // Admin keeps everything: its boxes are disabled, with the reason, and it has no Save button.
    expect(box(el, "grant-Admin-tasks-can_read").disabled).toBe(true);
    expect($(el, "access-locked-Admin")?.textContent).toContain("Admin keeps every ylai permission");
    expect($(el, "access-save-Admin")).toBeNull();

    const save = $(el, "access-save-Viewer") as HTMLButtonElement;
    expect(save.disabled).toBe(true);
    click(box(el, "grant-Viewer-tasks-can_create"));
    click(box(el, "grant-Viewer-scripts-can_read"));
    expect(save.disabled).toBe(false);
    click(save);
    await flush(8);
    const put = server.calls.find((c) => c.method === "PUT");
    expect(put?.path).toBe("/ylai/api/v1/access/Viewer");
    expect(put?.body).toEqual({ permissions: { "ylai Tasks": ["can_read", "can_create"], "ylai Scripts": [] } });
    expect($(el, "access-saved-Viewer")?.textContent).toBe("Saved: 1 granted, 1 revoked");
    // Reloaded from the server after the save: the new grants are the saved state.
    expect(server.calls.filter((c) => c.method === "GET" && c.path.endsWith("/access")).length).toBe(2);
    expect(box(el, "grant-Viewer-tasks-can_create").checked).toBe(true);
    expect(save.disabled).toBe(true);
  });

  it("shows the server's reason when a save is refused", async () => {
    fakeServer(me(true, {}, ["Admin"]), (c) => {
      if (c.path.endsWith("/ylai/api/v1/access") && c.method === "GET") return { body: matrix({ "ylai Tasks": [], "ylai Scripts": [] }) };
      if (c.method === "PUT") return { status: 404, body: { error: { code: "not_found", message: "Role 'Viewer' not found" } } };
      return undefined;
    });
    const el = await open();
    click(box(el, "grant-Viewer-tasks-can_read"));
    click($(el, "access-save-Viewer")!);
    await flush(8);
    expect($(el, "access-error-Viewer")?.textContent).toContain("Role 'Viewer' not found");
    // The draft stays, so nothing the admin ticked is lost.
    expect(box(el, "grant-Viewer-tasks-can_read").checked).toBe(true);
  });

  it("shows non-admins their own permissions, read-only, without asking for the matrix", async () => {
    const server = fakeServer(me(false, { tasks: ["read", "create"], scripts: ["read"] }, ["User"]));
    const el = await open();
    expect($(el, "access-my-roles")?.textContent).toBe("Your roles: User");
    expect($(el, "mine-tasks-create")?.textContent).toBe("✓");
    expect($(el, "mine-scripts-create")?.textContent).toBe("—");
    expect(el.querySelector('input[type="checkbox"]')).toBeNull();
    expect(server.calls.some((c) => c.path.endsWith("/access"))).toBe(false);
  });

  it("is translated", async () => {
    localStorage.setItem("i18nextLng", "zh-CN");
    try {
      fakeServer(me(false, { tasks: ["read"] }, ["Viewer"]));
      const el = await open();
      expect($(el, "access-mine")?.textContent).toContain("你的权限");
      expect($(el, "mine-tasks")?.textContent).toContain("已保存的任务");
    } finally {
      localStorage.removeItem("i18nextLng");
    }
  });
});

describe("Access helpers", () => {
  it("toggle keeps the actions in order, and differs compares rows", () => {
    const g = toggle({ r: ["can_edit"] }, "r", "can_read", true, ACTIONS);
    expect(g.r).toEqual(["can_read", "can_edit"]);
    expect(toggle(g, "r", "can_edit", false, ACTIONS).r).toEqual(["can_read"]);
    expect(differs(g, { r: ["can_read", "can_edit"] })).toBe(false);
    expect(differs(g, { r: ["can_read"] })).toBe(true);
    expect(differs({ r: [] }, {})).toBe(false);
    expect(resourceKey("ylai Tasks")).toBe("tasks");
  });
});
