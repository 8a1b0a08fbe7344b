// Which upstream outputs and pipeline params may feed a node's parameter, by the checker's
// type rule (pipeline_spec._types_compatible and param_schema.json_type).

import type { Schema } from "../schema";
import { specToGraph, wouldCreateCycle } from "./graph";
import type { PipelineParam, PipelineSpec, ScriptInfo } from "./types";

const COMPATIBLE = new Set(["integer->number"]);

/** Python's `_types_compatible`: an "any" (or unknown) source fits all, an untyped target takes all. */
export function typesCompatible(source: string | null | undefined, target: string | null | undefined): boolean {
  if (source == null || source === "any" || target == null) return true;
  return source === target || COMPATIBLE.has(`${source}->${target}`);
}

function scalarType(value: unknown): string | null {
  if (typeof value === "boolean") return "boolean";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  if (typeof value === "string") return "string";
  return null;
}

function enumType(values: readonly unknown[]): string | null {
  const kinds = new Set(values.map(scalarType));
  if (kinds.size === 2 && kinds.has("integer") && kinds.has("number")) return "number";
  if (kinds.size === 1 && !kinds.has(null)) return [...kinds][0];
  return null;
}

/** The JSON type a script parameter's schema expects (null: any). */
export function schemaType(schema: Schema | undefined): string | null {
  if (!schema) return null;
  if (Array.isArray(schema.type)) return schema.type.find((t) => t !== "null") ?? null;
  if (schema.type) return schema.type;
  if (schema.enum) return enumType(schema.enum.filter((v) => v !== null));
  return null;
}

/** The JSON type of a pipeline param (`json_type` of its ParamSpec; type defaults to string). */
export function pipelineParamType(param: PipelineParam): string | null {
  const type = param.type ?? "string";
  if (type === "enum") return enumType(param.enum ?? []);
  if (type === "date" || type === "date-time") return "string";
  return type;
}

function paramSchema(spec: PipelineSpec, scripts: Record<string, ScriptInfo>, nodeId: string, param: string) {
  const node = spec.nodes[nodeId];
  const script = node ? scripts[node.script] : undefined;
  return script?.params_schema?.properties?.[param];
}

/**
 * Outputs of other nodes that may feed `paramName` of `nodeId`: not the node itself, not a node
 * downstream of it (the binding would close a cycle), of a type the parameter accepts.
 */
export function compatibleOutputs(
  spec: PipelineSpec,
  scripts: Record<string, ScriptInfo>,
  nodeId: string,
  paramName: string,
): { node: string; output: string; type: string }[] {
  if (!(nodeId in spec.nodes)) return [];
  const target = schemaType(paramSchema(spec, scripts, nodeId, paramName));
  const { edges } = specToGraph(spec);
  const found: { node: string; output: string; type: string }[] = [];
  for (const [id, node] of Object.entries(spec.nodes)) {
    if (id === nodeId || wouldCreateCycle(edges, id, nodeId)) continue;
    const script = scripts[node.script];
    for (const [output, info] of Object.entries(script?.outputs ?? {})) {
      if (typesCompatible(info.type, target)) found.push({ node: id, output, type: info.type });
    }
  }
  return found;
}

/** Pipeline params that may feed `paramName` of `nodeId`, with their JSON type (null: mixed enum). */
export function compatibleParams(
  spec: PipelineSpec,
  scripts: Record<string, ScriptInfo>,
  nodeId: string,
  paramName: string,
): { name: string; type: string | null }[] {
  if (!(nodeId in spec.nodes)) return [];
  const target = schemaType(paramSchema(spec, scripts, nodeId, paramName));
  return Object.entries(spec.params ?? {})
    .map(([name, param]) => ({ name, type: pipelineParamType(param) }))
    .filter((p) => typesCompatible(p.type, target));
}
