// Generates the UI's API types from the OpenAPI documents (`npm run gen:api`), with
// openapi-typescript; src/api/client.ts makes typed calls with openapi-fetch.
//   generated/ylai.ts     from docs/api/openapi.json (ylai's API, written by `ylai openapi`)
//   generated/airflow.ts  from the installed Airflow's /api/v2 document (the parts the pages call)
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

export const TARGETS = [
  { name: "ylai", source: () => join(REPO, "docs/api/openapi.json"), out: join(UI, "generated/ylai.ts") },
  { name: "airflow", source: airflowDocument, out: join(UI, "generated/airflow.ts") },
];

/** The server URL of a JSON document ("/ylai"): the UI resolves it against Airflow's base URL. */
function serverUrl(source) {
  if (!source.endsWith(".json")) return null;
  const doc = JSON.parse(readFileSync(source, "utf-8"));
  return doc.servers?.[0]?.url ?? null;
}

// The enum value lists (`enumValues`) type a record of enums as a list of its values (mePermissionsValues):
// the types are right, the check of those lists is not.
const NOCHECK = "// @ts-nocheck: generated (scripts/gen-api.mjs); see the note there on enum value lists\n";

/** The text of one generated file. */
export async function generate(source) {
  const ast = await openapiTS(pathToFileURL(source), { enumValues: true, alphabetize: false, defaultNonNullable: false });
  const server = serverUrl(source);
  const tail = server === null ? "" : `\n/** servers[0].url of the document. */\nexport const SERVER_URL = ${JSON.stringify(server)};\n`;
  return NOCHECK + COMMENT_HEADER + astToString(ast) + tail;
}

/** Whether the committed file of ``target`` is what its document generates now (null: no document). */
export async function isCurrent(target) {
  const source = target.source();
  if (!source) return null;
  return existsSync(target.out) && readFileSync(target.out, "utf-8") === (await generate(source));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const target of TARGETS) {
    const source = target.source();
    if (!source) {
      console.error(`${target.name}: no OpenAPI document found (install the Python environment: make install)`);
      process.exit(1);
    }
    writeFileSync(target.out, await generate(source));
    console.log(`${target.name}: ${source} -> ${target.out}`);
  }
}
