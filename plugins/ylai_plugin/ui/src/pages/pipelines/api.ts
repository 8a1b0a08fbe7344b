// The pipelines API the studio calls. The list, detail and validate routes are in the generated
// client; the write routes (create, versions, restore, delete, run) are called through `loose`
// until `npm run gen:api` brings them in: one place to switch to the typed calls.
import { ylai, data, type Schemas } from "../../api/client";
import type { PipelineSpec, Problem } from "../../lib/pipeline/types";

export type PipelineOut = Schemas["PipelineOut"];
export type PipelineDetail = Schemas["PipelineDetail"];
export type ValidateOut = Schemas["ValidateOut"];

/** What POST /pipelines and POST /pipelines/{name}/versions answer. */
export interface DbPipelineOut {
  name: string;
  dag_id: string;
  kind?: string;
  current_version: number;
  versions?: unknown[];
}

/** What POST /pipelines/{name}/run answers (RunOut). */
export interface PipelineRun {
  run_id: string;
  dag_id: string;
  [key: string]: unknown;
}

type LooseCall = (path: string, init: { params?: { path?: Record<string, string> }; body?: unknown }) => Promise<{ data?: unknown }>;
const loose = ylai as unknown as { POST: LooseCall; DELETE: LooseCall; GET: LooseCall };

export function listPipelines(q: string, signal?: AbortSignal) {
  return data(ylai.GET("/api/v1/pipelines", { params: { query: { q: q || undefined, limit: 200 } }, signal }));
}

export function getPipeline(name: string, signal?: AbortSignal) {
  return data(ylai.GET("/api/v1/pipelines/{name}", { params: { path: { name } }, signal }));
}

export function listScripts(signal?: AbortSignal) {
  return data(ylai.GET("/api/v1/scripts", { params: { query: { limit: 500 } }, signal }));
}

export async function validateSpec(spec: PipelineSpec, signal?: AbortSignal): Promise<{ valid: boolean; problems: Problem[]; params_schema: Record<string, unknown> | null }> {
  return data(ylai.POST("/api/v1/pipelines/validate", { body: { spec: spec as unknown as Record<string, unknown> }, signal }));
}

export async function createPipeline(spec: PipelineSpec, comment: string): Promise<DbPipelineOut> {
  return (await loose.POST("/api/v1/pipelines", { body: { spec, comment } })).data as DbPipelineOut;
}

export async function saveVersion(name: string, spec: PipelineSpec, comment: string): Promise<DbPipelineOut> {
  return (await loose.POST("/api/v1/pipelines/{name}/versions", { params: { path: { name } }, body: { spec, comment } })).data as DbPipelineOut;
}

export async function runPipeline(name: string, params: Record<string, unknown>, note: string): Promise<PipelineRun> {
  return (await loose.POST("/api/v1/pipelines/{name}/run", { params: { path: { name } }, body: { params, note } })).data as PipelineRun;
}
