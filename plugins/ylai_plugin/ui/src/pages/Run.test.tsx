import { beforeEach, describe, expect, it, vi } from "vitest";
import { profilerScript } from "../test/fixtures";
import { pageTests } from "../test/app";
import { $, click, flush, type } from "../test/render";
import { FakeEventSource } from "../test/eventSource";
import { fakeServer, type Call, type Handler } from "../test/server";
import { fieldErrors } from "./Run";

/** GET /me: the role's permissions and, for the DAGs asked about, run rights unless ``noRun``. */
function me(permissions: Record<string, string[]>, noRun = false): Handler {
  return (c) => {
    if (!c.path.endsWith("/ylai/api/v1/me")) return undefined;
    const dags = Object.fromEntries(c.search.getAll("dag_id").map((d) => [d, { read: true, run: !noRun, logs: true }]));
    return { body: { username: "ursula", roles: ["User", "Op"], permissions, dags } };
  };
}
const USER = { presets: ["read", "create", "edit", "delete"] };

const SCHEMA = {
  type: "object",
  required: ["path"],
  properties: {
    path: { type: "string" },
    top: { type: "integer", default: 5, minimum: 1 },
    token: { type: ["string", "null"], "x-ylai-secret": true, default: null },
  },
};
const profiler = profilerScript(SCHEMA);
const page = (items: unknown[]) => ({ items, total: items.length, limit: 200, offset: 0 });
const preset = (id: number, name: string, params: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  id,
  name,
  dag_id: "script__csv_profiler",
  description: "",
  params,
  visibility: "private",
  shared_with_role: null,
  owner: "ursula",
  editable: true,
  created_at: "2026-11-20T00:00:00Z",
  updated_at: "2026-11-20T00:00:00Z",
  ...extra,
});
const previousRuns = [
  { dag_run_id: "manual__old", run_after: "2026-11-26T10:00:00Z", state: "success", triggering_user_name: "olga", conf: { path: "/data/old.csv", top: 2, token: "***" } },
  { dag_run_id: "scheduled__x", run_after: "2026-11-25T10:00:00Z", state: "success", triggering_user_name: null, conf: {} },
];

const targets: Handler = (c) => {
  if (c.path === "/ylai/api/v1/scripts") return { body: page([profiler]) };
  if (c.path === "/api/v2/dags") return { body: { dags: [{ dag_id: "pipeline__nightly_etl" }, { dag_id: "legacy_export", dag_display_name: "Legacy export" }], total_entries: 2 } };
  if (c.path === "/api/v2/dags/legacy_export/details") return { body: { dag_id: "legacy_export", description: "Old export", params: { day: { value: "2026-11-27", schema: { type: "string" }, description: null } } } };
  return undefined;
};
const presets =
  (...items: unknown[]): Handler =>
  (c) =>
    c.method === "GET" && c.path === "/ylai/api/v1/presets" ? { body: page(items) } : undefined;
const runs: Handler = (c) => (c.method === "GET" && /^\/api\/v2\/dags\/[^/]+\/dagRuns$/.test(c.path) ? { body: { dag_runs: c.path.includes("csv_profiler") ? previousRuns : [], total_entries: 2 } } : undefined);
const sent = (calls: Call[], path: string) => calls.filter((c) => c.method === "POST" && c.path === path).map((c) => c.body);

const open = pageTests();
beforeEach(() => {
  vi.stubGlobal("EventSource", FakeEventSource);
});

const text = (el: ParentNode, testId: string) => $(el, testId)?.textContent ?? "";
const options = (el: ParentNode, testId: string) => [...el.querySelectorAll(`[data-testid="${testId}"] option`)].map((o) => o.textContent);

describe("fieldErrors", () => {
  it("keys the server's problems by param name, whatever the prefix, and keeps the rest", () => {
    const { fields, rest } = fieldErrors(
      [
        { field: "body.params.top", reason: "too big" },
        { field: "params.path", reason: "required" },
        { field: "token", reason: "bad" },
        { field: "body.logical_date", reason: "not a date" },
      ],
      ["top", "path", "token"],
    );
    expect(fields).toEqual({ top: "too big", path: "required", token: "bad" });
    expect(rest).toEqual([{ field: "body.logical_date", reason: "not a date" }]);
  });
});

describe("Run page", () => {
  it("offers scripts, pipelines and other DAGs, and asks to choose first", async () => {
    fakeServer(me(USER), targets);
    const el = await open("/plugin/ylai-run");
    expect(options(el, "target-select")).toEqual(["Choose…", "CSV profiler (csv_profiler)", "nightly_etl", "Legacy export"]);
    expect([...el.querySelectorAll('[data-testid="target-select"] optgroup')].map((g) => g.getAttribute("label"))).toEqual(["Scripts", "Pipelines", "Other DAGs"]);
    expect(el.textContent).toContain("Choose what to run first.");
    expect(el.textContent).toContain("Start a run to follow its tasks and logs here.");
  });

  it("runs a script with its params, follows the run and shows its outputs", async () => {
    const server = fakeServer(
      me(USER),
      targets,
      presets(),
      runs,
      (c) => (c.method === "POST" && c.path === "/ylai/api/v1/scripts/csv_profiler/run" ? { status: 201, body: { dag_id: "script__csv_profiler", run_id: "manual__new", state: "queued" } } : undefined),
      (c) => (c.path.endsWith("/taskInstances/~/xcomEntries") ? { body: { xcom_entries: [{ key: "return_value", task_id: "csv_profiler", map_index: -1 }], total_entries: 1 } } : undefined),
      (c) => (c.path.endsWith("/taskInstances/csv_profiler/xcomEntries/return_value") ? { body: { key: "return_value", value: { exit_code: 0, outputs: { rows: 42, file: "/tmp/report.csv" } } } } : undefined),
    );
    const el = await open("/plugin/ylai-run?dag_id=script__csv_profiler");
    expect(el.textContent).toContain("Profiles a CSV file");
    click($(el, "run-button")!);
    await flush();
    expect(text(el, "form-invalid")).toBe("Fix the highlighted fields first.");
    expect(text(el, "error-path")).toBe("Required");
    type($(el, "field-path")!, "/data/x.csv");
    type($(el, "field-top")!, "3");
    expect(JSON.parse(text(el, "conf-preview"))).toEqual({ path: "/data/x.csv", top: 3 });
    click($(el, "run-button")!);
    await flush(8);
    expect(sent(server.calls, "/ylai/api/v1/scripts/csv_profiler/run")).toEqual([{ params: { path: "/data/x.csv", top: 3 } }]);
    expect(text(el, "followed-run")).toBe("manual__new");
    const es = FakeEventSource.last!;
    expect(es.url).toContain("/runs/script__csv_profiler/manual__new/logs/stream");
    es.emit("end", { state: "success" });
    await flush(8);
    expect(text(el, "run-result")).toContain("success");
    const outputs = [...el.querySelectorAll('[data-testid="output-csv_profiler"] tr')].map((tr) => tr.textContent);
    expect(outputs).toEqual(["rows42", "file/tmp/report.csv"]);
  });

  it("starts any other DAG through Airflow's API and puts Airflow's param error next to the param", async () => {
    let attempt = 0;
    const server = fakeServer(me(USER), targets, presets(), runs, (c) => {
      if (c.method !== "POST" || c.path !== "/api/v2/dags/legacy_export/dagRuns") return undefined;
      attempt += 1;
      return attempt === 1 ? { status: 400, body: { detail: "Invalid input for param day: '28.11.' is not a 'date'\n\nmore" } } : { body: { dag_run_id: "manual__legacy", dag_id: "legacy_export" } };
    });
    const el = await open("/plugin/ylai-run");
    type($(el, "target-select")!, "legacy_export");
    await flush(8);
    expect(el.textContent).toContain("Old export");
    type($(el, "field-day")!, "28.11.");
    click($(el, "run-button")!);
    await flush(8);
    expect(text(el, "error-day")).toBe("'28.11.' is not a 'date'");
    expect($(el, "run-error")).toBeNull();
    type($(el, "field-day")!, "2026-11-28");
    click($(el, "run-button")!);
    await flush(8);
    expect(sent(server.calls, "/api/v2/dags/legacy_export/dagRuns")).toEqual([
      { logical_date: null, conf: { day: "28.11." } },
      { logical_date: null, conf: { day: "2026-11-28" } },
    ]);
    expect(text(el, "followed-run")).toBe("manual__legacy");
    // The run ends without outputs: said so.
    fakeServer((c) => (c.path.endsWith("/xcomEntries") ? { body: { xcom_entries: [], total_entries: 0 } } : undefined));
    FakeEventSource.last!.emit("end", { state: "failed" });
    await flush(8);
    expect(text(el, "run-result")).toContain("This run returned no outputs.");
  });

  it("shows a refusal that names no param as one error", async () => {
    fakeServer(me(USER), targets, presets(), runs, (c) => (c.method === "POST" && c.path.endsWith("/run") ? { status: 409, body: { error: { code: "conflict", message: "The DAG is paused" } } } : undefined));
    const el = await open("/plugin/ylai-run?dag_id=script__csv_profiler");
    type($(el, "field-path")!, "/x");
    click($(el, "run-button")!);
    await flush(8);
    expect(text(el, "run-error")).toContain("The DAG is paused");
    expect($(el, "follow")).toBeNull();
  });

  it("says why a run was refused with 429 and when to try again (a full queue, the rate limit)", async () => {
    let answer: { status: number; body: unknown; headers: Record<string, string> } = {
      status: 429,
      body: { error: { code: "queue_full", message: "Queue 'default' is full: 5 task instances are waiting and its limit is 5; retry in 30 s", details: { queue: "default", depth: 5, limit: 5, retry_after: 30 } } },
      headers: { "Retry-After": "30" },
    };
    fakeServer(me(USER), targets, presets(), runs, (c) => (c.method === "POST" && c.path.endsWith("/run") ? answer : undefined));
    const el = await open("/plugin/ylai-run?dag_id=script__csv_profiler");
    type($(el, "field-path")!, "/x");
    click($(el, "run-button")!);
    await flush(8);
    expect($(el, "run-error")).toBeNull();
    expect($(el, "busy-note")?.getAttribute("data-code")).toBe("queue_full");
    expect(text(el, "busy-note")).toContain("The queue is full: the run was not started.");
    expect(text(el, "busy-reason")).toBe("Queue 'default' is full: 5 task instances are waiting and its limit is 5; retry in 30 s");
    expect(text(el, "busy-retry")).toMatch(/^Try again in 30 s \(at .+\)\.$/);
    expect(text(el, "busy-note")).toContain("Nothing was lost");
    expect($(el, "follow")).toBeNull();

    answer = { status: 429, body: { error: { code: "rate_limited", message: "Too many requests; retry in 2 s", details: { retry_after: 2 } } }, headers: { "Retry-After": "2" } };
    click($(el, "run-button")!);
    await flush(8);
    expect(text(el, "busy-note")).toContain("Too many requests: the run was not started.");
    expect(text(el, "busy-retry")).toMatch(/^Try again in 2 s/);
  });

  it("keeps a DAG named in the link even when the lists leave it out, and follows the run it names", async () => {
    fakeServer(me(USER), targets, presets(), runs, (c) => (c.path === "/api/v2/dags/hidden_dag/details" ? { body: { dag_id: "hidden_dag", params: {} } } : undefined));
    const el = await open("/plugin/ylai-run?dag_id=hidden_dag&run_id=manual__7");
    expect(($(el, "target-select") as HTMLSelectElement).value).toBe("hidden_dag");
    expect(options(el, "target-select")).toContain("hidden_dag");
    expect(text(el, "no-params")).toBe("This has no parameters.");
    expect(text(el, "followed-run")).toBe("manual__7");
  });

  it("says a followed run waits for approval, and by whom, with a link to it", async () => {
    const approval = { id: "6f1c0c1e-7a53-4d0e-9f6b-1d2e3f4a5b6c", state: "pending", approvers: ["Approver"] };
    fakeServer(me(USER), targets, presets(), runs, (c) => (c.path === "/ylai/api/v1/runs/script__csv_profiler/manual__9" ? { body: { dag_id: "script__csv_profiler", run_id: "manual__9", state: "running", approval } } : undefined));
    const el = await open("/plugin/ylai-run?dag_id=script__csv_profiler&run_id=manual__9");
    expect(text(el, "run-approval")).toBe("Waiting for approval by Approver. Open in Approvals");
    expect($(el, "run-approval-link")?.getAttribute("href")).toMatch(/\/plugin\/ylai-approvals\?id=6f1c0c1e-7a53-4d0e-9f6b-1d2e3f4a5b6c$/);
  });

  it("disables the run button for a role that may not run the DAG, and says why", async () => {
    fakeServer(me({}, true), targets, presets(), runs);
    const el = await open("/plugin/ylai-run?dag_id=script__csv_profiler");
    expect(($(el, "run-button") as HTMLButtonElement).disabled).toBe(true);
    expect(text(el, "run-permission")).toBe("Your role may not start runs.");
    expect(($(el, "preset-save") as HTMLButtonElement).disabled).toBe(true);
    expect(text(el, "preset-permission")).toBe("Your role may not save presets.");
  });

  it("shows why Airflow could not give a DAG's params", async () => {
    fakeServer(me(USER), targets, presets(), runs, (c) => (c.path === "/api/v2/dags/broken/details" ? { status: 404, body: { detail: "The Dag with ID: `broken` was not found" } } : undefined));
    const el = await open("/plugin/ylai-run?dag_id=broken");
    expect(text(el, "params-card")).toContain("The Dag with ID: `broken` was not found");
  });
});

describe("presets and earlier runs on the Run page", () => {
  it("fills the form from a preset or an earlier run, leaving secrets to be entered again", async () => {
    fakeServer(me(USER), targets, presets(preset(1, "big files", { path: "/data/big.csv", top: 50 }), preset(2, "team", { path: "/data/t.csv" }, { visibility: "shared", shared_with_role: "Op", owner: "olga" })), runs);
    const el = await open("/plugin/ylai-run?dag_id=script__csv_profiler");
    expect(options(el, "preset-select")).toEqual(["Choose one of 2 presets…", "big files · Private", "team · Shared with Op · olga"]);
    // Only runs that had params can be copied from.
    expect(options(el, "previous-run-select")).toHaveLength(2);
    type($(el, "preset-select")!, "1");
    await flush();
    expect(text(el, "fill-notice")).toBe("Parameters loaded from preset “big files”.");
    expect(JSON.parse(text(el, "conf-preview"))).toEqual({ path: "/data/big.csv", top: 50 });
    type($(el, "previous-run-select")!, "manual__old");
    await flush();
    expect(text(el, "fill-notice")).toBe("Parameters loaded from run manual__old; secret values are hidden, enter them again: token.");
    expect(JSON.parse(text(el, "conf-preview"))).toEqual({ path: "/data/old.csv", top: 2 });
  });

  it("names the preset a run's params came from (usage statistics count presets used)", async () => {
    const server = fakeServer(
      me(USER),
      targets,
      presets(preset(7, "big files", { path: "/data/big.csv", top: 50 })),
      runs,
      (c) => (c.method === "POST" && c.path === "/ylai/api/v1/scripts/csv_profiler/run" ? { status: 201, body: { dag_id: "script__csv_profiler", run_id: "manual__p", state: "queued" } } : undefined),
    );
    const el = await open("/plugin/ylai-run?dag_id=script__csv_profiler");
    type($(el, "preset-select")!, "7");
    await flush();
    click($(el, "run-button")!);
    await flush(8);
    expect(sent(server.calls, "/ylai/api/v1/scripts/csv_profiler/run")).toEqual([{ params: { path: "/data/big.csv", top: 50 }, preset_id: 7 }]);
    // values copied from an earlier run: no preset
    type($(el, "previous-run-select")!, "manual__old");
    await flush();
    type($(el, "field-token")!, "t");
    click($(el, "run-button")!);
    await flush(8);
    expect(sent(server.calls, "/ylai/api/v1/scripts/csv_profiler/run").at(-1)).not.toHaveProperty("preset_id");
  });

  it("saves the form as a preset, shared with a role, and lists it", async () => {
    let saved: unknown[] = [];
    const server = fakeServer(
      me(USER),
      targets,
      (c) => (c.method === "GET" && c.path === "/ylai/api/v1/presets" ? { body: page(saved) } : undefined),
      runs,
      (c) => {
        if (c.method !== "POST" || c.path !== "/ylai/api/v1/presets") return undefined;
        const body = c.body as { name: string; params: Record<string, unknown> };
        if (body.name === "taken") return { status: 409, body: { error: { code: "conflict", message: "exists", details: [{ field: "body.name", reason: "You already have a preset named taken" }] } } };
        saved = [preset(3, body.name, body.params)];
        return { status: 201, body: saved[0] };
      },
    );
    const el = await open("/plugin/ylai-run?dag_id=script__csv_profiler");
    expect(el.textContent).toContain("Secret values are stored with the preset but never shown again.");
    expect(options(el, "preset-share")).toEqual(["Private", "Shared with User", "Shared with Op"]);
    click($(el, "preset-save")!);
    await flush();
    expect(text(el, "preset-name-error")).toBe("Required");
    type($(el, "field-path")!, "/data/mine.csv");
    type($(el, "preset-name")!, "taken");
    click($(el, "preset-save")!);
    await flush(8);
    expect(text(el, "preset-name-error")).toBe("You already have a preset named taken");
    type($(el, "preset-name")!, " mine ");
    type($(el, "preset-share")!, "Op");
    click($(el, "preset-save")!);
    await flush(8);
    expect(sent(server.calls, "/ylai/api/v1/presets").at(-1)).toEqual({ name: "mine", dag_id: "script__csv_profiler", params: { path: "/data/mine.csv" }, shared_with_role: "Op" });
    expect(el.textContent).toContain("Preset “mine” saved.");
    expect(($(el, "preset-name") as HTMLInputElement).value).toBe("");
    expect(options(el, "preset-select")).toEqual(["Choose one of 1 presets…", "mine · Private"]);
  });
});
