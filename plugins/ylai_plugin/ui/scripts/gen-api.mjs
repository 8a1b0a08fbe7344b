// Generates the UI's API types from the OpenAPI documents (`npm run gen:api`), with
// openapi-typescript; src/api/client.ts makes typed calls with openapi-fetch.
//   generated/ylai.ts     from docs/api/openapi.json (ylai's API, written by `ylai openapi`)
//   generated/airflow.ts  from the installed Airflow's /api/v2 document (the parts the pages call)
//   generated/alertConditions.ts  the alert condition types' params schemas (fields, defaults, checks,
//                         label keys, x-ylai-ui hints), in the registry's order: the rule editor's forms
// src/api/generated.test.ts runs the same generation and fails when a committed file is stale.
// The files live outside src/: generated code repeats itself by design (one block per operation).
import { readdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import openapiTS, { astToString, COMMENT_HEADER } from "openapi-typescript";

const UI = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const REPO = resolve(UI, "../../..");

/** Airflow's own document, as the installed apache-airflow ships it (AIRFLOW_OPENAPI overrides). */
export function airflowDocument() {
  if (process.env.AIRFLOW_OPENAPI) return process.env.AIRFLOW_OPENAPI;
  const lib = join(REPO, ".venv", "lib");
  if (!existsSync(lib)) return null;
  for (const py of readdirSync(lib)) {
    const doc = join(lib, py, "site-packages/airflow/api_fastapi/core_api/openapi/v2-rest-api-generated.yaml");
    if (existsSync(doc)) return doc;
  }
  return null;
}

const ylaiDocument = () => join(REPO, "docs/api/openapi.json");

export const TARGETS = [
  { name: "ylai", source: ylaiDocument, out: join(UI, "generated/ylai.ts") },
  { name: "airflow", source: airflowDocument, out: join(UI, "generated/airflow.ts") },
  { name: "alertConditions", source: ylaiDocument, out: join(UI, "generated/alertConditions.ts"), generate: generateConditions },
];

/** The server URL of a JSON document ("/ylai"): the UI resolves it against Airflow's base URL. */
function serverUrl(source) {
  if (!source.endsWith(".json")) return null;
  const doc = JSON.parse(readFileSync(source, "utf-8"));
  return doc.servers?.[0]?.url ?? null;
}

/** The version of a JSON document (ylai's version: the feedback dialog sends it as the app version). */
function documentVersion(source) {
  if (!source.endsWith(".json")) return null;
  return JSON.parse(readFileSync(source, "utf-8")).info?.version ?? null;
}

// The enum value lists (`enumValues`) type a record of enums as a list of its values (mePermissionsValues):
// the types are right, the check of those lists is not.
const NOCHECK = "// @ts-nocheck: generated (scripts/gen-api.mjs); see the note there on enum value lists\n";

/** The text of one generated file. */
export async function generate(source) {
  const ast = await openapiTS(pathToFileURL(source), { enumValues: true, alphabetize: false, defaultNonNullable: false });
  const server = serverUrl(source);
  const version = documentVersion(source);
  const tail =
    (server === null ? "" : `\n/** servers[0].url of the document. */\nexport const SERVER_URL = ${JSON.stringify(server)};\n`) +
    (version === null ? "" : `\n/** info.version of the document. */\nexport const API_VERSION = ${JSON.stringify(version)};\n`);
  return NOCHECK + COMMENT_HEADER + astToString(ast) + tail;
}

const CONSTRAINTS = ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "enum", "pattern", "format"];

/** One property of a params schema as a form field (a nullable field is its non-null member plus ``nullable``). */
function conditionField(name, prop, required) {
  const members = prop.anyOf ?? [prop];
  const value = members.find((m) => m.type !== "null") ?? {};
  const ui = prop["x-ylai-ui"] ?? {};
  const field = { name, type: value.type ?? "string", required: required.includes(name), nullable: members.some((m) => m.type === "null") };
  if ("default" in prop) field.default = prop.default;
  for (const key of CONSTRAINTS) {
    const v = prop[key] ?? value[key];
    if (v !== undefined) field[key] = v;
  }
  field.label = ui.label ?? `alerts.f.${name}`;
  for (const [key, v] of Object.entries(ui)) if (key !== "label") field[key] = v;
  return field;
}

/** The params schema of each condition type of ``AlertConditionType``, as the rule editor's fields. */
export function conditionSpecs(doc) {
  const schemas = doc.components.schemas;
  const members = Object.values(schemas).filter((s) => s.properties?.type?.const !== undefined);
  return schemas.AlertConditionType.enum.map((type) => {
    const schema = members.find((s) => s.properties.type.const === type);
    if (!schema) throw new Error(`no params schema for the alert condition type ${type}`);
    const required = schema.required ?? [];
    const { order, ...ui } = schema["x-ylai-ui"] ?? {};
    const fields = (order ?? Object.keys(schema.properties).filter((name) => name !== "type")).map((name) => conditionField(name, schema.properties[name], required));
    return { type, title: schema.title, labels: schema["x-ylai-labels"], fields, ...ui };
  });
}

const CONDITIONS_HEAD = `// Generated by scripts/gen-api.mjs from docs/api/openapi.json: do not edit.
// The alert condition types of ylai's registry with their params (JSON Schema and the x-ylai-ui hints
// of each condition module); src/lib/alertForm.ts builds the rule editor's forms from them.

import type { ConditionSpec } from "../src/lib/alertConditionTypes";

export type { ConditionField, ConditionModes, ConditionSpec } from "../src/lib/alertConditionTypes";
`;

/** The text of generated/alertConditions.ts. */
export async function generateConditions(source) {
  const specs = conditionSpecs(JSON.parse(readFileSync(source, "utf-8")));
  return `${CONDITIONS_HEAD}\nexport const ALERT_CONDITIONS: ConditionSpec[] = ${JSON.stringify(specs, null, 2)};\n`;
}

/** Whether the committed file of ``target`` is what its document generates now (null: no document). */
export async function isCurrent(target) {
  const source = target.source();
  if (!source) return null;
  return existsSync(target.out) && readFileSync(target.out, "utf-8") === (await (target.generate ?? generate)(source));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const target of TARGETS) {
    const source = target.source();
    if (!source) {
      console.error(`${target.name}: no OpenAPI document found (install the Python environment: make install)`);
      process.exit(1);
    }
    writeFileSync(target.out, await (target.generate ?? generate)(source));
    console.log(`${target.name}: ${source} -> ${target.out}`);
  }
}
