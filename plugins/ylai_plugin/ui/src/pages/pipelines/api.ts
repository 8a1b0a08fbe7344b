// The pipelines API the studio calls, through the typed client (generated/ylai.ts).
import { ylai, data, type Schemas } from "../../api/client";
import type { PipelineSpec, Problem } from "../../lib/pipeline";

export type PipelineOut = Schemas["PipelineOut"];
export type PipelineDetail = Schemas["PipelineDetail"];
export type DbPipelineOut = Schemas["DbPipelineOut"];
export type PipelineRun = Schemas["RunOut"];

/** The spec as the API's JSON body. */
const body = (spec: PipelineSpec) => spec as unknown as Record<string, unknown>;

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
  return data(ylai.POST("/api/v1/pipelines/validate", { body: { spec: body(spec) }, signal }));
}

export function createPipeline(spec: PipelineSpec, comment: string): Promise<DbPipelineOut> {
  return data(ylai.POST("/api/v1/pipelines", { body: { spec: body(spec), comment } }));
}

export function saveVersion(name: string, spec: PipelineSpec, comment: string): Promise<DbPipelineOut> {
  return data(ylai.POST("/api/v1/pipelines/{name}/versions", { params: { path: { name } }, body: { spec: body(spec), comment } }));
}

export function runPipeline(name: string, params: Record<string, unknown>, note: string): Promise<PipelineRun> {
  return data(ylai.POST("/api/v1/pipelines/{name}/run", { params: { path: { name } }, body: { params, note: note || null } }));
}

export function listVersions(name: string, signal?: AbortSignal): Promise<DbPipelineOut> {
  return data(ylai.GET("/api/v1/pipelines/{name}/versions", { params: { path: { name } }, signal }));
}

export function restoreVersion(name: string, version: number, comment: string): Promise<DbPipelineOut> {
  return data(ylai.POST("/api/v1/pipelines/{name}/versions/{version}/restore", { params: { path: { name, version } }, body: { comment } }));
}

export async function deletePipeline(name: string): Promise<void> {
  await ylai.DELETE("/api/v1/pipelines/{name}", { params: { path: { name } } });
}
