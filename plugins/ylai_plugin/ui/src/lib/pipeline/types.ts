// The pipeline editor's model: a pipeline spec as the JSON of its YAML file
// (operators/ylai_operators/pipeline_spec.py is the reference), and what the canvas shows.

import type { Schema } from "../schema";

/** A JSON value, as YAML reads it. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A node parameter fed from a pipeline-level param: `{param: rows}`. */
export interface ParamRef {
  param: string;
}

/** A node parameter fed from an upstream node's output: `{from: generate.path}`. */
export interface Binding {
  from: string;
}

/** A node parameter: a literal, `{param: <pipeline param>}` or `{from: <node>.<output>}`. */
export type ParamValue = JsonValue | ParamRef | Binding;

/** Where the editor drew each node (canvas units); ignored by the checker and the DAG builder. */
export type Layout = Record<string, { x: number; y: number }>;

/** A node's overrides of its script's resources; a field left out keeps the manifest's value. */
export interface NodeResources {
  /** Pool slots. */
  cpu?: number | null;
  /** Limit on the RSS of the script's process tree, MiB. */
  memory_mb?: number | null;
  /** Celery queue. */
  queue?: string | null;
}

/** One step of a pipeline. */
export interface NodeSpec {
  script: string;
  params: Record<string, ParamValue>;
  depends_on?: string[];
  retries?: number | null;
  timeout?: string | number | null;
  resources?: NodeResources | null;
}

/** A pipeline-level param (the manifest's ParamSpec: type, default, required, minimum, ...). */
export interface PipelineParam {
  type?: string;
  title?: string | null;
  description?: string | null;
  default?: JsonValue;
  required?: boolean;
  enum?: JsonValue[] | null;
  [key: string]: JsonValue | undefined;
}

/** A pipeline file. */
export interface PipelineSpec {
  name: string;
  title?: string | null;
  description?: string;
  owner?: string;
  tags?: string[];
  schedule?: string | null;
  retries?: number;
  params?: Record<string, PipelineParam>;
  nodes: Record<string, NodeSpec>;
  edges?: [string, string][];
  alerts?: Record<string, JsonValue> | null;
  layout?: Layout;
}

/** What the editor needs of a script (a subset of the API's ScriptOut). */
export interface ScriptInfo {
  name: string;
  title: string;
  tags: string[];
  owner: string;
  params_schema: Schema;
  outputs: Record<string, { type: string; description?: string | null }>;
}

/** The data of a canvas node (a type alias: React Flow wants an index-compatible record). */
export type StudioNodeData = {
  script: string;
  nodeId: string;
  problems: string[];
  state?: string | null;
  durationSeconds?: number | null;
  /** The spec's layout had no position for this node: it sits at {0, 0} until laid out. */
  needsLayout?: boolean;
};

/** The data of a canvas edge: why it exists. */
export type StudioEdgeData = {
  /** Parameters of the target fed from the source (`{from: source.output}`). */
  bindings: string[];
  /** The target's depends_on names the source. */
  dependsOn: boolean;
  /** The pipeline's `edges` list has [source, target]. */
  explicit: boolean;
};

/** A problem found in a pipeline: the node (null for the pipeline itself), field and reason. */
export interface Problem {
  node: string | null;
  field: string;
  reason: string;
}

export function isBinding(value: ParamValue | undefined): value is Binding {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    Object.keys(value).length === 1 &&
    typeof (value as { from?: unknown }).from === "string"
  );
}

export function isParamRef(value: ParamValue | undefined): value is ParamRef {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    Object.keys(value).length === 1 &&
    typeof (value as { param?: unknown }).param === "string"
  );
}

/** `{from: "a.b.c"}` → node "a", output "b.c" (like Python's str.partition). */
export function splitBinding(binding: Binding): { node: string; output: string } {
  const dot = binding.from.indexOf(".");
  return dot < 0
    ? { node: binding.from, output: "" }
    : { node: binding.from.slice(0, dot), output: binding.from.slice(dot + 1) };
}

/** A node id the checker accepts (pipeline_spec.NODE_ID), `collect_outputs` being reserved. */
export const NODE_ID = /^[A-Za-z][A-Za-z0-9_]{0,62}$/;
export const RESERVED_NODE_ID = "collect_outputs";
