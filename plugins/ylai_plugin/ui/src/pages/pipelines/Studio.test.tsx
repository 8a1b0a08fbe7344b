import { act } from "react";
import { beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { pageTests } from "../../test/app";
import { FakeEventSource } from "../../test/eventSource";
import { $, click, flush, type } from "../../test/render";
import { fakeServer, type Call, type Handler } from "../../test/server";
import type { PipelineSpec } from "../../lib/pipeline/types";
import { connectNodes, withLayout } from "./Studio";
import { polyfillReactFlow } from "./testSetup";

polyfillReactFlow();

const page = (items: unknown[]) => ({ items, total: items.length, limit: 500, offset: 0 });
const script = (name: string, params: Record<string, unknown>, outputs: Record<string, { type: string }>, extra: Record<string, unknown> = {}) => ({
  name,
  dag_id: `script__${name}`,
  kind: "script",
  title: name.replace("_", " "),
  description: "",
  owner: "data",
  tags: ["data"],
  runtime: "python",
  params_schema: { type: "object", properties: params, required: [] },
  outputs,
  timeout_seconds: 60,
  retries: 0,
  sensitive: false,
  stats: { runs: 0, succeeded: 0, failed: 0, success_rate: null },
  ...extra,
});
const SCRIPTS = [
  script("data_generator", { rows: { type: "integer", default: 10 } }, { path: { type: "string" }, rows: { type: "integer" }, columns: { type: "array" }, format: { type: "string" } }),
  script("csv_profiler", { path: { type: "string" }, top: { type: "integer", default: 5 }, ratio: { type: "number" }, flag: { type: "boolean" } }, { rows: { type: "integer" } }, { owner: "analytics", tags: ["report"] }),
];

const SPEC = {
  name: "gen_profile",
  title: "Generate and profile",
  nodes: {
    generate: { script: "data_generator", params: { rows: 5 } },
    profile: { script: "csv_profiler", params: { path: { from: "generate.path" } } },
  },
};
function detail(source: "database" | "repository", layout: Record<string, { x: number; y: number }> = {}) {
  return {
    name: "gen_profile",
    dag_id: "pipeline__gen_profile",
    kind: "pipeline",
    title: "Generate and profile",
    description: "",
    owner: "data",
    tags: [],
    node_count: 2,
    source,
    version: null,
    spec: SPEC,
    layout,
    params_schema: { type: "object", properties: { day: { type: "string" } }, required: [] },
    recent_runs: [],
  };
}

const USER = { pipelines: ["read", "create", "edit"], scripts: ["read"] };
const VIEWER = { pipelines: ["read"], scripts: ["read"] };
function me(permissions: Record<string, string[]>): Handler {
  return (c) => {
    if (!c.path.endsWith("/ylai/api/v1/me")) return undefined;
    const dags = Object.fromEntries(c.search.getAll("dag_id").map((d) => [d, { read: true, run: !!permissions.pipelines?.includes("create"), logs: true }]));
    return { body: { username: "ursula", roles: ["User"], permissions, dags } };
  };
}
const api =
  (problems: unknown[] = [], source: "database" | "repository" = "database"): Handler =>
  (c) => {
    if (c.path === "/ylai/api/v1/scripts") return { body: page(SCRIPTS) };
    if (c.path === "/ylai/api/v1/pipelines/validate") return { body: { valid: !problems.length, problems, params_schema: null } };
    if (c.method === "GET" && c.path === "/ylai/api/v1/pipelines/gen_profile") return { body: detail(source) };
    if (c.method === "GET" && c.path === "/ylai/api/v1/pipelines") return { body: page([{ ...detail(source), last_run_state: "success", last_run_at: "2026-12-01T00:00:00Z" }]) };
    if (c.method === "POST" && c.path === "/ylai/api/v1/pipelines") return { status: 201, body: { name: (c.body as { spec: PipelineSpec }).spec.name, dag_id: "pipeline__x", kind: "pipeline", current_version: 1, versions: [] } };
    if (c.method === "POST" && c.path === "/ylai/api/v1/pipelines/gen_profile/versions") return { status: 201, body: { name: "gen_profile", dag_id: "pipeline__gen_profile", kind: "pipeline", current_version: 2, versions: [] } };
    return undefined;
  };

const open = pageTests();
// The editor is lazy-loaded: import it (React Flow and all) once up front, not inside the first test.
beforeAll(async () => {
  await import("./Studio");
}, 60_000);
beforeEach(() => {
  vi.stubGlobal("EventSource", FakeEventSource);
});

const node = (root: ParentNode, id: string) => root.querySelector(`.react-flow__node[data-id="${id}"]`);
const nodeIds = (root: ParentNode) => [...root.querySelectorAll(".react-flow__node")].map((n) => n.getAttribute("data-id"));
const yamlOf = async (root: HTMLElement) => {
  click($(root, "studio-yaml-tab")!);
  await flush(2);
  const text = ($(root, "studio-yaml") as HTMLTextAreaElement).value;
  click($(root, "studio-canvas-tab")!);
  await flush(2);
  return text;
};
function drop(target: Element, scriptName: string) {
  const ev = new Event("drop", { bubbles: true, cancelable: true });
  Object.assign(ev, { clientX: 300, clientY: 200, dataTransfer: { getData: (t: string) => (t === "application/x-ylai-script" ? scriptName : ""), dropEffect: "move" } });
  act(() => {
    target.dispatchEvent(ev);
  });
}
function key(target: Element, k: string, opts: { shift?: boolean } = {}) {
  act(() => {
    target.dispatchEvent(new KeyboardEvent("keydown", { key: k, ctrlKey: true, shiftKey: !!opts.shift, bubbles: true }));
  });
}
function select(root: HTMLElement, id: string) {
  click(node(root, id)!);
}
const wait = (ms: number) => act(async () => void (await new Promise((r) => setTimeout(r, ms))));
const posts = (calls: Call[], path: string) => calls.filter((c) => c.method === "POST" && c.path === path);

describe("the pipeline list", { timeout: 30_000 }, () => {
  it("lists pipelines with their source, node count and last run, and searches", async () => {
    const { calls } = fakeServer(me(USER), api());
    const root = await open("/plugin/ylai-pipelines");
    await flush(6);
    expect($(root, "pipeline-gen_profile")?.textContent).toBe("Generate and profile");
    expect($(root, "source-gen_profile")?.textContent).toBe("Database");
    type($(root, "pipelines-search")!, "gen");
    await wait(300);
    await flush(4);
    expect(calls.some((c) => c.path === "/ylai/api/v1/pipelines" && c.search.get("q") === "gen")).toBe(true);
    expect(($(root, "pipeline-new") as HTMLAnchorElement).tagName).toBe("A");
  });
});

describe("the studio", { timeout: 30_000 }, () => {
  it("adds a node when a script is dropped from the palette, and undoes and redoes it", async () => {
    fakeServer(me(USER), api());
    const root = await open("/plugin/ylai-pipelines?new=1");
    await flush(10);
    expect($(root, "palette-item-data_generator")?.getAttribute("draggable")).toBe("true");
    drop($(root, "studio-canvas")!, "data_generator");
    await flush(4);
    expect(nodeIds(root)).toEqual(["data_generator"]);
    drop($(root, "studio-canvas")!, "data_generator");
    await flush(4);
    expect(nodeIds(root)).toEqual(["data_generator", "data_generator_2"]);
    expect(await yamlOf(root)).toContain("script: data_generator");

    click($(root, "studio-undo")!);
    await flush(3);
    expect(nodeIds(root)).toEqual(["data_generator"]);
    key($(root, "studio-canvas")!, "z");
    await flush(3);
    expect(nodeIds(root)).toEqual([]);
    key($(root, "studio-canvas")!, "z", { shift: true });
    await flush(3);
    expect(nodeIds(root)).toEqual(["data_generator"]);
    click($(root, "studio-redo")!);
    await flush(3);
    expect(nodeIds(root)).toEqual(["data_generator", "data_generator_2"]);
  });

  it("copies and pastes nodes with their bindings, and deletes the selection with the Delete key", async () => {
    fakeServer(me(USER), api());
    const root = await open("/plugin/ylai-pipelines?name=gen_profile");
    await flush(10);
    select(root, "generate");
    await flush(2);
    key($(root, "studio-canvas")!, "c");
    expect($(root, "studio-notice")?.textContent).toContain("1");
    key($(root, "studio-canvas")!, "v");
    await flush(4);
    expect(nodeIds(root)).toEqual(["generate", "profile", "generate_2"]);
    expect(await yamlOf(root)).toMatch(/generate_2:\n\s+script: data_generator\n\s+params:\n\s+rows: 5/);

    select(root, "generate_2"); // the pasted node is selected; select it again to be sure
    await flush(2);
    act(() => {
      document.body.dispatchEvent(new KeyboardEvent("keydown", { key: "Delete", code: "Delete", bubbles: true }));
    });
    await flush(4);
    expect(nodeIds(root)).toEqual(["generate", "profile"]);
  });

  it("filters the palette by name, tag and owner", async () => {
    fakeServer(me(USER), api());
    const root = await open("/plugin/ylai-pipelines?new=1");
    await flush(10);
    type($(root, "palette-search")!, "analytics");
    expect($(root, "palette-item-csv_profiler")).not.toBeNull();
    expect($(root, "palette-item-data_generator")).toBeNull();
    type($(root, "palette-search")!, "data");
    expect($(root, "palette-item-data_generator")).not.toBeNull();
  });

  it("connects nodes and refuses a connection that makes a cycle", async () => {
    fakeServer(me(USER), api());
    const root = await open("/plugin/ylai-pipelines?new=1");
    await flush(10);
    click($(root, "palette-add-data_generator")!);
    click($(root, "palette-add-csv_profiler")!);
    await flush(4);
    expect(root.querySelectorAll(".react-flow__edge").length).toBe(0);

    select(root, "csv_profiler");
    await flush(2);
    expect($(root, "inspector")?.getAttribute("data-node")).toBe("csv_profiler");
    click($(root, "inspector-after-data_generator")!);
    await flush(4);
    expect(root.querySelectorAll(".react-flow__edge").length).toBe(1);
    expect(await yamlOf(root)).toMatch(/csv_profiler:\n\s+script: csv_profiler\n\s+depends_on: \[data_generator\]/);

    // data_generator after csv_profiler would close the loop
    select(root, "data_generator");
    await flush(2);
    click($(root, "inspector-after-csv_profiler")!);
    await flush(3);
    expect($(root, "studio-notice")?.textContent).toContain("csv_profiler → data_generator");
    expect(root.querySelectorAll(".react-flow__edge").length).toBe(1);
    expect(($(root, "inspector-after-csv_profiler") as HTMLInputElement).checked).toBe(false);
  });

  it("offers only the upstream outputs whose type fits the param", async () => {
    fakeServer(me(USER), api());
    const root = await open("/plugin/ylai-pipelines?name=gen_profile");
    await flush(10);
    select(root, "profile");
    await flush(2);
    const options = (param: string) => [...root.querySelectorAll(`[data-testid="binding-${param}"] option`)].map((o) => (o as HTMLOptionElement).value);
    expect(options("path")).toEqual(["", "literal", "from:generate.path", "from:generate.format"]);
    expect(options("top")).toEqual(["", "literal", "from:generate.rows"]);
    expect(options("ratio")).toEqual(["", "literal", "from:generate.rows"]); // integer feeds number
    expect(options("flag")).toEqual(["", "literal"]);
    expect(($(root, "binding-path") as HTMLSelectElement).value).toBe("from:generate.path");

    // profile feeds nothing to generate: that would be a cycle
    select(root, "generate");
    await flush(2);
    expect([...root.querySelectorAll('[data-testid="binding-rows"] option')].map((o) => (o as HTMLOptionElement).value)).toEqual(["", "literal"]);

    // a literal uses the run form's field, with its checks
    select(root, "profile");
    await flush(2);
    type($(root, "binding-top")!, "literal");
    await flush(2);
    const field = root.querySelector('[data-testid="inspector-param-top"] [data-testid="field-top"]') as HTMLInputElement;
    expect(field.value).toBe("5");
    type(field, "7");
    await flush(2);
    expect(await yamlOf(root)).toContain("top: 7");
  });

  it("lays out a pipeline without a layout, shows validation problems on nodes and fields, and saves a version", async () => {
    const problems = [{ node: "profile", field: "params.path", reason: "no output 'file'" }];
    const { calls } = fakeServer(me(USER), api(problems));
    const root = await open("/plugin/ylai-pipelines?name=gen_profile");
    await flush(10);
    const yaml = await yamlOf(root);
    expect(yaml).toMatch(/layout:\n\s+generate: \{x: -?\d+, y: -?\d+\}/);
    await wait(450);
    await flush(4);
    expect(posts(calls, "/ylai/api/v1/pipelines/validate").length).toBeGreaterThan(0);
    expect($(root, "node-problem-profile")?.getAttribute("title")).toContain("no output 'file'");
    expect($(root, "node-problem-generate")).toBeNull();
    select(root, "profile");
    await flush(2);
    expect($(root, "inspector-problem-path")?.textContent).toBe("no output 'file'");

    expect(($(root, "studio-save") as HTMLButtonElement).disabled).toBe(true); // nothing changed
    type($(root, "inspector-retries")!, "3");
    await flush(2);
    type($(root, "studio-comment")!, "more retries");
    click($(root, "studio-save")!);
    await flush(4);
    const saved = posts(calls, "/ylai/api/v1/pipelines/gen_profile/versions")[0].body as { spec: PipelineSpec; comment: string };
    expect(saved.comment).toBe("more retries");
    expect(saved.spec.nodes.profile.retries).toBe(3);
    expect($(root, "studio-saved")?.textContent).toContain("2");
  });

  it("sets a node's resources (cpu, memory, queue) beside retries and timeout, and shows their problems", async () => {
    const problems = [
      { node: "generate", field: "resources.cpu", reason: "Input should be greater than or equal to 1" },
      { node: "generate", field: "resources.memory_mb", reason: "Input should be greater than or equal to 16" },
    ];
    const { calls } = fakeServer(me(USER), api(problems));
    const root = await open("/plugin/ylai-pipelines?name=gen_profile");
    await flush(10);
    select(root, "generate");
    await flush(2);
    const cpu = $(root, "inspector-cpu") as HTMLInputElement;
    expect(cpu.value).toBe("");
    expect(cpu.placeholder).toBe("script's value");
    type(cpu, "0");
    type($(root, "inspector-memory")!, "8");
    type($(root, "inspector-queue")!, "heavy");
    await flush(2);
    await wait(450);
    await flush(4);
    const last = () => posts(calls, "/ylai/api/v1/pipelines/validate").at(-1)!.body as { spec: PipelineSpec };
    expect(last().spec.nodes.generate.resources).toEqual({ cpu: 0, memory_mb: 8, queue: "heavy" });
    expect($(root, "inspector-problem-resources-cpu")?.textContent).toBe("Input should be greater than or equal to 1");
    expect($(root, "inspector-problem-resources-memory_mb")?.textContent).toBe("Input should be greater than or equal to 16");
    expect(await yamlOf(root)).toContain("    resources:\n      cpu: 0\n      memory_mb: 8\n      queue: heavy\n");

    // Emptying a field gives it back to the script; emptying all of them drops `resources`.
    select(root, "generate");
    await flush(2);
    type($(root, "inspector-cpu")!, "2");
    type($(root, "inspector-memory")!, "");
    await flush(2);
    await wait(450);
    await flush(4);
    expect(last().spec.nodes.generate.resources).toEqual({ cpu: 2, queue: "heavy" });
    type($(root, "inspector-cpu")!, "");
    type($(root, "inspector-queue")!, "");
    await flush(2);
    await wait(450);
    await flush(4);
    expect(last().spec.nodes.generate).not.toHaveProperty("resources");
    expect(last().spec.nodes.profile).not.toHaveProperty("resources");
  });

  it("keeps the YAML tab and the canvas in step, and shows a YAML error with its line", async () => {
    fakeServer(me(USER), api());
    const root = await open("/plugin/ylai-pipelines?name=gen_profile");
    await flush(10);
    click($(root, "studio-yaml-tab")!);
    await flush(2);
    const area = $(root, "studio-yaml") as HTMLTextAreaElement;
    type(area, area.value.replace("  profile:", "  report:").replace(/layout:[\s\S]*$/, ""));
    await flush(2);
    type(area, "name: x\nnodes:\n  a: {script: s}\n  a: {script: t}\n");
    await flush(2);
    expect($(root, "studio-yaml-error")?.textContent).toMatch(/^Line 4: Map keys must be unique/);
    click($(root, "studio-canvas-tab")!);
    await flush(4);
    expect(nodeIds(root)).toEqual(["generate", "report"]);
  });

  it("creates a new pipeline with POST /pipelines", async () => {
    const { calls } = fakeServer(me(USER), api());
    const root = await open("/plugin/ylai-pipelines?new=1");
    await flush(10);
    click($(root, "palette-add-data_generator")!);
    await flush(2);
    expect(($(root, "studio-save") as HTMLButtonElement).title).toBe("Give the pipeline a name first.");
    type($(root, "studio-name")!, "fre");
    click($(root, "studio-settings-tab")!);
    await flush(2);
    type($(root, "settings-name")!, "fresh");
    click($(root, "studio-save")!);
    await flush(6);
    const body = posts(calls, "/ylai/api/v1/pipelines")[0].body as { spec: PipelineSpec };
    expect(body.spec.name).toBe("fresh");
    expect(Object.keys(body.spec.nodes)).toEqual(["data_generator"]);
    expect(window.location.search).toBe("?name=fresh");
  });

  it("is read-only for a Viewer, with the reason, and does not validate", async () => {
    const { calls } = fakeServer(me(VIEWER), api());
    const root = await open("/plugin/ylai-pipelines?name=gen_profile");
    await flush(10);
    await wait(450);
    expect($(root, "studio-page")?.getAttribute("data-readonly")).toBe("true");
    expect($(root, "studio-readonly")?.textContent).toContain("may not change pipelines");
    const save = $(root, "studio-save") as HTMLButtonElement;
    expect(save.disabled).toBe(true);
    expect(save.title).toContain("may not change pipelines");
    expect(($(root, "palette-add-data_generator") as HTMLButtonElement).disabled).toBe(true);
    expect($(root, "palette-item-data_generator")?.getAttribute("draggable")).toBe("false");
    expect(($(root, "studio-run") as HTMLButtonElement).disabled).toBe(true);
    drop($(root, "studio-canvas")!, "data_generator");
    await flush(2);
    expect(nodeIds(root)).toEqual(["generate", "profile"]);
    select(root, "profile");
    await flush(2);
    expect(($(root, "binding-path") as HTMLSelectElement).disabled).toBe(true);
    expect(posts(calls, "/ylai/api/v1/pipelines/validate")).toEqual([]);
  });

  it("edits the settings: params with types feed nodes, alerts as JSON, problems next to fields", async () => {
    const problems = [{ node: null, field: "schedule", reason: "not a cron expression" }];
    const { calls } = fakeServer(me(USER), api(problems));
    const root = await open("/plugin/ylai-pipelines?name=gen_profile");
    await flush(10);
    click($(root, "studio-settings-tab")!);
    await wait(450);
    await flush(4);
    expect($(root, "settings-problem-schedule")?.textContent).toBe("not a cron expression");
    expect(($(root, "settings-name") as HTMLInputElement).disabled).toBe(true); // an existing pipeline keeps its name
    type($(root, "settings-title")!, "Nightly");
    type($(root, "settings-schedule")!, "@daily");
    type($(root, "settings-tags")!, "data, nightly");
    type($(root, "settings-new-param")!, "limit");
    click($(root, "settings-add-param")!);
    await flush(2);
    type($(root, "settings-param-type-limit")!, "integer");
    type($(root, "settings-param-default-limit")!, "10");
    type($(root, "settings-alerts")!, "{not json");
    expect($(root, "settings-problem-alerts")?.textContent).toBe("Not valid JSON");
    type($(root, "settings-alerts")!, '{"on_failure": ["slack:#data"]}');
    expect($(root, "settings-problem-alerts")).toBeNull();

    // the new integer param is offered to integer params only
    click($(root, "studio-canvas-tab")!);
    await flush(3);
    select(root, "profile");
    await flush(2);
    const values = (param: string) => [...root.querySelectorAll(`[data-testid="binding-${param}"] option`)].map((o) => (o as HTMLOptionElement).value);
    expect(values("top")).toContain("param:limit");
    expect(values("path")).not.toContain("param:limit");
    type($(root, "binding-top")!, "param:limit");
    type($(root, "inspector-timeout")!, "90s");
    type($(root, "inspector-id")!, "report");
    act(() => {
      ($(root, "inspector-id") as HTMLInputElement).dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
    });
    await flush(3);
    expect(nodeIds(root)).toEqual(["generate", "report"]);
    await wait(450);
    await flush(3);
    const last = posts(calls, "/ylai/api/v1/pipelines/validate").at(-1)!.body as { spec: PipelineSpec };
    expect(last.spec).toMatchObject({
      title: "Nightly",
      schedule: "@daily",
      tags: ["data", "nightly"],
      params: { limit: { type: "integer", default: 10 } },
      alerts: { on_failure: ["slack:#data"] },
      nodes: { report: { params: { top: { param: "limit" } }, timeout: "90s" } },
    });
  });

  it("lists a database pipeline's versions and restores one", async () => {
    const version = (v: number, comment: string) => ({ version: v, comment, created_by: "ursula", created_at: "2026-12-01T00:00:00Z" });
    const { calls } = fakeServer(me(USER), api(), (c) => {
      if (c.method === "GET" && c.path === "/ylai/api/v1/pipelines/gen_profile/versions")
        return { body: { name: "gen_profile", dag_id: "pipeline__gen_profile", kind: "pipeline", current_version: 2, versions: [version(1, "first"), version(2, "second")] } };
      if (c.method === "POST" && c.path === "/ylai/api/v1/pipelines/gen_profile/versions/1/restore")
        return { status: 201, body: { name: "gen_profile", dag_id: "pipeline__gen_profile", kind: "pipeline", current_version: 3, versions: [] } };
      return undefined;
    });
    const root = await open("/plugin/ylai-pipelines?name=gen_profile");
    await flush(10);
    click($(root, "studio-settings-tab")!);
    await flush(4);
    expect($(root, "version-2")?.textContent).toContain("current");
    expect($(root, "restore-2")).toBeNull();
    expect(($(root, "studio-delete") as HTMLButtonElement).disabled).toBe(true); // no "delete" permission
    click($(root, "restore-1")!);
    await flush(6);
    expect(posts(calls, "/ylai/api/v1/pipelines/gen_profile/versions/1/restore")[0].body).toEqual({ comment: "restored from version 1" });
    expect(window.location.search).toBe("?name=gen_profile&v=3");
  });

  it("opens a repository pipeline read-only with Save as a copy", async () => {
    const { calls } = fakeServer(me(USER), api([], "repository"));
    const root = await open("/plugin/ylai-pipelines?name=gen_profile");
    await flush(10);
    expect($(root, "studio-readonly")?.textContent).toContain("repository");
    expect($(root, "studio-save")).toBeNull();
    expect(($(root, "studio-download") as HTMLAnchorElement).href).toMatch(/\/ylai\/api\/v1\/pipelines\/gen_profile\/yaml$/);
    click($(root, "studio-save-copy")!);
    await flush(6);
    expect((posts(calls, "/ylai/api/v1/pipelines")[0].body as { spec: PipelineSpec }).spec.name).toBe("gen_profile_copy");
  });

  it("runs the pipeline and colours the nodes by state", async () => {
    let state = "running";
    const { calls } = fakeServer(me(USER), api(), (c) => {
      if (c.method === "POST" && c.path === "/ylai/api/v1/pipelines/gen_profile/run") return { body: { run_id: "manual__1", dag_id: "pipeline__gen_profile" } };
      if (c.path === "/api/v2/dags/pipeline__gen_profile/dagRuns/manual__1") return { body: { dag_run_id: "manual__1", dag_id: "pipeline__gen_profile", state } };
      if (c.path === "/api/v2/dags/pipeline__gen_profile/dagRuns/manual__1/taskInstances")
        return {
          body: {
            task_instances: [
              { task_id: "generate", state: "success", duration: 2.5 },
              { task_id: "profile", state: state === "running" ? "running" : "success", duration: null },
            ],
            total_entries: 2,
          },
        };
      return undefined;
    });
    const root = await open("/plugin/ylai-pipelines?name=gen_profile");
    await flush(10);
    click($(root, "studio-run")!);
    await flush(2);
    type($(root, "studio-run-note")!, "from the studio");
    click($(root, "studio-run-start")!);
    await flush(6);
    expect(posts(calls, "/ylai/api/v1/pipelines/gen_profile/run")[0].body).toEqual({ params: {}, note: "from the studio" });
    expect($(root, "studio-node-generate")?.getAttribute("data-state")).toBe("success");
    expect($(root, "studio-node-profile")?.getAttribute("data-state")).toBe("running");
    state = "success";
    await wait(2100);
    await flush(4);
    expect($(root, "studio-node-profile")?.getAttribute("data-state")).toBe("success");
    expect($(root, "studio-run-state")?.getAttribute("data-state")).toBe("success");
    select(root, "generate");
    await flush(3);
    expect($(root, "studio-run-node")).not.toBeNull();
    expect(FakeEventSource.last?.url).toContain("/ylai/api/v1/runs/pipeline__gen_profile/manual__1/logs/stream");
    FakeEventSource.last!.emit("log", { task_id: "generate", event: "rows written" });
    FakeEventSource.last!.emit("log", { task_id: "profile", event: "profiling" });
    expect($(root, "log-lines")?.textContent).toContain("rows written");
    expect($(root, "log-lines")?.textContent).not.toContain("profiling"); // the clicked node's lines only
  });

  it("says a started run waits for approval, and by whom", async () => {
    const approval = { id: "6f1c0c1e-7a53-4d0e-9f6b-1d2e3f4a5b6c", state: "pending", approvers: ["Approver", "bob"] };
    fakeServer(me(USER), api(), (c) => {
      if (c.method === "POST" && c.path === "/ylai/api/v1/pipelines/gen_profile/run") return { body: { run_id: "manual__2", dag_id: "pipeline__gen_profile" } };
      if (c.path === "/ylai/api/v1/runs/pipeline__gen_profile/manual__2") return { body: { run_id: "manual__2", dag_id: "pipeline__gen_profile", state: "running", approval } };
      if (c.path === "/api/v2/dags/pipeline__gen_profile/dagRuns/manual__2") return { body: { dag_run_id: "manual__2", dag_id: "pipeline__gen_profile", state: "running" } };
      return undefined;
    });
    const root = await open("/plugin/ylai-pipelines?name=gen_profile");
    await flush(10);
    expect($(root, "run-approval")).toBeNull();
    click($(root, "studio-run")!);
    await flush(2);
    click($(root, "studio-run-start")!);
    await flush(8);
    expect($(root, "run-approval")?.textContent).toBe("Waiting for approval by Approver, bob. Open in Approvals");
    expect($(root, "run-approval-link")?.getAttribute("href")).toMatch(/\/plugin\/ylai-approvals\?id=6f1c0c1e-7a53-4d0e-9f6b-1d2e3f4a5b6c$/);
  });
});

describe("the studio's helpers", () => {
  const spec = (): PipelineSpec => ({ name: "p", nodes: { a: { script: "s", params: {} }, b: { script: "s", params: { x: { from: "a.out" } } } } });

  it("connects once, lays out only what has no place", () => {
    expect(connectNodes(spec(), "a", "b")).toEqual(spec());
    expect(connectNodes(spec(), "b", "a").nodes.a.depends_on).toEqual(["b"]);
    const laid = withLayout(spec());
    expect(Object.keys(laid.layout!)).toEqual(["a", "b"]);
    expect(laid.layout!.a.x).toBeLessThan(laid.layout!.b.x);
  });
});

describe("the studio in Chinese", { timeout: 30_000 }, () => {
  it("labels React Flow's own controls and minimap in Chinese", async () => {
    localStorage.setItem("i18nextLng", "zh-CN");
    try {
      fakeServer(me(USER), api());
      const root = await open("/plugin/ylai-pipelines?name=gen_profile");
      await flush(10);
      const labels = [...root.querySelectorAll(".react-flow__controls button, .react-flow__minimap")].map(
        (el) => el.getAttribute("aria-label") ?? el.getAttribute("title"),
      );
      expect(labels).toContain("放大");
      expect(labels).toContain("适应视图");
      expect(labels.filter((l) => l && /^[A-Za-z ]+$/.test(l))).toEqual([]);
    } finally {
      localStorage.removeItem("i18nextLng");
    }
  });
});
