import { describe, expect, it } from "vitest";
import { pageTests } from "../test/app";
import { $, flush, type } from "../test/render";
import { fakeServer, meHandler, type Handler } from "../test/server";
import type { Schema } from "../lib/schema";
import { describeType } from "./Scripts";

const MIB = 1024 * 1024;
const stats = (runs: number, succeeded: number, last: string | null) => ({ runs, succeeded, failed: runs - succeeded, success_rate: runs ? succeeded / runs : null, last_run_state: last });
const script = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  dag_id: `script__${name}`,
  kind: "script",
  title: "",
  description: "",
  owner: "data",
  tags: [],
  runtime: "python",
  params_schema: { type: "object", properties: {} },
  outputs: {},
  timeout_seconds: 600,
  retries: 1,
  sensitive: false,
  stats: stats(0, 0, null),
  ...extra,
});
const PROFILER = script("csv_profiler", { title: "CSV profiler", description: "Profiles a CSV", tags: ["csv", "daily"], stats: stats(4, 3, "failed") });
const DISK = script("disk_usage", { runtime: "bash", tags: ["ops"] });

const page = (items: unknown[]) => ({ items, total: items.length, limit: 500, offset: 0 });
const list =
  (...items: ReturnType<typeof script>[]): Handler =>
  (c) =>
    c.path === "/ylai/api/v1/scripts" ? { body: page(c.search.get("fields") ? items.map((s) => ({ name: s.name, tags: s.tags })) : items) } : undefined;

const open = pageTests();

const text = (el: ParentNode, testId: string) => $(el, testId)?.textContent ?? "";
const cells = (el: ParentNode, table: string) => [...el.querySelectorAll(`[data-testid="${table}"] tbody tr`)].map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent));

describe("Scripts list", () => {
  it("lists the registry with title, tags, runtime, success rate and last run", async () => {
    fakeServer(meHandler({ scripts: ["read"] }), list(PROFILER, DISK));
    const el = await open("/plugin/ylai-scripts");
    expect(cells(el, "scripts-table")).toEqual([
      ["CSV profilercsv_profiler Profiles a CSV", "data", "csvdaily", "python", "75%", "failed", "Run"],
      ["disk_usagedisk_usage ", "data", "ops", "bash", "—", "never run", "Run"],
    ]);
    const run = el.querySelector('[data-testid="scripts-table"] tbody tr a.y-btn') as HTMLAnchorElement;
    expect(new URL(run.href).pathname + new URL(run.href).search).toBe("/plugin/ylai-run?dag_id=script__csv_profiler");
    // The tag filter offers every tag of the registry, sorted.
    expect([...el.querySelectorAll('[data-testid="tag-filter"] option')].map((o) => o.textContent)).toEqual(["All tags", "csv", "daily", "ops"]);
    // Only an Admin-like role may add scripts.
    expect(($(el, "script-new") as HTMLButtonElement).disabled).toBe(true);
    expect(text(el, "script-permission")).toContain("Your role may not create scripts");
  });

  it("asks the server for the runtime and tag chosen and says when nothing matches", async () => {
    const server = fakeServer(meHandler({ scripts: ["read", "create"] }), (c) => (c.path === "/ylai/api/v1/scripts" && c.search.get("runtime") ? { body: page([]) } : undefined), list(PROFILER, DISK));
    const el = await open("/plugin/ylai-scripts");
    expect($(el, "script-new")?.tagName).toBe("A");
    type($(el, "tag-filter")!, "ops");
    await flush();
    type($(el, "runtime-filter")!, "bash");
    await flush();
    const asked = server.calls.filter((c) => c.path === "/ylai/api/v1/scripts" && !c.search.get("fields")).map((c) => `${c.search.get("runtime") ?? ""}|${c.search.get("tag") ?? ""}`);
    expect(asked).toEqual(["|", "|ops", "bash|ops"]);
    expect(text(el, "empty")).toBe("No script matches these filters.");
  });

  it("says how to add a script when there is none", async () => {
    fakeServer(meHandler({ scripts: ["read"] }), list());
    const el = await open("/plugin/ylai-scripts");
    expect(text(el, "empty")).toBe("No scripts yet: add a script and its manifest under dags/scripts/.");
  });
});

describe("one script", () => {
  const SCHEMA = {
    type: "object",
    required: ["path"],
    properties: {
      path: { type: "string", description: "CSV file", minLength: 1, maxLength: 200, pattern: "^/" },
      top: { type: "integer", default: 10, minimum: 1, maximum: 50 },
      mode: { type: ["string", "null"], enum: ["fast", "full", null], values_display: { fast: "Fast" } },
      columns: { type: "array", items: { type: "string", enum: ["a", "b"] } },
      token: { type: "string", "x-ylai-secret": true, default: "hidden" },
    },
  };
  const runs = [
    { run_id: "manual__2", state: "failed", start_date: "2026-11-27T10:00:00Z", duration_seconds: 90, exit_code: 3, peak_rss_bytes: 300 * MIB, cpu_seconds: 12, script_version: "3" },
    { run_id: "manual__1", state: "success", start_date: "2026-11-26T10:00:00Z", duration_seconds: 30, exit_code: 0, peak_rss_bytes: null, cpu_seconds: null, script_version: "sha256:0123456789ab" },
  ];
  const detail = (extra: Record<string, unknown> = {}): Handler => (c) =>
    c.path === "/ylai/api/v1/scripts/csv_profiler" ? { body: { ...PROFILER, params_schema: SCHEMA, outputs: { rows: { type: "integer", description: "rows read" } }, version: 3, recent_runs: runs, ...extra } } : undefined;

  it("shows its manifest: params with types, defaults and constraints, outputs, limits and tags", async () => {
    fakeServer(meHandler({ scripts: ["read"] }), detail());
    const el = await open("/plugin/ylai-scripts?name=csv_profiler");
    expect(el.querySelector("h1")?.textContent).toBe("CSV profiler");
    const about = text(el, "script-detail");
    expect(about).toContain("python · v3");
    expect(about).toContain("10 min");
    expect(about).toContain("csv, daily");
    expect(cells(el, "script-params")).toEqual([
      ["path *CSV file", "string", "—", "len ≥ 1, len ≤ 200, /^//"],
      ["top", "integer", "10", "≥ 1, ≤ 50"],
      ["mode", "enum", "—", "Fast | full"],
      ["columns", "array<string>", "—", "a | b"],
      ["token", "string", "***", ""],
    ]);
    expect(about).toContain("rows integer rows read");
    expect(about).not.toContain("Sensitive script");
  });

  it("shows its success rate, its recent runs with their resources and a chart of them", async () => {
    fakeServer(meHandler({ scripts: ["read"] }), detail());
    const el = await open("/plugin/ylai-scripts?name=csv_profiler");
    expect(text(el, "script-stats")).toContain("75%");
    expect(el.querySelector('[aria-label="Duration and peak memory of recent runs"]')).not.toBeNull();
    expect(cells(el, "script-runs").map((row) => row.slice(1))).toEqual([
      ["failed", "1 min 30 s", "v3", "3", "300 MiB", "12 s", "Logs"],
      ["success", "30 s", "sha256:0123456789ab", "0", "—", "—", "Logs"],
    ]);
    const logs = [...el.querySelectorAll('[data-testid="script-runs"] tbody a')].map((a) => new URL((a as HTMLAnchorElement).href).search);
    expect(logs).toEqual(["?dag_id=script__csv_profiler&run_id=manual__2", "?dag_id=script__csv_profiler&run_id=manual__1"]);
    expect(new URL(($(el, "script-run") as HTMLAnchorElement).href).search).toBe("?dag_id=script__csv_profiler");
  });

  it("shows the versions of a database script, and says where a repository script's history is", async () => {
    const versions: Handler = (c) =>
      c.path === "/ylai/api/v1/scripts/csv_profiler/versions"
        ? { body: page([{ version: 3, comment: "faster", created_by: "root", created_at: "2026-11-27T09:00:00Z", digest: "sha256:aaaaaaaaaaaa", size_bytes: 10, current: true }]) }
        : undefined;
    fakeServer(meHandler({ scripts: ["read"] }), detail({ source: "database" }), versions);
    const el = await open("/plugin/ylai-scripts?name=csv_profiler");
    expect(text(el, "versions-table")).toContain("faster");
    expect($(el, "versions-repository")).toBeNull();
    fakeServer(meHandler({ scripts: ["read"] }), detail({ source: "repository" }));
    const repo = await open("/plugin/ylai-scripts?name=csv_profiler");
    expect(text(repo, "versions-repository")).toContain("its history is kept by the repository (git)");
    expect($(repo, "script-versions")).toBeNull();
  });

  it("says what a new, sensitive script without params, outputs or runs has", async () => {
    fakeServer(meHandler({ scripts: ["read"] }), (c) => (c.path === "/ylai/api/v1/scripts/fresh" ? { body: { ...script("fresh", { sensitive: true }), recent_runs: [] } } : undefined));
    const el = await open("/plugin/ylai-scripts?name=fresh&created=1");
    expect(text(el, "script-created")).toContain("fresh");
    const detailText = text(el, "script-detail");
    expect(detailText).toContain("Sensitive script: all its parameter values are masked.");
    expect(detailText).toContain("This has no parameters.");
    expect(detailText).toContain("No declared outputs.");
    expect(detailText).toContain("No runs yet.");
    expect(el.querySelector('[aria-label="Duration and peak memory of recent runs"]')).toBeNull();
  });

  it("shows the server's error for an unknown script", async () => {
    fakeServer(meHandler({ scripts: ["read"] }), (c) => (c.path === "/ylai/api/v1/scripts/nope" ? { status: 404, body: { error: { code: "not_found", message: "No script named nope" } } } : undefined));
    const el = await open("/plugin/ylai-scripts?name=nope");
    expect(text(el, "error")).toContain("No script named nope");
    expect($(el, "script-run")).toBeNull();
  });
});

describe("describeType", () => {
  it("names enums, typed arrays and formats", () => {
    expect(describeType({ type: "string", format: "date-time" } as Schema)).toBe("string (date-time)");
    expect(describeType({ type: "array", items: { type: "integer" } } as Schema)).toBe("array<integer>");
    expect(describeType({ type: "array", items: {} } as Schema)).toBe("array<any>");
    expect(describeType({ enum: [1, 2] } as Schema)).toBe("enum");
    expect(describeType({} as Schema)).toBe("any");
  });
});
