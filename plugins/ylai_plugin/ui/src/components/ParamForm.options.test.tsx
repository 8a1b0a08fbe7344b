import { act } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { $, click, flush, render, type, type Rendered } from "../test/render";
import { ensureBase, fakeServer, type Call, type Handler } from "../test/server";
import { EnvProvider, type Lang } from "../i18n";
import { DEBOUNCE_MS, dependencyQuery, failureOf, hasValue, notOffered, optionsSpec } from "../lib/paramOptions";
import { useParamForm, type ParamFormState } from "../lib/paramForm";
import { ApiError } from "../lib/api";
import type { Schema } from "../lib/schema";
import { ParamForm } from "./ParamForm";

const DAG = "script__db_tables";
const live = (source: string, depends_on: string[] = []) => ({ "x-ylai-options": { source, depends_on } });

const SCHEMA: Schema = {
  type: "object",
  required: ["database", "table"],
  properties: {
    database: { type: "string", title: "Database", ...live("sql") },
    table: { type: "string", title: "Table", ...live("sql", ["database"]) },
    columns: { type: "array", items: { type: "string" }, title: "Columns", ...live("sql", ["database", "table"]) },
    note: { type: "string" },
  } as Record<string, Schema>,
};

const TABLES: Record<string, string[]> = { shop: ["orders", "customers"], hr: ["people", "salaries"] };
const COLUMNS: Record<string, string[]> = { orders: ["id", "total", "placed_at"], people: ["id", "name"] };

/** The options route of the fake server: ``fail`` answers a param's calls with an error instead. */
function optionsRoute(fail: Record<string, { status: number; body: unknown; headers?: Record<string, string> } | undefined> = {}): Handler {
  return (c) => {
    const m = c.path.match(/^\/ylai\/api\/v1\/forms\/([^/]+)\/options\/([^/]+)$/);
    if (!m || c.method !== "GET") return undefined;
    const param = m[2];
    const failure = fail[param];
    if (failure) return failure;
    const values =
      param === "database" ? Object.keys(TABLES) : param === "table" ? (TABLES[c.search.get("database") ?? ""] ?? []) : (COLUMNS[c.search.get("table") ?? ""] ?? []);
    return { body: { param, options: values.map((v) => ({ value: v, label: v.toUpperCase() })), truncated: false, cached: false } };
  };
}

const asked = (calls: Call[], param: string) => calls.filter((c) => c.path.endsWith(`/options/${param}`)).map((c) => Object.fromEntries(c.search.entries()));

let form: ParamFormState;
function Harness({ schema = SCHEMA, dagId = DAG }: { schema?: Schema; dagId?: string }) {
  form = useParamForm(schema);
  return <ParamForm schema={schema} values={form.values} onChange={form.change} errors={form.errors} dagId={dagId} />;
}

let r: Rendered | null = null;
const mount = async (lang: Lang = "en", schema: Schema = SCHEMA) => {
  r = render(
    <EnvProvider env={{ lang, dark: false }}>
      <Harness schema={schema} />
    </EnvProvider>,
  );
  await flush();
  return r.container;
};
beforeEach(() => ensureBase());
afterEach(() => {
  r?.unmount();
  r = null;
  vi.unstubAllGlobals();
});

/** Past the debounce of a parent's change, then the answers settled. */
async function settle(): Promise<void> {
  await act(async () => {
    await new Promise((res) => setTimeout(res, DEBOUNCE_MS + 30));
  });
  await flush();
}

const input = (c: HTMLElement, name: string) => $(c, `field-${name}`) as HTMLInputElement;
const offered = (c: HTMLElement, name: string) => [...c.querySelectorAll(`[data-testid="field-${name}-option"]`)].map((o) => o.textContent);

/** Choose the option labelled ``label`` the way a mouse does (the list opens on focus). */
function choose(c: HTMLElement, name: string, label: string): void {
  act(() => input(c, name).focus());
  click(input(c, name));
  const option = [...c.querySelectorAll(`[data-testid="field-${name}-option"]`)].find((o) => o.textContent?.endsWith(label));
  expect(option, `${name} offers ${label}: ${offered(c, name).join(", ")}`).toBeTruthy();
  act(() => {
    option!.dispatchEvent(new MouseEvent("mousedown", { bubbles: true, cancelable: true }));
  });
}

const key = (el: Element, k: string) =>
  act(() => {
    el.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true, cancelable: true }));
  });

describe("live options", () => {
  it("cascade: asks for a child's options when its parent changes and waits while the parent is empty", async () => {
    const server = fakeServer(optionsRoute());
    const c = await mount();
    expect(asked(server.calls, "database")).toEqual([{}]);
    expect(asked(server.calls, "table")).toEqual([]);
    expect($(c, "options-waiting-table")?.textContent).toBe("Waiting for Database: choose that first.");
    expect($(c, "options-waiting-columns")?.textContent).toBe("Waiting for Database, Table: choose that first.");
    expect(input(c, "table").disabled).toBe(true);

    choose(c, "database", "SHOP");
    expect(form.values.database).toBe("shop");
    // the child is loading at once, asked after the debounce
    expect($(c, "options-loading-table")).not.toBeNull();
    expect(asked(server.calls, "table")).toEqual([]);
    await settle();
    expect(asked(server.calls, "table")).toEqual([{ database: "shop" }]);
    act(() => input(c, "table").focus());
    expect(offered(c, "table")).toEqual(["ORDERS", "CUSTOMERS"]);
    choose(c, "table", "ORDERS");
    expect(form.values.table).toBe("orders");
    act(() => input(c, "table").blur());
    expect(input(c, "table").value).toBe("ORDERS");
    await settle();
    expect(asked(server.calls, "columns")).toEqual([{ database: "shop", table: "orders" }]);

    // a quick second change of the parent asks once, with the last value
    choose(c, "database", "HR");
    choose(c, "database", "SHOP");
    choose(c, "database", "HR");
    await settle();
    expect(asked(server.calls, "table")).toEqual([{ database: "shop" }, { database: "hr" }]);
  });

  it("clears a chosen value the new list no longer offers, with a notice next to the field", async () => {
    fakeServer(optionsRoute());
    const c = await mount();
    choose(c, "database", "SHOP");
    await settle();
    choose(c, "table", "ORDERS");
    await settle();
    expect(form.values.table).toBe("orders");

    choose(c, "database", "HR");
    await settle();
    expect(form.values.table).toBeUndefined();
    expect(form.conf).toEqual({ database: "hr" });
    expect($(c, "options-notice-table")?.textContent).toBe("“orders” is no longer offered for Table, so it was cleared.");
    expect($(c, "options-notice-table")?.getAttribute("role")).toBe("status");
    // choosing anew puts the notice away
    choose(c, "table", "PEOPLE");
    expect($(c, "options-notice-table")).toBeNull();
    expect(form.values.table).toBe("people");
  });

  it("clears loaded values (a preset) that the live list does not offer", async () => {
    fakeServer(optionsRoute());
    const c = await mount();
    act(() => form.load({ database: "shop", table: "dropped_table" }));
    await settle();
    expect(form.values).toEqual({ database: "shop", table: undefined });
    expect($(c, "options-notice-table")?.textContent).toContain("“dropped_table”");
  });

  it("shows a source's error next to its field, keeps the rest usable and retries", async () => {
    const failures: Record<string, { status: number; body: unknown; headers?: Record<string, string> } | undefined> = {
      table: {
        status: 503,
        headers: { "Retry-After": "5" },
        body: { error: { code: "unavailable", message: "The options of table are unavailable: timed out after 2 s", details: { field: "table", source: "sql", reason: "timed out after 2 s" } } },
      },
    };
    const server = fakeServer(optionsRoute(failures));
    const c = await mount();
    choose(c, "database", "SHOP");
    await settle();
    expect($(c, "options-error-table")?.textContent).toBe("The choices could not be loaded: timed out after 2 s. Try again in 5 s.");
    expect($(c, "options-error-table")?.closest(".y-field")?.querySelector("label")?.textContent).toContain("Table");
    expect(document.getElementById(input(c, "table").getAttribute("aria-describedby")!)?.textContent).toContain("timed out after 2 s");
    // the rest of the form stays usable
    expect(input(c, "database").disabled).toBe(false);
    type($(c, "field-note")!, "still typing");
    expect(form.values.note).toBe("still typing");
    choose(c, "database", "HR");
    expect(form.values.database).toBe("hr");
    await settle();

    failures.table = undefined;
    click($(c, "options-retry-table")!);
    await flush();
    expect(asked(server.calls, "table").at(-1)).toEqual({ database: "hr" });
    expect($(c, "options-error-table")).toBeNull();
    act(() => input(c, "table").focus());
    expect(offered(c, "table")).toEqual(["PEOPLE", "SALARIES"]);
  });

  it("says when a list was cut, and clears a value beyond the cut like any other", async () => {
    const cut: Handler = (c) =>
      c.path.endsWith("/options/database") ? { body: { param: "database", options: [{ value: "shop", label: "shop" }], truncated: true, cached: true } } : undefined;
    fakeServer(cut, optionsRoute());
    const c = await mount();
    expect($(c, "options-truncated-database")?.textContent).toBe("Only the first 1 choices came: type to search them.");
    act(() => form.load({ database: "zoo" }));
    await flush();
    expect(form.values.database).toBeUndefined();
    expect($(c, "options-notice-database")?.textContent).toContain("“zoo”");
  });

  it("shows a 422's reason (a missing parent value on the server's side)", async () => {
    const body = { error: { code: "invalid_input", message: "Invalid input", details: [{ field: "database", reason: "needs a value for region" }] } };
    fakeServer(optionsRoute({ database: { status: 422, body } }));
    const c = await mount();
    expect($(c, "options-error-database")?.textContent).toBe("The choices could not be loaded: needs a value for region.");
  });

  it("multi-select: searchable, keyboard operated, chips removable, items no longer offered dropped", async () => {
    fakeServer(optionsRoute());
    const c = await mount();
    choose(c, "database", "SHOP");
    await settle();
    choose(c, "table", "ORDERS");
    await settle();
    const box = input(c, "columns");
    expect(box.getAttribute("role")).toBe("combobox");
    expect(c.querySelector(`label[for="${box.id}"]`)?.textContent).toContain("Columns");
    act(() => box.focus());
    const list = $(c, "field-columns-list")!;
    expect(list.getAttribute("role")).toBe("listbox");
    expect(list.getAttribute("aria-multiselectable")).toBe("true");
    expect(box.getAttribute("aria-expanded")).toBe("true");
    expect(box.getAttribute("aria-controls")).toBe(list.id);

    type(box, "t");
    expect(offered(c, "columns")).toEqual(["☐ TOTAL", "☐ PLACED_AT"]);
    key(box, "ArrowDown");
    expect(box.getAttribute("aria-activedescendant")).toBe(list.querySelectorAll("[role=option]")[1].id);
    key(box, "Enter");
    expect(form.values.columns).toEqual(["placed_at"]);
    expect(box.value).toBe("");
    expect(list.querySelector(".y-option-active")?.textContent).toBe("☑ PLACED_AT");
    key(box, "Home");
    key(box, "Enter");
    expect(form.values.columns).toEqual(["placed_at", "id"]);
    expect([...$(c, "field-columns-chips")!.querySelectorAll("li > span")].map((s) => s.textContent)).toEqual(["PLACED_AT", "ID"]);
    expect(list.querySelector('[aria-selected="true"]')?.textContent).toBe("☑ ID");
    click(c.querySelector('button[aria-label="Remove PLACED_AT"]')!);
    expect(form.values.columns).toEqual(["id"]);
    key(box, "Backspace");
    expect(form.values.columns).toBeUndefined();
    key(box, "Enter");
    key(box, "ArrowDown");
    key(box, "Enter");
    expect(form.values.columns).toEqual(["id", "total"]);
    key(box, "Escape");
    expect(box.getAttribute("aria-expanded")).toBe("false");

    // another table: "id" is offered there too, "total" is not
    choose(c, "database", "HR");
    await settle();
    choose(c, "table", "PEOPLE");
    await settle();
    expect(form.values.columns).toEqual(["id"]);
    expect($(c, "options-notice-columns")?.textContent).toBe("“total” is no longer offered for Columns, so it was cleared.");
  });

  it("picks with the keyboard in a single select and says when nothing matches", async () => {
    fakeServer(optionsRoute());
    const c = await mount();
    const box = input(c, "database");
    act(() => box.focus());
    key(box, "End");
    key(box, "Enter");
    expect(form.values.database).toBe("hr");
    expect(box.value).toBe("HR");
    act(() => box.focus());
    type(box, "zzz");
    expect($(c, "field-database-list")?.textContent).toBe("Nothing matches “zzz”.");
    key(box, "Escape");
    expect(form.values.database).toBe("hr");
    click($(c, "field-database-clear")!);
    expect(form.values.database).toBeUndefined();
  });

  it("speaks Chinese", async () => {
    fakeServer(optionsRoute({ database: { status: 503, body: { error: { code: "unavailable", message: "database 的可选项不可用：2 秒后超时", details: { field: "database", source: "sql", reason: "2 秒后超时" } } } } }));
    const c = await mount("zh-CN");
    expect($(c, "options-waiting-table")?.textContent).toBe("等待 Database：请先选择它。");
    expect($(c, "options-error-database")?.textContent).toBe("无法加载可选项：2 秒后超时。");
    expect($(c, "options-retry-database")?.textContent).toBe("重试");
  });

  it("stays a plain field without a DAG to ask about", async () => {
    const server = fakeServer(optionsRoute());
    r = render(
      <EnvProvider env={{ lang: "en", dark: false }}>
        <Harness dagId="" />
      </EnvProvider>,
    );
    await flush();
    expect(server.calls).toEqual([]);
    expect(input(r.container, "database").getAttribute("role")).toBeNull();
  });
});

describe("long static lists", () => {
  const many = Array.from({ length: 30 }, (_, i) => `region-${i}`);
  const schema: Schema = { type: "object", properties: { region: { type: "string", enum: many }, zones: { type: "array", items: { type: "string", enum: many }, examples: many } } };

  it("get a searchable select and multi-select", async () => {
    fakeServer();
    const c = await mount("en", schema);
    const box = input(c, "region");
    expect(box.getAttribute("role")).toBe("combobox");
    act(() => box.focus());
    type(box, "-2");
    expect(offered(c, "region")).toEqual(["region-2", ...many.filter((m) => m.startsWith("region-2") && m !== "region-2")]);
    key(box, "Enter");
    expect(form.values.region).toBe("region-2");
    const zones = input(c, "zones");
    act(() => zones.focus());
    type(zones, "region-29");
    key(zones, "Enter");
    expect(form.values.zones).toEqual(["region-29"]);
  });
});

describe("paramOptions helpers", () => {
  it("read the spec, the parents' query and what is no longer offered", () => {
    expect(optionsSpec({ type: "string" })).toBeNull();
    expect(optionsSpec({ ...live("pools"), type: "string" } as Schema)).toEqual({ source: "pools", depends_on: [] });
    expect(dependencyQuery({ source: "sql", depends_on: ["a", "b", "c", "d"] }, { a: "x", b: ["p", "q"], c: 3, d: "" })).toEqual({ a: "x", b: ["p", "q"], c: "3" });
    expect([hasValue(""), hasValue([]), hasValue(null), hasValue(0), hasValue(false)]).toEqual([false, false, false, true, true]);
    const opts = [{ value: "a", label: "A" }];
    expect(notOffered(["a", "b"], opts)).toEqual(["b"]);
    expect(notOffered("a", opts)).toEqual([]);
    expect(notOffered(undefined, opts)).toEqual([]);
  });

  it("find the reason of a failure", () => {
    expect(failureOf(new ApiError(503, "unavailable", "t.x: down", [], 3), "t.x")).toEqual({ reason: "down", retryAfter: 3 });
    expect(failureOf(new Error("offline"), "t")).toEqual({ reason: "offline", retryAfter: null });
    expect(failureOf("weird", "t")).toEqual({ reason: "weird", retryAfter: null });
  });
});
