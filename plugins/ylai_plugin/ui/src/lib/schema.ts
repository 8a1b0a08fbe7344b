// A small JSON Schema subset: what ylai's manifests and Airflow's Params produce, validated
// the way the server (jsonschema with a FormatChecker) does.

export type JsonType = "string" | "integer" | "number" | "boolean" | "array" | "object" | "null";

export interface Schema {
  type?: JsonType | JsonType[];
  title?: string;
  description?: string | null;
  default?: unknown;
  enum?: unknown[];
  values_display?: Record<string, string>;
  examples?: unknown[];
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  items?: Schema;
  minItems?: number;
  maxItems?: number;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean;
  section?: string;
  "x-ylai-secret"?: boolean;
}

/** One problem, as an i18n key ("validation.<code>") plus its parameters. */
export interface Problem {
  code: string;
  params?: Record<string, string | number>;
}

export function types(schema: Schema): JsonType[] {
  if (Array.isArray(schema.type)) return schema.type;
  if (schema.type) return [schema.type];
  if (schema.enum) {
    const kinds = new Set(schema.enum.filter((v) => v !== null).map(typeOf));
    return kinds.size === 1 ? [...kinds] : [];
  }
  return [];
}

/** The main (non-null) type of a field, for choosing its input. */
export function mainType(schema: Schema): JsonType | undefined {
  return types(schema).find((t) => t !== "null");
}

export function nullable(schema: Schema): boolean {
  return types(schema).includes("null") || (schema.enum?.includes(null) ?? false);
}

export function typeOf(value: unknown): JsonType {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  if (typeof value === "boolean") return "boolean";
  if (typeof value === "string") return "string";
  return "object";
}

function hasType(value: unknown, t: JsonType): boolean {
  const actual = typeOf(value);
  if (t === "number") return actual === "number" || actual === "integer";
  if (typeof value === "number" && !Number.isFinite(value)) return false;
  return actual === t;
}

function equal(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function validDate(y: string, m: string, d: string): boolean {
  const date = new Date(Date.UTC(Number(y), Number(m) - 1, Number(d)));
  return date.getUTCFullYear() === Number(y) && date.getUTCMonth() === Number(m) - 1 && date.getUTCDate() === Number(d);
}

export function checkFormat(format: string | undefined, value: string): boolean {
  if (format === "date") {
    const m = DATE.exec(value);
    return !!m && validDate(m[1], m[2], m[3]);
  }
  if (format === "date-time") {
    const m = DATE_TIME.exec(value);
    return !!m && validDate(m[1], m[2], m[3]) && Number(m[4]) < 24 && Number(m[5]) < 60 && Number(m[6]) < 61;
  }
  return true; // multiline, time, ... are hints for the form only
}

/** Why ``value`` does not fit ``schema`` (first problem only), or null. */
export function validateValue(schema: Schema, value: unknown): Problem | null {
  if (typeof value === "number" && Number.isNaN(value)) return { code: "notANumber" };
  const allowed = types(schema);
  if (allowed.length && !allowed.some((t) => hasType(value, t))) {
    return { code: "type", params: { type: allowed.filter((t) => t !== "null").join(" | ") || "null" } };
  }
  if (schema.enum && !schema.enum.some((v) => equal(v, value))) {
    return { code: "enum", params: { values: schema.enum.filter((v) => v !== null).map(String).join(", ") } };
  }
  if (typeof value === "number") {
    if (schema.minimum !== undefined && value < schema.minimum) return { code: "minimum", params: { min: schema.minimum } };
    if (schema.maximum !== undefined && value > schema.maximum) return { code: "maximum", params: { max: schema.maximum } };
    if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) {
      return { code: "exclusiveMinimum", params: { min: schema.exclusiveMinimum } };
    }
    if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) {
      return { code: "exclusiveMaximum", params: { max: schema.exclusiveMaximum } };
    }
  }
  if (typeof value === "string") {
    const length = [...value].length; // code points, like Python's len()
    if (schema.minLength !== undefined && length < schema.minLength) return { code: "minLength", params: { min: schema.minLength } };
    if (schema.maxLength !== undefined && length > schema.maxLength) return { code: "maxLength", params: { max: schema.maxLength } };
    if (schema.pattern !== undefined) {
      let re: RegExp | null = null;
      try {
        re = new RegExp(schema.pattern, "u");
      } catch {
        re = null; // a pattern JavaScript cannot compile is left to the server
      }
      if (re && !re.test(value)) return { code: "pattern", params: { pattern: schema.pattern } };
    }
    if (schema.format && !checkFormat(schema.format, value)) return { code: "format", params: { format: schema.format } };
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) return { code: "minItems", params: { min: schema.minItems } };
    if (schema.maxItems !== undefined && value.length > schema.maxItems) return { code: "maxItems", params: { max: schema.maxItems } };
    if (schema.items) {
      for (const item of value) {
        const p = validateValue(schema.items, item);
        if (p) return { code: "item", params: { value: String(item), reason: p.code } };
      }
    }
  }
  if (typeOf(value) === "object" && schema.properties) {
    const rec = value as Record<string, unknown>;
    for (const name of schema.required ?? []) {
      if (rec[name] === undefined) return { code: "requiredKey", params: { name } };
    }
  }
  return null;
}

/**
 * Validate a conf object against an object schema: ``required`` names, then each given value.
 * Undefined means "not given" (the DAG's default applies).
 */
export function validateParams(schema: Schema, values: Record<string, unknown>): Record<string, Problem> {
  const problems: Record<string, Problem> = {};
  const props = schema.properties ?? {};
  for (const name of schema.required ?? []) {
    if (values[name] === undefined && props[name]?.default === undefined) problems[name] = { code: "required" };
  }
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined || problems[name]) continue;
    const prop = props[name];
    if (!prop) continue;
    const p = validateValue(prop, value);
    if (p) problems[name] = p;
  }
  return problems;
}

/** Drop undefined entries: what is sent as conf. */
export function confOf(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined));
}

/** Airflow's GET /api/v2/dags/{id}/details params (Param.dump()) as one object schema. */
export function schemaFromDagParams(
  params: Record<string, { value?: unknown; schema?: Schema; description?: string | null }> | null | undefined,
): Schema {
  const properties: Record<string, Schema> = {};
  const required: string[] = [];
  for (const [name, p] of Object.entries(params ?? {})) {
    const prop: Schema = { ...(p.schema ?? {}) };
    if (p.description && !prop.description) prop.description = p.description;
    if (p.value !== undefined && p.value !== null) prop.default = p.value;
    else if (!nullable(prop) && prop.type !== undefined) required.push(name);
    properties[name] = prop;
  }
  return { type: "object", properties, required };
}

/** ISO date-time (any offset) to the value of an <input type="datetime-local"> (local time). */
export function isoToLocalInput(iso: unknown): string {
  if (typeof iso !== "string" || !iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** <input type="datetime-local"> value (local time) to ISO 8601 in UTC. */
export function localInputToIso(local: string): string | undefined {
  if (!local) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? local : d.toISOString().replace(/\.000Z$/, "Z");
}
