import { act } from "react";
import { describe, expect, it, vi } from "vitest";
import { profilerScript } from "../test/fixtures";
import { pageTests } from "../test/app";
import { $, click, flush, type } from "../test/render";
import { FakeEventSource } from "../test/eventSource";
import { fakeServer, type Call, type Handler } from "../test/server";
import type { RunOut, Task } from "../api/models";
import { TASK_NAME } from "./Tasks";

const ALL_TASK_RIGHTS = { tasks: ["read", "create", "edit", "delete"], presets: ["read"] };
const VIEWER = { tasks: ["read"] };

/** GET /me: the role's permissions, and run rights on every DAG asked about unless ``noRun``. */
function me(permissions: Record<string, string[]>, noRun = false): Handler {
  return (c) => {
    if (!c.path.endsWith("/ylai/api/v1/me")) return undefined;
    const dags = Object.fromEntries(c.search.getAll("dag_id").map((d) => [d, { read: true, run: !noRun, logs: true }]));
    return { body: { username: "ursula", roles: ["User"], permissions, dags } };
  };
}

const SCHEMA = {
  type: "object",
  properties: {
    path: { type: "string", description: "CSV file" },
    top: { type: "integer", default: 5, minimum: 1 },
    token: { type: "string", "x-ylai-secret": true },
  },
  required: ["path"],
};

const profiler = profilerScript(SCHEMA);

const lastRun: RunOut = {
  dag_id: "script__csv_profiler",
  run_id: "manual__2026-11-27",
  state: "success",
  start_date: "2026-11-27T06:00:00Z",
  duration_seconds: 12,
  triggered_by: "ursula",
  result: { outputs: { rows: 42 } },
  script_version: "4",
} as RunOut;

const task = (extra: Partial<Task> = {}): Task => ({
  id: 7,
  name: "Nightly profile",
  description: "Profile last night's export",
  kind: "script",
  dag_id: "script__csv_profiler",
  schedule: "0 6 * * *",
  params: { path: "/data/x.csv", top: 3, token: "***" },
  created_by: "ursula",
  created_at: "2026-11-20T00:00:00Z",
  updated_at: "2026-11-21T00:00:00Z",
  last_run: lastRun,
  ...extra,
});

const page = (items: unknown[]) => ({ items, total: items.length, limit: 200, offset: 0 });
const targets: Handler = (c) => {
  if (c.path === "/ylai/api/v1/scripts") return { body: page([profiler]) };
  if (c.path === "/api/v2/dags") return { body: { dags: [{ dag_id: "pipeline__nightly_etl" }, { dag_id: "legacy_export", dag_display_name: "Legacy export" }, { dag_id: "task__7" }], total_entries: 3 } };
  if (c.path === "/api/v2/dags/legacy_export/details") return { body: { dag_id: "legacy_export", description: "Old export", params: { day: { value: "2026-11-27", schema: { type: "string" }, description: null } } } };
  if (c.path === "/api/v2/dags/pipeline__nightly_etl/details") return { body: { dag_id: "pipeline__nightly_etl", params: {} } };
  return undefined;
};
const tasks =
  (...items: Task[]): Handler =>
  (c) => {
    if (c.method === "GET" && c.path === "/ylai/api/v1/tasks") return { body: page(items) };
    const m = /^\/ylai\/api\/v1\/tasks\/(\d+)(\/runs)?$/.exec(c.path);
    const found = m && items.find((x) => x.id === Number(m[1]));
    if (c.method === "GET" && found) return { body: m[2] ? page(found.last_run ? [found.last_run] : []) : found };
    return undefined;
  };
const posted = (calls: Call[], method = "POST") => calls.filter((c) => c.method === method && c.path.startsWith("/ylai/api/v1/tasks"));

const open = pageTests();

const text = (el: ParentNode, testId: string) => $(el, testId)?.textContent ?? "";
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

describe("task names", () => {
  it("accepts letters, digits, spaces and _ . - after a letter or digit, up to 128", () => {
    expect(TASK_NAME.test("Nightly profile_2.csv-x")).toBe(true);
    expect(TASK_NAME.test(" leading space")).toBe(false);
    expect(TASK_NAME.test("-dash")).toBe(false);
    expect(TASK_NAME.test("semi;colon")).toBe(false);
    expect(TASK_NAME.test("a".repeat(128))).toBe(true);
    expect(TASK_NAME.test("a".repeat(129))).toBe(false);
  });
});

describe("Tasks list", () => {
  it("lists tasks with kind, target, schedule and last run, and filters them on the server", async () => {
    const manual = task({ id: 8, name: "Ad hoc", description: "", kind: "pipeline", dag_id: "pipeline__nightly_etl", schedule: null, last_run: null });
    const server = fakeServer(me(ALL_TASK_RIGHTS), tasks(task(), manual));
    const el = await open("/plugin/ylai-tasks");
    const rows = [...el.querySelectorAll('[data-testid="tasks-table"] tbody tr')].map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent));
    expect(rows).toEqual([
      ["Nightly profileProfile last night's export", "Script", "script__csv_profiler", "0 6 * * *", "ursula", "success"],
      ["Ad hoc", "Pipeline", "pipeline__nightly_etl", "manual", "ursula", "never run"],
    ]);
    expect(new URL(($(el, "task-8") as HTMLAnchorElement).href).search).toBe("?id=8");
    expect($(el, "task-new")?.tagName).toBe("A");

    type($(el, "task-search")!, "night");
    // The search waits for typing to pause (250 ms) before it asks the server.
    await act(() => sleep(300));
    await flush();
    type($(el, "kind-filter")!, "pipeline");
    await flush();
    const asked = server.calls.filter((c) => c.path === "/ylai/api/v1/tasks").map((c) => `${c.search.get("q") ?? ""}|${c.search.get("kind") ?? ""}`);
    expect(asked).toEqual(["|", "night|", "night|pipeline"]);
  });

  it("says whether there are no tasks at all or none matching, and what a viewer may not do", async () => {
    fakeServer(me(VIEWER), tasks());
    const el = await open("/plugin/ylai-tasks");
    expect(text(el, "empty")).toBe("No tasks yet: save a script or pipeline with its parameters as a task.");
    expect($(el, "task-new")?.tagName).toBe("BUTTON");
    expect(($(el, "task-new") as HTMLButtonElement).disabled).toBe(true);
    expect(text(el, "permission-note")).toBe("Your role may not create tasks.");
    type($(el, "kind-filter")!, "dag");
    await flush();
    expect(text(el, "empty")).toBe("No task matches these filters.");
  });
});

describe("one task", () => {
  it("shows what it runs, its params, its last run with the result and its recent runs", async () => {
    fakeServer(me(ALL_TASK_RIGHTS), tasks(task()));
    const el = await open("/plugin/ylai-tasks?id=7");
    const detail = text(el, "task-detail");
    expect(detail).toContain("Script");
    expect(detail).toContain("0 6 * * *");
    expect(JSON.parse(text(el, "task-params"))).toEqual({ path: "/data/x.csv", top: 3, token: "***" });
    expect(JSON.parse(text(el, "task-result"))).toEqual({ outputs: { rows: 42 } });
    expect(text(el, "task-last-run")).toContain("ursula");
    expect(text(el, "task-run-version")).toBe("v4");
    const links = [...el.querySelectorAll('[data-testid="task-last-run"] a')].map((a) => new URL((a as HTMLAnchorElement).href).pathname);
    expect(links).toEqual(["/plugin/ylai-run", "/dags/script__csv_profiler/runs/manual__2026-11-27"]);
    expect(el.querySelectorAll("table tbody tr")).toHaveLength(1);
    expect(($(el, "task-run") as HTMLButtonElement).disabled).toBe(false);
    expect($(el, "task-edit")?.tagName).toBe("A");
  });

  it("says when it has not run yet", async () => {
    fakeServer(me(ALL_TASK_RIGHTS), tasks(task({ last_run: null, schedule: null, description: "" })));
    const el = await open("/plugin/ylai-tasks?id=7");
    expect(text(el, "task-last-run")).toContain("This task has not run yet.");
    expect(text(el, "task-detail")).toContain("manual");
  });

  it("runs it and follows the new run on the Run page", async () => {
    vi.stubGlobal("EventSource", FakeEventSource);
    const server = fakeServer(
      me(ALL_TASK_RIGHTS),
      tasks(task()),
      targets,
      (c) => (c.method === "POST" && c.path === "/ylai/api/v1/tasks/7/run" ? { status: 201, body: { ...lastRun, run_id: "manual__new" } } : undefined),
      (c) => (c.path.startsWith("/api/v2/") || c.path === "/ylai/api/v1/presets" ? { body: { dag_runs: [], total_entries: 0, items: [], total: 0 } } : undefined),
    );
    const el = await open("/plugin/ylai-tasks?id=7");
    click($(el, "task-run")!);
    await flush(8);
    expect(posted(server.calls).map((c) => c.path)).toEqual(["/ylai/api/v1/tasks/7/run"]);
    expect(window.location.pathname).toBe("/plugin/ylai-run");
    expect(new URLSearchParams(window.location.search).get("run_id")).toBe("manual__new");
    expect(text(el, "followed-run")).toBe("manual__new");
  });

  it("shows why a run was refused and keeps the page", async () => {
    fakeServer(me(ALL_TASK_RIGHTS), tasks(task()), (c) => (c.method === "POST" ? { status: 409, body: { error: { code: "conflict", message: "The DAG script__csv_profiler is paused" } } } : undefined));
    const el = await open("/plugin/ylai-tasks?id=7");
    click($(el, "task-run")!);
    await flush();
    expect(text(el, "task-action-error")).toContain("The DAG script__csv_profiler is paused");
    expect(window.location.search).toBe("?id=7");
  });

  it("deletes it only after confirmation, then lists the others", async () => {
    const server = fakeServer(me(ALL_TASK_RIGHTS), tasks(task()), (c) => (c.method === "DELETE" ? { status: 204 } : undefined));
    const confirm = vi.spyOn(window, "confirm").mockReturnValueOnce(false).mockReturnValueOnce(true);
    const el = await open("/plugin/ylai-tasks?id=7");
    click($(el, "task-delete")!);
    await flush();
    expect(posted(server.calls, "DELETE")).toHaveLength(0);
    click($(el, "task-delete")!);
    await flush();
    expect(confirm).toHaveBeenLastCalledWith("Delete the task “Nightly profile”? Its runs stay in Airflow.");
    expect(posted(server.calls, "DELETE").map((c) => c.path)).toEqual(["/ylai/api/v1/tasks/7"]);
    expect(window.location.search).toBe("");
    expect($(el, "tasks-table")).not.toBeNull();
  });

  it("disables run, edit and delete for a role without the rights, and says why", async () => {
    fakeServer(me(VIEWER, true), tasks(task()));
    const el = await open("/plugin/ylai-tasks?id=7");
    expect(($(el, "task-run") as HTMLButtonElement).disabled).toBe(true);
    expect($(el, "task-run")?.getAttribute("title")).toBe("Your role may not start runs.");
    expect(($(el, "task-delete") as HTMLButtonElement).disabled).toBe(true);
    expect($(el, "task-edit")?.tagName).toBe("BUTTON");
    expect(text(el, "permission-note")).toBe("Your role may not edit tasks.");
  });

  it("shows the server's error for a task that does not exist", async () => {
    fakeServer(me(ALL_TASK_RIGHTS), (c) => (c.path.startsWith("/ylai/api/v1/tasks/") ? { status: 404, body: { error: { code: "not_found", message: "No task 99" } } } : undefined));
    const el = await open("/plugin/ylai-tasks?id=99");
    expect(text(el, "error")).toContain("No task 99");
    expect($(el, "task-detail")).toBeNull();
  });
});

describe("task editor", () => {
  it("checks the name and the target before sending anything", async () => {
    const server = fakeServer(me(ALL_TASK_RIGHTS), targets);
    const el = await open("/plugin/ylai-tasks?new=1");
    click($(el, "task-save")!);
    await flush();
    expect(text(el, "task-name-error")).toBe("Required");
    expect(text(el, "task-target-error")).toBe("Required");
    type($(el, "task-name")!, "-bad");
    await flush();
    expect(text(el, "task-name-error")).toBe("Letters, digits, spaces, _ . - (up to 128), starting with a letter or digit.");
    expect(posted(server.calls)).toHaveLength(0);
  });

  it("creates a scheduled script task from the script's params form and opens it", async () => {
    const created = task({ id: 12, name: "Profile x" });
    const server = fakeServer(me(ALL_TASK_RIGHTS), targets, tasks(created), (c) => (c.method === "POST" && c.path === "/ylai/api/v1/tasks" ? { status: 201, body: created } : undefined));
    const el = await open("/plugin/ylai-tasks?new=1");
    const options = [...el.querySelectorAll('[data-testid="task-target"] option')].map((o) => o.textContent);
    expect(options).toEqual(["Choose…", "CSV profiler (csv_profiler)"]);
    type($(el, "task-name")!, "Profile x");
    type($(el, "task-description")!, "every morning");
    type($(el, "task-schedule")!, " @daily ");
    type($(el, "task-target")!, "csv_profiler");
    await flush();
    expect($(el, "param-form")).not.toBeNull();
    // A required param left empty stops the save, next to its field.
    click($(el, "task-save")!);
    await flush();
    expect(text(el, "error-path")).toBe("Required");
    type($(el, "field-path")!, "/data/x.csv");
    click($(el, "task-save")!);
    await flush(8);
    expect(posted(server.calls).map((c) => c.body)).toEqual([{ name: "Profile x", description: "every morning", schedule: "@daily", params: { path: "/data/x.csv" }, script: "csv_profiler" }]);
    expect(window.location.search).toBe("?id=12");
    expect(text(el, "task-detail")).toContain("Script");
  });

  it("names a pipeline by its name and any other DAG by its id, with that DAG's params", async () => {
    const server = fakeServer(me(ALL_TASK_RIGHTS), targets, (c) => (c.method === "POST" ? { status: 422, body: { error: { code: "invalid_input", message: "bad", details: [{ field: "body.schedule", reason: "Not a cron expression" }, { field: "body.dag_id", reason: "No DAG legacy_export" }] } } } : undefined));
    const el = await open("/plugin/ylai-tasks?new=1");
    type($(el, "task-name")!, "Legacy");
    type($(el, "task-kind")!, "pipeline");
    await flush();
    expect([...el.querySelectorAll('[data-testid="task-target"] option')].map((o) => o.textContent)).toEqual(["Choose…", "nightly_etl"]);
    type($(el, "task-kind")!, "dag");
    await flush();
    // ylai's own task DAGs are not offered as targets.
    expect([...el.querySelectorAll('[data-testid="task-target"] option')].map((o) => o.textContent)).toEqual(["Choose…", "legacy_export"]);
    type($(el, "task-target")!, "legacy_export");
    await flush(8);
    // The DAG's own params (Airflow's DAG details) make the form.
    expect($(el, "field-day")).not.toBeNull();
    type($(el, "field-day")!, "2026-11-28");
    type($(el, "task-schedule")!, "every day");
    click($(el, "task-save")!);
    await flush(8);
    expect(posted(server.calls).map((c) => c.body)).toEqual([{ name: "Legacy", description: "", schedule: "every day", params: { day: "2026-11-28" }, dag_id: "legacy_export" }]);
    // The server's field errors go next to their fields; nothing else is left to show.
    expect(text(el, "task-schedule-error")).toBe("Not a cron expression");
    expect(text(el, "task-target-error")).toBe("No DAG legacy_export");
    expect($(el, "task-save-error")).toBeNull();
  });

  it("shows a param error next to the param and an unknown field's error as a whole", async () => {
    let answer = 0;
    fakeServer(me(ALL_TASK_RIGHTS), targets, (c) => {
      if (c.method !== "POST") return undefined;
      answer += 1;
      const details = answer === 1 ? [{ field: "body.params.top", reason: "Must be at least 1" }] : [{ field: "body.owner", reason: "Not allowed" }];
      return { status: 422, body: { error: { code: "invalid_input", message: "Invalid task", details } } };
    });
    const el = await open("/plugin/ylai-tasks?new=1");
    type($(el, "task-name")!, "x");
    type($(el, "task-target")!, "csv_profiler");
    await flush();
    type($(el, "field-path")!, "/x");
    click($(el, "task-save")!);
    await flush(8);
    expect(text(el, "error-top")).toBe("Must be at least 1");
    expect($(el, "task-save-error")).toBeNull();
    click($(el, "task-save")!);
    await flush(8);
    expect(text(el, "task-save-error")).toContain("Invalid task");
  });

  it("edits a task without showing its secrets, and keeps them unless the params change", async () => {
    const server = fakeServer(me(ALL_TASK_RIGHTS), targets, tasks(task()), (c) => (c.method === "PATCH" ? { body: task({ name: (c.body as { name: string }).name }) } : undefined));
    const el = await open("/plugin/ylai-tasks?id=7&edit=1");
    expect(el.textContent).toContain("Edit task Nightly profile");
    expect(($(el, "task-name") as HTMLInputElement).value).toBe("Nightly profile");
    expect(($(el, "field-path") as HTMLInputElement).value).toBe("/data/x.csv");
    expect(($(el, "field-top") as HTMLInputElement).value).toBe("3");
    expect(el.textContent).toContain("Secret values are not shown (token)");
    expect($(el, "task-kind")).toBeNull();
    type($(el, "task-name")!, "Renamed");
    click($(el, "task-save")!);
    await flush(8);
    // Params untouched: the stored secret stays, so no params are sent.
    expect(posted(server.calls, "PATCH").map((c) => c.body)).toEqual([{ name: "Renamed", description: "Profile last night's export", schedule: "0 6 * * *" }]);
    expect(window.location.search).toBe("?id=7");
  });

  it("sends the params again once one of them changed", async () => {
    const server = fakeServer(me(ALL_TASK_RIGHTS), targets, tasks(task()), (c) => (c.method === "PATCH" ? { body: task() } : undefined));
    const el = await open("/plugin/ylai-tasks?id=7&edit=1");
    type($(el, "field-top")!, "9");
    type($(el, "field-token")!, "s3cret");
    click($(el, "task-save")!);
    await flush(8);
    expect(posted(server.calls, "PATCH").map((c) => (c.body as { params: unknown }).params)).toEqual([{ path: "/data/x.csv", top: 9, token: "s3cret" }]);
  });

  it("keeps a role without edit rights from saving", async () => {
    fakeServer(me(VIEWER), targets, tasks(task()));
    const el = await open("/plugin/ylai-tasks?id=7&edit=1");
    expect(($(el, "task-save") as HTMLButtonElement).disabled).toBe(true);
    expect(text(el, "permission-note")).toBe("Your role may not edit tasks.");
  });
});

describe("task approval", () => {
  const gated = () =>
    task({ approval: { approvers: ["Op", "dave"], timeout_seconds: 7200, reason_required: true, four_eyes: true, notify: [{ type: "slack", target: "#approvals" }] } });

  it("asks for an approval with approvers, timeout, comment and four eyes, and shows the server's field error", async () => {
    const created = task({ id: 12, name: "Gated", schedule: null });
    let answer = 0;
    const server = fakeServer(me(ALL_TASK_RIGHTS), targets, tasks(created), (c) => {
      if (c.method !== "POST" || c.path !== "/ylai/api/v1/tasks") return undefined;
      answer += 1;
      if (answer === 1) return { status: 422, body: { error: { code: "invalid_input", message: "bad", details: [{ field: "body.approval.timeout", reason: "expected a duration such as 300, '90s', '15m' or '2h'" }] } } };
      return { status: 201, body: created };
    });
    const el = await open("/plugin/ylai-tasks?new=1");
    expect($(el, "task-approval-approvers")).toBeNull();
    type($(el, "task-name")!, "Gated");
    type($(el, "task-target")!, "csv_profiler");
    await flush();
    type($(el, "field-path")!, "/data/x.csv");
    click($(el, "task-approval-on")!);
    await flush();
    expect(($(el, "task-approval-four-eyes") as HTMLInputElement).checked).toBe(true);
    type($(el, "task-approval-approvers")!, "Op, dave ,");
    type($(el, "task-approval-timeout")!, "soon");
    click($(el, "task-approval-reason")!);
    click($(el, "task-save")!);
    await flush(8);
    expect(text(el, "task-approval-timeout-error")).toBe("expected a duration such as 300, '90s', '15m' or '2h'");
    expect($(el, "task-save-error")).toBeNull();
    type($(el, "task-approval-timeout")!, "2h");
    click($(el, "task-save")!);
    await flush(8);
    const bodies = posted(server.calls).map((c) => c.body as { approval: unknown });
    expect(bodies[1].approval).toEqual({ approvers: ["Op", "dave"], timeout: "2h", reason_required: true, four_eyes: true, notify: [] });
    expect(window.location.search).toBe("?id=12");
  });

  it("shows a task's approval, loads it into the form and drops it when unticked", async () => {
    const server = fakeServer(me(ALL_TASK_RIGHTS), targets, tasks(gated()), (c) => (c.method === "PATCH" ? { body: task() } : undefined));
    const shown = await open("/plugin/ylai-tasks?id=7");
    expect(text(shown, "task-approval-summary")).toBe("Op, dave · 2h");
    const el = await open("/plugin/ylai-tasks?id=7&edit=1");
    expect(($(el, "task-approval-on") as HTMLInputElement).checked).toBe(true);
    expect(($(el, "task-approval-approvers") as HTMLInputElement).value).toBe("Op, dave");
    expect(($(el, "task-approval-timeout") as HTMLInputElement).value).toBe("2h");
    expect(($(el, "task-approval-reason") as HTMLInputElement).checked).toBe(true);
    click($(el, "task-approval-four-eyes")!);
    click($(el, "task-save")!);
    await flush(8);
    // The alert channels set through the API are kept.
    expect((posted(server.calls, "PATCH")[0].body as { approval: unknown }).approval).toEqual({ approvers: ["Op", "dave"], timeout: "2h", reason_required: true, four_eyes: false, notify: [{ type: "slack", target: "#approvals" }] });
    const again = await open("/plugin/ylai-tasks?id=7&edit=1");
    click($(again, "task-approval-on")!);
    click($(again, "task-save")!);
    await flush(8);
    expect((posted(server.calls, "PATCH")[1].body as { approval: unknown }).approval).toBeNull();
  });

  it("words the approval section in Chinese", async () => {
    localStorage.setItem("i18nextLng", "zh-CN");
    try {
      fakeServer(me(ALL_TASK_RIGHTS), targets, tasks(task({ approval: null })));
      expect(text(await open("/plugin/ylai-tasks?id=7"), "task-approval-summary")).toBe("不需要");
      const el = await open("/plugin/ylai-tasks?id=7&edit=1");
      expect(text(el, "task-approval")).toContain("需要审批");
    } finally {
      localStorage.removeItem("i18nextLng");
    }
  });
});
