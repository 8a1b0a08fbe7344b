// A pipeline spec as the YAML file a reviewer reads, and back. Written in YAML 1.1 terms
// (strings PyYAML would read as booleans or dates are quoted), read like PyYAML reads it,
// except that dates stay the ISO text pipeline_spec.iso_dates makes of them.

import { Document, isCollection, isPair, isScalar, LineCounter, parseDocument, type Node as YamlNode, type ScalarTag, type Tags } from "yaml";
import { NODE_ID, RESERVED_NODE_ID, type NodeSpec, type PipelineSpec } from "./types";

const TOP_KEYS = [
  "name", "title", "description", "owner", "tags", "schedule", "retries", "params", "nodes", "edges", "alerts",
] as const; // prettier-ignore
const NODE_KEYS = ["script", "params", "depends_on", "retries", "timeout", "resources"] as const;

function ordered<T extends object>(value: T, keys: readonly string[], last: readonly string[] = []): Record<string, unknown> {
  const src = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of keys) if (src[key] !== undefined) out[key] = src[key];
  for (const key of Object.keys(src)) {
    if (!(key in out) && !last.includes(key) && src[key] !== undefined) out[key] = src[key];
  }
  for (const key of last) if (src[key] !== undefined) out[key] = src[key];
  return out;
}

function flow(node: unknown): void {
  if (isCollection(node)) node.flow = true;
}

function flowValues(node: unknown): void {
  if (isCollection(node)) for (const item of node.items as unknown[]) flow(isPair(item) ? item.value : item);
}

// PyYAML's booleans (YAML 1.1 without y/n: a layout's `y` stays a key, not `true`).
const pyBool = (value: boolean, test: RegExp): ScalarTag => ({
  identify: (v) => v === value,
  default: true,
  tag: "tag:yaml.org,2002:bool",
  test,
  resolve: () => value,
  stringify: () => String(value),
});
const PY_BOOLS = [
  pyBool(true, /^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$/),
  pyBool(false, /^(?:no|No|NO|false|False|FALSE|off|Off|OFF)$/),
];
const tagName = (t: Tags[number]) => (typeof t === "string" ? `tag:yaml.org,2002:${t}` : t.tag);
/** Writing: PyYAML's booleans; timestamps stay, so that date-like strings are quoted. */
const writeTags = (tags: Tags): Tags => [...PY_BOOLS, ...tags.filter((t) => tagName(t) !== "tag:yaml.org,2002:bool")];
/** Reading: PyYAML's booleans, and dates as their text (pipeline_spec.iso_dates). */
const readTags = (tags: Tags): Tags =>
  writeTags(tags).filter((t) => tagName(t) !== "tag:yaml.org,2002:timestamp");

/** The YAML file of a spec: keys in the order of the example files, layout last. */
export function specToYaml(spec: PipelineSpec): string {
  const nodes: Record<string, unknown> = {};
  for (const [id, node] of Object.entries(spec.nodes)) {
    const data = ordered(node, NODE_KEYS);
    if (data.params && Object.keys(data.params as object).length === 0) delete data.params;
    nodes[id] = data;
  }
  const doc = new Document(ordered({ ...spec, nodes }, TOP_KEYS, ["layout"]), {
    version: "1.1",
    customTags: writeTags,
  });
  flow(doc.getIn(["tags"], true));
  flowValues(doc.getIn(["params"], true));
  for (const id of Object.keys(nodes)) {
    flowValues(doc.getIn(["nodes", id, "params"], true));
    flow(doc.getIn(["nodes", id, "depends_on"], true));
  }
  flowValues(doc.getIn(["edges"], true));
  flowValues(doc.getIn(["layout"], true));
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}


type Parsed = { spec: PipelineSpec } | { error: string; line: number | null };

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === "string");

/** Parse a pipeline file: the spec, or the first problem with its 1-based line (null: unknown). */
export function yamlToSpec(text: string): Parsed {
  const lines = new LineCounter();
  const doc = parseDocument(text, { version: "1.1", customTags: readTags, lineCounter: lines, uniqueKeys: true });
  if (doc.errors.length) {
    const first = doc.errors[0];
    return { error: first.message.split("\n")[0], line: first.linePos?.[0].line ?? null };
  }
  const lineOf = (path: (string | number)[]): number | null => {
    for (let i = path.length; i >= 0; i--) {
      const node = doc.getIn(path.slice(0, i), true) as YamlNode | undefined;
      if (node?.range) return lines.linePos(node.range[0]).line;
      // A key with a null value has no node: find the key itself.
      if (i > 0) {
        const parent = doc.getIn(path.slice(0, i - 1), true);
        if (isCollection(parent)) {
          const pair = (parent.items as unknown[]).find(
            (it) => isPair(it) && isScalar(it.key) && it.key.value === path[i - 1],
          );
          const key = isPair(pair) && isScalar(pair.key) ? pair.key : null;
          if (key?.range) return lines.linePos(key.range[0]).line;
        }
      }
    }
    return null;
  };
  const fail = (path: (string | number)[], error: string): Parsed => ({ error, line: lineOf(path) });
  const data: unknown = doc.toJS();
  if (!isMap(data)) return { error: "a pipeline must be a YAML mapping", line: 1 };
  if (typeof data.name !== "string" || !data.name) return fail(["name"], "name: a string is required");
  if (data.tags !== undefined && data.tags !== null && !isStringList(data.tags)) {
    return fail(["tags"], "tags: a list of strings is expected");
  }
  if (data.params !== undefined && data.params !== null) {
    if (!isMap(data.params)) return fail(["params"], "params: a mapping of param name to spec is expected");
    for (const [name, p] of Object.entries(data.params)) {
      if (!isMap(p)) return fail(["params", name], `params.${name}: a mapping (type, default, ...) is expected`);
    }
  }
  if (!isMap(data.nodes) || Object.keys(data.nodes).length === 0) {
    return fail(["nodes"], "nodes: a mapping with at least one node is required");
  }
  const nodes: Record<string, NodeSpec> = {};
  for (const [id, raw] of Object.entries(data.nodes)) {
    const at = ["nodes", id];
    if (!NODE_ID.test(id)) return fail(at, `node id ${id}: must start with a letter and use letters, digits, underscores`);
    if (id === RESERVED_NODE_ID) return fail(at, `node id ${id} is reserved`);
    if (!isMap(raw)) return fail(at, `nodes.${id}: a mapping with a script is expected`);
    if (typeof raw.script !== "string" || !raw.script) return fail([...at, "script"], `nodes.${id}.script: a script name is required`);
    if (raw.params !== undefined && raw.params !== null && !isMap(raw.params)) {
      return fail([...at, "params"], `nodes.${id}.params: a mapping is expected`);
    }
    if (raw.depends_on !== undefined && !isStringList(raw.depends_on)) {
      return fail([...at, "depends_on"], `nodes.${id}.depends_on: a list of node ids is expected`);
    }
    nodes[id] = { ...raw, params: (raw.params ?? {}) as NodeSpec["params"] } as NodeSpec;
  }
  if (data.edges !== undefined && data.edges !== null) {
    if (!Array.isArray(data.edges)) return fail(["edges"], "edges: a list of [from, to] pairs is expected");
    for (const [i, e] of data.edges.entries()) {
      if (!isStringList(e) || e.length !== 2) return fail(["edges", i], `edges.${i}: a [from, to] pair is expected`);
    }
  }
  if (data.layout !== undefined && data.layout !== null) {
    if (!isMap(data.layout)) return fail(["layout"], "layout: a mapping of node to {x, y} is expected");
    for (const [id, p] of Object.entries(data.layout)) {
      if (!isMap(p) || typeof p.x !== "number" || typeof p.y !== "number") {
        return fail(["layout", id], `layout.${id}: {x, y} numbers are expected`);
      }
    }
  }
  return { spec: { ...data, nodes } as PipelineSpec };
}
