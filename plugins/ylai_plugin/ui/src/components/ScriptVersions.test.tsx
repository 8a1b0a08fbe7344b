import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { $, click, flush, render, type, type Rendered } from "../test/render";
import { ensureBase, fakeServer, meHandler, type Handler } from "../test/server";
import { EnvProvider } from "../i18n";
import { MeProvider, resetMeCache } from "../lib/me";
import { RunScriptVersion, ScriptVersions, sideBySide, versionLabel } from "./ScriptVersions";

const CONTENT: Record<number, string> = { 1: "echo one\necho same\n", 2: "echo two\necho same\necho more\n", 3: "echo one\necho same\n" };
const MANIFEST: Record<number, object> = { 1: { title: "A" }, 2: { title: "B" }, 3: { title: "A" } };

const row = (version: number, current: boolean) => ({
  version,
  comment: `c${version}`,
  created_by: "root",
  created_at: `2026-12-0${version}T10:00:00Z`,
  digest: `sha256:00000000000${version}`,
  size_bytes: CONTENT[version].length,
  current,
});

let versions = [row(2, true), row(1, false)];

const versionsHandler: Handler = (c) => {
  const list = c.path.match(/\/scripts\/greeter\/versions$/);
  if (list && c.method === "GET") return { body: { items: versions, total: versions.length, limit: 500, offset: 0 } };
  const one = c.path.match(/\/scripts\/greeter\/versions\/(\d+)$/);
  if (one) {
    const v = Number(one[1]);
    return { body: { ...row(v, v === versions[0].version), runtime: "bash", content: CONTENT[v], manifest: MANIFEST[v] } };
  }
  const restore = c.path.match(/\/scripts\/greeter\/versions\/(\d+)\/restore$/);
  if (restore && c.method === "POST") {
    versions = [row(3, true), row(2, false), row(1, false)];
    return { status: 201, body: { name: "greeter", dag_id: "script__greeter", kind: "script", runtime: "bash", current_version: 3, versions: [] } };
  }
  return undefined;
};

let r: Rendered | null = null;
let restored = 0;

function mount(node: React.ReactNode, lang: "en" | "zh-CN" = "en") {
  r = render(
    <EnvProvider env={{ lang, dark: false }}>
      <MeProvider>{node}</MeProvider>
    </EnvProvider>,
  );
  return r;
}

beforeEach(() => {
  ensureBase();
  resetMeCache();
  restored = 0;
  versions = [row(2, true), row(1, false)];
});
afterEach(() => {
  r?.unmount();
  r = null;
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe("sideBySide", () => {
  it("faces removed lines with the lines that replace them and numbers each side", () => {
    const rows = sideBySide("a\nb\nc\n", "a\nB\nc\nd\n");
    expect(rows.map((x) => x.kind)).toEqual(["same", "changed", "same", "added"]);
    expect(rows[1]).toEqual({ kind: "changed", left: { n: 2, text: "b" }, right: { n: 2, text: "B" } });
    expect(rows[3]).toEqual({ kind: "added", left: undefined, right: { n: 4, text: "d" } });
    expect(sideBySide("x\ny\n", "y\n")).toEqual([
      { kind: "removed", left: { n: 1, text: "x" }, right: undefined },
      { kind: "same", left: { n: 2, text: "y" }, right: { n: 1, text: "y" } },
    ]);
  });

  it("labels numbers as versions and leaves digests as they are", () => {
    expect([versionLabel("3"), versionLabel(2), versionLabel("sha256:abc"), versionLabel(null)]).toEqual(["v3", "v2", "sha256:abc", "—"]);
  });
});

describe("ScriptVersions", () => {
  it("lists the versions and diffs the two newest side by side, then any two picked", async () => {
    fakeServer(meHandler({ scripts: ["read", "edit"] }), versionsHandler);
    const { container } = mount(<ScriptVersions name="greeter" onRestored={() => (restored += 1)} />);
    await flush(10);
    expect($(container, "version-2")?.textContent).toContain("current");
    expect($(container, "version-1")?.textContent).toContain("sha256:000000000001");
    expect($(container, "version-restore-2")).toBeNull(); // the current version has nothing to restore
    const content = $(container, "diff-content")!;
    const kinds = [...content.querySelectorAll("tr")].map((tr) => tr.getAttribute("data-kind"));
    expect(kinds).toEqual(["changed", "same", "added"]);
    expect(content.textContent).toContain("echo one");
    expect(content.textContent).toContain("echo more");
    expect($(container, "diff-manifest")?.textContent).toContain('"title": "B"');

    type($(container, "diff-right")!, "1");
    await flush(10);
    expect($(container, "diff-content-same")?.textContent).toBe("No differences.");
  });

  it("restores a version only after confirmation, then compares it with the new current one", async () => {
    const server = fakeServer(meHandler({ scripts: ["read", "edit"] }), versionsHandler);
    const confirm = vi.spyOn(window, "confirm").mockReturnValueOnce(false).mockReturnValueOnce(true);
    const { container } = mount(<ScriptVersions name="greeter" onRestored={() => (restored += 1)} />);
    await flush(10);
    click($(container, "version-restore-1")!);
    await flush();
    expect(confirm).toHaveBeenCalledWith("Restore version 1? It is stored as a new version, made current, and runs from the next run on.");
    expect(server.calls.filter((c) => c.method === "POST")).toHaveLength(0);

    click($(container, "version-restore-1")!);
    await flush(10);
    const posts = server.calls.filter((c) => c.method === "POST");
    expect(posts.map((c) => c.path)).toEqual(["/ylai/api/v1/scripts/greeter/versions/1/restore"]);
    expect($(container, "version-restored")?.textContent).toBe("Version 1 restored as version 3.");
    expect(restored).toBe(1);
    expect($(container, "version-3")?.textContent).toContain("current");
    expect(($(container, "diff-left") as HTMLSelectElement).value).toBe("1");
    expect(($(container, "diff-right") as HTMLSelectElement).value).toBe("3");
    expect($(container, "diff-content-same")).not.toBeNull();
  });

  it("disables restoring for a role that may not edit scripts, with the reason, in Chinese too", async () => {
    fakeServer(meHandler({ scripts: ["read"] }), versionsHandler);
    const { container } = mount(<ScriptVersions name="greeter" onRestored={() => undefined} />, "zh-CN");
    await flush(10);
    const button = $(container, "version-restore-1") as HTMLButtonElement;
    expect(button.disabled).toBe(true);
    expect(button.textContent).toBe("恢复此版本");
    expect($(container, "versions-permission")?.textContent).toContain("编辑权限");
  });

  it("shows the server's error when restoring fails", async () => {
    const refuse: Handler = (c) => (c.method === "POST" ? { status: 422, body: { error: { code: "invalid", message: "Invalid manifest", details: [] } } } : undefined);
    fakeServer(meHandler({ scripts: ["read", "edit"] }), refuse, versionsHandler);
    vi.spyOn(window, "confirm").mockReturnValue(true);
    const { container } = mount(<ScriptVersions name="greeter" onRestored={() => (restored += 1)} />);
    await flush(10);
    click($(container, "version-restore-1")!);
    await flush(10);
    expect($(container, "version-restore-error")?.textContent).toContain("Invalid manifest");
    expect(restored).toBe(0);
  });
});

describe("RunScriptVersion", () => {
  it("shows the version a script run ran, and nothing for other DAGs", async () => {
    const runs: Handler = (c) => (c.path.includes("/ylai/api/v1/runs/script__greeter/") ? { body: { dag_id: "script__greeter", run_id: "r1", state: "success", script_version: "3" } } : undefined);
    const server = fakeServer(meHandler({}), runs);
    const { container } = mount(
      <>
        <RunScriptVersion dagId="script__greeter" runId="r1" ended />
        <RunScriptVersion dagId="my_dag" runId="r2" ended />
      </>,
    );
    await flush(10);
    expect($(container, "run-script-version")?.textContent).toBe("Script version: v3");
    expect(container.querySelectorAll('[data-testid="run-script-version"]')).toHaveLength(1);
    expect(server.calls.some((c) => c.path.includes("my_dag"))).toBe(false);
  });
});
