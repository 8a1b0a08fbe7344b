import { useState } from "react";
import { afterEach, describe, expect, it } from "vitest";
import { $, click, render, type, type Rendered } from "../test/render";
import { EnvProvider } from "../i18n";
import { validateParams, type Problem, type Schema } from "../lib/schema";
import { ParamForm, loadableValues, problemText } from "./ParamForm";
import { makeI18n } from "../i18n";

const schema: Schema = {
  type: "object",
  required: ["url"],
  properties: {
    url: { type: "string", pattern: "^https?://", title: "URL" },
    notes: { type: ["string", "null"], format: "multiline" },
    top: { type: "integer", minimum: 1, maximum: 100, default: 10 },
    ratio: { type: "number" },
    dry_run: { type: "boolean", default: false },
    fmt: { type: "string", enum: ["csv", "json"], values_display: { csv: "CSV file", json: "JSON lines" }, default: "csv" },
    cols: { type: "array", items: { type: "string", enum: ["a", "b", "c"] }, examples: ["a", "b", "c"] },
    day: { type: "string", format: "date" },
    at: { type: "string", format: "date-time" },
    extra: { type: "object" },
    token: { type: "string", "x-ylai-secret": true },
    ids: { type: "array", items: { type: "integer" } },
  },
};

let last: { values: Record<string, unknown>; parse: Record<string, Problem> } = { values: {}, parse: {} };

function Harness({ lang = "en" as "en" | "zh-CN" }) {
  const [values, setValues] = useState<Record<string, unknown>>({});
  const [parse, setParse] = useState<Record<string, Problem>>({});
  last = { values, parse };
  const i = makeI18n(lang);
  const problems = { ...validateParams(schema, values), ...parse };
  const errors = Object.fromEntries(Object.entries(problems).map(([k, p]) => [k, problemText(i.t, p)]));
  return (
    <EnvProvider env={{ lang, dark: false }}>
      <ParamForm
        schema={schema}
        values={values}
        errors={errors}
        onChange={(name, value, problem) => {
          setValues((v) => ({ ...v, [name]: value }));
          setParse((p) => {
            const next = { ...p };
            if (problem) next[name] = problem;
            else delete next[name];
            return next;
          });
        }}
      />
    </EnvProvider>
  );
}

let r: Rendered | null = null;
afterEach(() => r?.unmount());

describe("ParamForm", () => {
  it("renders one input per schema kind", () => {
    r = render(<Harness />);
    const c = r.container;
    expect($(c, "field-url")?.getAttribute("type")).toBe("text");
    expect($(c, "field-notes")?.tagName).toBe("TEXTAREA");
    expect($(c, "field-top")?.getAttribute("type")).toBe("number");
    expect($(c, "field-top")?.getAttribute("min")).toBe("1");
    expect($(c, "field-top")?.getAttribute("max")).toBe("100");
    expect($(c, "field-dry_run")?.getAttribute("role")).toBe("switch");
    expect($(c, "field-fmt")?.tagName).toBe("SELECT");
    expect([...($(c, "field-fmt") as HTMLSelectElement).options].map((o) => o.textContent)).toEqual(["(default)", "CSV file", "JSON lines"]);
    expect($(c, "field-cols")?.querySelectorAll("input[type=checkbox]").length).toBe(3);
    expect($(c, "field-day")?.getAttribute("type")).toBe("date");
    expect($(c, "field-at")?.getAttribute("type")).toBe("datetime-local");
    expect($(c, "field-extra")?.tagName).toBe("TEXTAREA");
    expect($(c, "field-token")?.getAttribute("type")).toBe("password");
    expect($(c, "field-ids")?.tagName).toBe("TEXTAREA");
  });

  it("shows the required error and the server-side rules inline", () => {
    r = render(<Harness />);
    const c = r.container;
    expect($(c, "error-url")?.textContent).toBe("Required");
    type($(c, "field-url")!, "ftp://x");
    expect($(c, "error-url")?.textContent).toContain("pattern");
    type($(c, "field-url")!, "https://example.com");
    expect($(c, "error-url")).toBeNull();
    type($(c, "field-top")!, "500");
    expect(last.values.top).toBe(500);
    expect($(c, "error-top")?.textContent).toBe("Must be at most 100");
    type($(c, "field-top")!, "");
    expect(last.values.top).toBeUndefined();
  });

  it("converts values to the JSON the server expects", () => {
    r = render(<Harness />);
    const c = r.container;
    click($(c, "field-dry_run")!);
    expect(last.values.dry_run).toBe(true);
    type($(c, "field-fmt")!, "1");
    expect(last.values.fmt).toBe("json");
    click($(c, "field-cols")!.querySelectorAll("input")[2]);
    click($(c, "field-cols")!.querySelectorAll("input")[0]);
    expect(last.values.cols).toEqual(["c", "a"]);
    type($(c, "field-day")!, "2024-03-01");
    expect(last.values.day).toBe("2024-03-01");
    type($(c, "field-at")!, "2024-03-01T08:15:00");
    expect(String(last.values.at)).toMatch(/^2024-0[23]-\d\dT\d\d:15:00Z$/);
    type($(c, "field-ids")!, "1\n2\n");
    expect(last.values.ids).toEqual([1, 2]);
    type($(c, "field-notes")!, "a\nb");
    expect(last.values.notes).toBe("a\nb");
    type($(c, "field-notes")!, "");
    expect(last.values.notes).toBeNull();
  });

  it("validates the JSON editor", () => {
    r = render(<Harness />);
    const c = r.container;
    type($(c, "field-extra")!, "{bad");
    expect(last.parse.extra?.code).toBe("json");
    expect($(c, "error-extra")?.textContent).toBe("Not valid JSON");
    type($(c, "field-extra")!, '{"a": 1}');
    expect(last.values.extra).toEqual({ a: 1 });
    expect($(c, "error-extra")).toBeNull();
    type($(c, "field-extra")!, "[]");
    expect($(c, "error-extra")?.textContent).toContain("object");
  });

  it("speaks Chinese", () => {
    r = render(<Harness lang="zh-CN" />);
    expect($(r.container, "error-url")?.textContent).toBe("必填");
    expect(r.container.textContent).toContain("机密");
  });

  it("drops masked secrets when loading a preset", () => {
    const { values, skippedSecrets } = loadableValues(schema, { token: "***", top: 3, unknown: 1 });
    expect(values).toEqual({ top: 3 });
    expect(skippedSecrets).toEqual(["token"]);
  });
});
