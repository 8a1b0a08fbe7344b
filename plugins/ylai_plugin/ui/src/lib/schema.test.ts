import { describe, expect, it } from "vitest";
import { checkFormat, confOf, isoToLocalInput, localInputToIso, schemaFromDagParams, validateParams, validateValue, type Schema } from "./schema";

const code = (s: Schema, v: unknown) => validateValue(s, v)?.code ?? null;

describe("validateValue", () => {
  it("checks types like JSON Schema", () => {
    expect(code({ type: "integer" }, 3)).toBeNull();
    expect(code({ type: "integer" }, 3.5)).toBe("type");
    expect(code({ type: "number" }, 3)).toBeNull();
    expect(code({ type: "string" }, 3)).toBe("type");
    expect(code({ type: ["string", "null"] }, null)).toBeNull();
    expect(code({ type: "string" }, null)).toBe("type");
    expect(code({ type: "boolean" }, "true")).toBe("type");
    expect(code({ type: "object" }, [])).toBe("type");
    expect(code({ type: "array" }, [])).toBeNull();
    expect(code({ type: "integer" }, Number.NaN)).toBe("notANumber");
  });

  it("checks bounds and lengths", () => {
    const top: Schema = { type: "integer", minimum: 1, maximum: 100 };
    expect(code(top, 0)).toBe("minimum");
    expect(code(top, 1)).toBeNull();
    expect(code(top, 100)).toBeNull();
    expect(code(top, 101)).toBe("maximum");
    expect(validateValue(top, 0)?.params).toEqual({ min: 1 });
    const name: Schema = { type: "string", minLength: 2, maxLength: 3 };
    expect(code(name, "a")).toBe("minLength");
    expect(code(name, "abcd")).toBe("maxLength");
    expect(code(name, "日本")).toBeNull();
  });

  it("searches patterns like Python's re.search", () => {
    const s: Schema = { type: "string", pattern: "^https?://" };
    expect(code(s, "http://x")).toBeNull();
    expect(code(s, "ftp://x")).toBe("pattern");
    expect(code({ type: "string", pattern: "b" }, "abc")).toBeNull();
  });

  it("checks enums, with null for optional ones", () => {
    const s: Schema = { type: ["string", "null"], enum: ["csv", "json", null] };
    expect(code(s, "csv")).toBeNull();
    expect(code(s, null)).toBeNull();
    expect(code(s, "xml")).toBe("enum");
    expect(code({ enum: [1, 2] }, 2)).toBeNull();
  });

  it("checks dates and date-times", () => {
    expect(checkFormat("date", "2024-02-29")).toBe(true);
    expect(checkFormat("date", "2023-02-29")).toBe(false);
    expect(checkFormat("date", "2024-2-1")).toBe(false);
    expect(checkFormat("date-time", "2024-01-01T10:00:00Z")).toBe(true);
    expect(checkFormat("date-time", "2024-01-01T10:00:00.5+02:00")).toBe(true);
    expect(checkFormat("date-time", "2024-01-01T10:00")).toBe(false);
    expect(code({ type: "string", format: "date" }, "tomorrow")).toBe("format");
    expect(code({ type: "string", format: "multiline" }, "a\nb")).toBeNull();
  });

  it("checks arrays and their items", () => {
    const s: Schema = { type: "array", items: { type: "string", enum: ["a", "b"] }, minItems: 1, maxItems: 2 };
    expect(code(s, [])).toBe("minItems");
    expect(code(s, ["a", "b", "a"])).toBe("maxItems");
    expect(code(s, ["a", "c"])).toBe("item");
    expect(code(s, ["b"])).toBeNull();
  });
});

describe("validateParams", () => {
  const schema: Schema = {
    type: "object",
    properties: { path: { type: "string", default: "/tmp" }, top: { type: "integer", minimum: 1 }, url: { type: "string" } },
    required: ["url", "path"],
  };

  it("requires required params without a default", () => {
    expect(validateParams(schema, {})).toEqual({ url: { code: "required" } });
  });

  it("validates each given value, ignoring undefined", () => {
    const problems = validateParams(schema, { url: "x", top: 0, path: undefined });
    expect(Object.keys(problems)).toEqual(["top"]);
    expect(problems.top.code).toBe("minimum");
  });

  it("builds conf without undefined entries", () => {
    expect(confOf({ a: 1, b: undefined, c: null })).toEqual({ a: 1, c: null });
  });
});

describe("Airflow params and dates", () => {
  it("turns DAG details params into an object schema", () => {
    const s = schemaFromDagParams({
      rows: { value: 10, schema: { type: "integer", minimum: 1 }, description: "Rows" },
      name: { value: null, schema: { type: "string" } },
      note: { value: null, schema: { type: ["string", "null"] } },
    });
    expect(s.properties?.rows).toEqual({ type: "integer", minimum: 1, default: 10, description: "Rows" });
    expect(s.required).toEqual(["name"]);
  });

  it("converts datetime-local values to ISO and back", () => {
    const iso = localInputToIso("2024-05-01T12:30:15");
    expect(iso).toMatch(/^2024-05-0\dT\d\d:30:15Z$/);
    expect(isoToLocalInput(iso)).toBe("2024-05-01T12:30:15");
    expect(localInputToIso("")).toBeUndefined();
  });
});
