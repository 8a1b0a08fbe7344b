// Test data for the pipeline model: the example scripts and a seeded random pipeline generator.

import type { Schema } from "../schema";
import type { NodeSpec, ParamValue, PipelineSpec, ScriptInfo } from "./types";

function script(
  name: string,
  properties: Record<string, Schema>,
  outputs: Record<string, string>,
): ScriptInfo {
  return {
    name,
    title: name,
    tags: [],
    owner: "ylai",
    params_schema: { type: "object", properties, required: [], additionalProperties: false },
    outputs: Object.fromEntries(Object.entries(outputs).map(([k, type]) => [k, { type }])),
  };
}

/** The example scripts of dags/scripts, as GET /scripts describes them (schemas cut down). */
export const SCRIPTS: Record<string, ScriptInfo> = {
  data_generator: script(
    "data_generator",
    {
      rows: { type: "integer" },
      columns: { type: "array", items: { type: "string" } },
      seed: { type: "integer" },
      start_date: { type: "string", format: "date" },
      null_ratio: { type: "number" },
      output_format: { type: "string", enum: ["csv", "jsonl"] },
      options: { type: "object" },
    },
    { path: "string", rows: "integer", columns: "array", format: "string" },
  ),
  csv_profiler: script(
    "csv_profiler",
    { path: { type: "string" }, delimiter: { enum: [",", ";"] }, max_rows: { type: ["integer", "null"] } },
    { rows: "integer", columns: "integer", null_cells: "integer", profile_path: "string", column_stats: "object" },
  ),
  quality_gate: script(
    "quality_gate",
    {
      rows: { type: "integer" },
      columns: { type: "integer" },
      null_cells: { type: "integer" },
      disk_bytes: { type: "integer" },
      max_null_ratio: { type: "number" },
      fail_on_violation: { type: "boolean" },
      anything: {},
    },
    { verdict: "string", null_ratio: "number", rows: "integer", disk_bytes: "integer" },
  ),
  disk_usage: script(
    "disk_usage",
    { path: { type: "string" }, top: { type: "integer" } },
    { total_bytes: "integer", entries: "integer", free_bytes: "integer", raw: "any" },
  ),
};

/** A seeded PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LITERALS: ParamValue[] = [
  1, 0, -3, 2.5, "text", "yes", "2024-01-01", "multi\nline\n", "", true, false, null, [1, "a"], { k: [1, 2] }, "0o17",
  "a: b", "#hash", "1_000",
];

/**
 * A random acyclic pipeline of 1..maxNodes nodes: bindings, params, depends_on and edges point
 * only from earlier to later nodes; some nodes have a layout position, some node fields are set.
 */
export function randomSpec(seed: number, maxNodes = 30): PipelineSpec {
  const rand = rng(seed);
  const pick = <T,>(items: readonly T[]): T => items[Math.floor(rand() * items.length)];
  const names = Object.keys(SCRIPTS);
  const count = 1 + Math.floor(rand() * maxNodes);
  const ids: string[] = [];
  const nodes: Record<string, NodeSpec> = {};
  const edges: [string, string][] = [];
  const layout: Record<string, { x: number; y: number }> = {};
  for (let i = 0; i < count; i++) {
    const id = `${pick(["load", "clean", "Step", "x"])}_${i}`;
    const scriptName = pick(names);
    const info = SCRIPTS[scriptName];
    const params: Record<string, ParamValue> = {};
    for (const param of Object.keys(info.params_schema.properties ?? {})) {
      const roll = rand();
      if (roll < 0.3 && ids.length) {
        const from = pick(ids);
        params[param] = { from: `${from}.${pick(Object.keys(SCRIPTS[nodes[from].script].outputs))}` };
      } else if (roll < 0.4) params[param] = { param: pick(["rows", "seed", "ratio"]) };
      else if (roll < 0.7) params[param] = pick(LITERALS);
    }
    const node: NodeSpec = { script: scriptName, params };
    if (ids.length && rand() < 0.3) {
      node.depends_on = [...new Set([pick(ids), pick(ids)])];
    }
    if (rand() < 0.1) node.retries = Math.floor(rand() * 5);
    if (rand() < 0.1) node.timeout = pick(["90s", "10m", 30]);
    if (ids.length && rand() < 0.15) edges.push([pick(ids), id]);
    if (rand() < 0.5) layout[id] = { x: Math.floor(rand() * 2000), y: Math.floor(rand() * 1000) };
    ids.push(id);
    nodes[id] = node;
  }
  const spec: PipelineSpec = {
    name: `random_${seed}`,
    title: rand() < 0.5 ? `Random ${seed}` : null,
    description: rand() < 0.5 ? "One line." : "Two\nlines.\n",
    owner: "qa",
    tags: ["random", "yes"],
    schedule: pick([null, "@daily", "0 3 * * *"]),
    retries: 2,
    params: {
      rows: { type: "integer", default: 10, minimum: 1 },
      seed: { type: "integer" },
      ratio: { type: "number", default: 0.5 },
    },
    nodes,
  };
  if (edges.length) spec.edges = edges;
  if (rand() < 0.3) spec.alerts = { on_failure: { channel: "ops", enabled: true } };
  if (Object.keys(layout).length) spec.layout = layout;
  return spec;
}

export const EXAMPLE_FILES = ["data_quality_fanout.yaml", "generate_and_profile.yaml"];

/** The text of an example pipeline of dags/pipelines (read with node's fs: tests only). */
export async function readExample(file: string): Promise<string> {
  const fsModule = "node:fs";
  const fs = (await import(/* @vite-ignore */ fsModule)) as { readFileSync(path: URL, encoding: "utf8"): string };
  const here = import.meta.url; // not inline: Vite would turn new URL(…, import.meta.url) into an asset
  return fs.readFileSync(new URL(`../../../../../../dags/pipelines/${file}`, here), "utf8");
}

/** A spec without its layout, for comparisons "apart from layout". */
export function withoutLayout(spec: PipelineSpec): PipelineSpec {
  const { layout: _layout, ...rest } = spec;
  return rest;
}
