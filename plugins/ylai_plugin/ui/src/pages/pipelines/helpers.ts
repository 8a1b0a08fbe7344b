// Small pieces of the studio that its model (src/lib/pipeline) does not hold: YAML text with
// line numbers for the YAML tab, the output→param type rule, a dagre layout and undo history.
import dagre from "@dagrejs/dagre";
import { parseDocument, stringify } from "yaml";
import { mainType, type Schema } from "../../lib/schema";
import type { Layout, PipelineSpec } from "../../lib/pipeline/types";

const ORDER = ["name", "title", "description", "owner", "tags", "schedule", "retries", "params", "nodes", "edges", "alerts", "layout"];

/** The spec as its YAML file (the fields in the order of the docs, layout last). */
export function toYaml(spec: PipelineSpec): string {
  const rec = spec as unknown as Record<string, unknown>;
  const ordered: Record<string, unknown> = {};
  for (const k of ORDER) if (rec[k] !== undefined) ordered[k] = rec[k];
  for (const k of Object.keys(rec)) if (!(k in ordered) && rec[k] !== undefined) ordered[k] = rec[k];
  return stringify(ordered, { lineWidth: 0 });
}

export interface YamlProblem {
  line: number;
  message: string;
}

/** Parse the YAML tab's text: a spec, or the first problem with its line (1-based). */
export function fromYaml(text: string): { spec: PipelineSpec } | { problem: YamlProblem } {
  const doc = parseDocument(text);
  const err = doc.errors[0];
  if (err) return { problem: { line: err.linePos?.[0]?.line ?? 1, message: err.message.split("\n")[0] } };
  const value: unknown = doc.toJS();
  if (!value || typeof value !== "object" || Array.isArray(value)) return { problem: { line: 1, message: "a pipeline is a mapping (name, nodes, ...)" } };
  const rec = value as Record<string, unknown>;
  const nodes = rec.nodes;
  if (!nodes || typeof nodes !== "object" || Array.isArray(nodes)) return { problem: { line: lineOf(text, "nodes"), message: "nodes: a mapping of node id to node" } };
  for (const [id, node] of Object.entries(nodes as Record<string, unknown>)) {
    if (!node || typeof node !== "object" || typeof (node as Record<string, unknown>).script !== "string") {
      return { problem: { line: lineOf(text, `${id}`), message: `nodes.${id}: a node needs a script` } };
    }
    const n = node as Record<string, unknown>;
    if (n.params === undefined || n.params === null) n.params = {};
  }
  return { spec: rec as unknown as PipelineSpec };
}

function lineOf(text: string, key: string): number {
  const i = text.split("\n").findIndex((l) => new RegExp(`^\\s*${key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\s*:`).test(l));
  return i < 0 ? 1 : i + 1;
}

/** Whether an output of type `output` may feed a param with this schema (pipeline_spec._types_compatible). */
export function outputFits(output: string | undefined, param: Schema | undefined): boolean {
  const target = param ? mainType(param) : undefined;
  if (!output || output === "any" || !target) return true;
  return output === target || (output === "integer" && target === "number");
}

export const NODE_W = 200;
export const NODE_H = 64;

/** Positions for every node, left to right by dependency (dagre). */
export function layoutSpec(spec: PipelineSpec, edges: { source: string; target: string }[]): Layout {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "LR", nodesep: 40, ranksep: 80, marginx: 20, marginy: 20 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const id of Object.keys(spec.nodes)) g.setNode(id, { width: NODE_W, height: NODE_H });
  for (const e of edges) if (e.source in spec.nodes && e.target in spec.nodes) g.setEdge(e.source, e.target);
  dagre.layout(g);
  const out: Layout = {};
  for (const id of Object.keys(spec.nodes)) {
    const n = g.node(id);
    out[id] = { x: Math.round(n.x - NODE_W / 2), y: Math.round(n.y - NODE_H / 2) };
  }
  return out;
}

/** An undo/redo history of values (each edit a new value). */
export interface History<T> {
  past: T[];
  present: T;
  future: T[];
}

export const LIMIT = 200;

export function push<T>(h: History<T>, next: T): History<T> {
  if (next === h.present) return h;
  return { past: [...h.past, h.present].slice(-LIMIT), present: next, future: [] };
}

export function undo<T>(h: History<T>): History<T> {
  if (!h.past.length) return h;
  return { past: h.past.slice(0, -1), present: h.past[h.past.length - 1], future: [h.present, ...h.future] };
}

export function redo<T>(h: History<T>): History<T> {
  if (!h.future.length) return h;
  return { past: [...h.past, h.present], present: h.future[0], future: h.future.slice(1) };
}

/** A JSON schema for a pipeline param declared the manifest's way (type: date, enum, ...). */
export function paramSchema(p: Record<string, unknown>): Schema {
  const { type, required: _r, labels, ...rest } = p as { type?: string; required?: unknown; labels?: Record<string, string> };
  void _r;
  const s = { ...rest } as Schema;
  if (type === "date" || type === "date-time") {
    s.type = "string";
    s.format = type;
  } else if (type === "enum") {
    if (labels) s.values_display = labels;
  } else if (type) s.type = type as Schema["type"];
  else s.type = "string";
  return s;
}
