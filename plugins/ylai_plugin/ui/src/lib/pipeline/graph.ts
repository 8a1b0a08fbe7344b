// A pipeline spec as a React Flow graph and back, and the edits the canvas makes on a spec.
// Every function returns a new spec; the one given is never changed.

import type { Edge, Node } from "@xyflow/react";
import {
  isBinding,
  NODE_ID,
  RESERVED_NODE_ID,
  splitBinding,
  type Layout,
  type NodeSpec,
  type ParamValue,
  type PipelineSpec,
  type StudioEdgeData,
  type StudioNodeData,
} from "./types";

export function edgeId(source: string, target: string): string {
  return `${source}->${target}`;
}

/** The graph of a spec: an edge per (source, target) pair, whatever implies it. */
export function specToGraph(spec: PipelineSpec): {
  nodes: Node<StudioNodeData>[];
  edges: Edge<StudioEdgeData>[];
  needsLayout: boolean;
} {
  const layout = spec.layout ?? {};
  let needsLayout = false;
  const nodes: Node<StudioNodeData>[] = Object.entries(spec.nodes).map(([id, node]) => {
    const at = layout[id];
    const data: StudioNodeData = { script: node.script, nodeId: id, problems: [] };
    if (!at) {
      data.needsLayout = true;
      needsLayout = true;
    }
    return { id, type: "script", position: at ? { x: at.x, y: at.y } : { x: 0, y: 0 }, data };
  });
  const byId = new Map<string, Edge<StudioEdgeData>>();
  const edge = (source: string, target: string): StudioEdgeData | null => {
    if (source === target || !(source in spec.nodes) || !(target in spec.nodes)) return null;
    const id = edgeId(source, target);
    let found = byId.get(id);
    if (!found) {
      found = { id, source, target, data: { bindings: [], dependsOn: false, explicit: false } };
      byId.set(id, found);
    }
    return found.data!;
  };
  for (const [id, node] of Object.entries(spec.nodes)) {
    for (const [param, value] of Object.entries(node.params ?? {})) {
      if (isBinding(value)) edge(splitBinding(value).node, id)?.bindings.push(param);
    }
    for (const dep of node.depends_on ?? []) {
      const data = edge(dep, id);
      if (data) data.dependsOn = true;
    }
  }
  for (const [a, b] of spec.edges ?? []) {
    const data = edge(a, b);
    if (data) data.explicit = true;
  }
  return { nodes, edges: [...byId.values()], needsLayout };
}

/**
 * The spec a canvas shows: `base` with the canvas's nodes, positions and edges.
 *
 * A node missing from `nodes` is removed; a node not in `base` is added with its script. Every
 * position goes to `layout`. An edge that no binding, depends_on or `edges` entry implies becomes
 * a depends_on of its target; a binding, depends_on or `edges` entry whose edge is gone is removed.
 */
export function graphToSpec(base: PipelineSpec, nodes: Node<StudioNodeData>[], edges: Edge[]): PipelineSpec {
  const keep = new Set(nodes.map((n) => n.id));
  const present = new Set(edges.filter((e) => keep.has(e.source) && keep.has(e.target)).map((e) => edgeId(e.source, e.target)));
  const implied = new Set<string>();
  const out: Record<string, NodeSpec> = {};
  const layout: Layout = {};
  for (const n of nodes) {
    const old = base.nodes[n.id];
    const node: NodeSpec = old ? { ...old, params: { ...(old.params ?? {}) } } : { script: n.data.script, params: {} };
    for (const [param, value] of Object.entries(node.params)) {
      if (!isBinding(value)) continue;
      const id = edgeId(splitBinding(value).node, n.id);
      if (present.has(id)) implied.add(id);
      else delete node.params[param];
    }
    if (node.depends_on) {
      const deps = node.depends_on.filter((dep) => present.has(edgeId(dep, n.id)));
      for (const dep of deps) implied.add(edgeId(dep, n.id));
      if (deps.length === 0 && node.depends_on.length > 0) delete node.depends_on;
      else node.depends_on = deps;
    }
    out[n.id] = node;
    layout[n.id] = { x: Math.round(n.position.x), y: Math.round(n.position.y) };
  }
  // Nodes keep the order of the base spec; new ones follow.
  const ordered: Record<string, NodeSpec> = {};
  for (const id of Object.keys(base.nodes)) if (id in out) ordered[id] = out[id];
  for (const id of Object.keys(out)) if (!(id in ordered)) ordered[id] = out[id];
  const spec: PipelineSpec = { ...base, nodes: ordered, layout };
  if (base.edges) {
    spec.edges = base.edges.filter(([a, b]) => present.has(edgeId(a, b)));
    for (const [a, b] of spec.edges) implied.add(edgeId(a, b));
  }
  const seen = new Set<string>();
  for (const e of edges) {
    const id = edgeId(e.source, e.target);
    if (!present.has(id) || implied.has(id) || seen.has(id) || e.source === e.target) continue;
    seen.add(id);
    const target = ordered[e.target];
    ordered[e.target] = { ...target, depends_on: [...(target.depends_on ?? []), e.source] };
  }
  return spec;
}

/** Whether adding source → target makes a cycle (or a self-loop). */
export function wouldCreateCycle(edges: Pick<Edge, "source" | "target">[], source: string, target: string): boolean {
  if (source === target) return true;
  const down = new Map<string, string[]>();
  for (const e of edges) {
    const list = down.get(e.source);
    if (list) list.push(e.target);
    else down.set(e.source, [e.target]);
  }
  // A cycle iff source is reachable from target.
  const seen = new Set<string>([target]);
  const stack = [target];
  while (stack.length) {
    const at = stack.pop()!;
    for (const next of down.get(at) ?? []) {
      if (next === source) return true;
      if (!seen.has(next)) {
        seen.add(next);
        stack.push(next);
      }
    }
  }
  return false;
}

/** Why `id` cannot name a node of `spec` (other than `self`), or null. */
export function nodeIdProblem(spec: PipelineSpec, id: string, self?: string): string | null {
  if (!NODE_ID.test(id)) return "must start with a letter and use letters, digits, underscores (at most 63)";
  if (id === RESERVED_NODE_ID) return `${RESERVED_NODE_ID} is reserved`;
  if (id !== self && id in spec.nodes) return `${id} is already a node of this pipeline`;
  return null;
}

/** A node id not used in `spec` (nor in `taken`), derived from `base` (a script name, an old id). */
export function uniqueNodeId(spec: PipelineSpec, base: string, taken: Set<string> = new Set()): string {
  let stem = base.replace(/[^A-Za-z0-9_]/g, "_");
  if (!/^[A-Za-z]/.test(stem)) stem = `n${stem}`;
  stem = stem.slice(0, 56);
  const free = (id: string) => !(id in spec.nodes) && !taken.has(id) && id !== RESERVED_NODE_ID;
  if (free(stem)) return stem;
  const plain = stem.replace(/_\d+$/, "") || stem;
  for (let i = 2; ; i++) {
    const id = `${plain}_${i}`;
    if (free(id)) return id;
  }
}

/** Add a node running `scriptName` at `position`, with no params yet. */
export function addNode(
  spec: PipelineSpec,
  scriptName: string,
  position: { x: number; y: number },
): { spec: PipelineSpec; nodeId: string } {
  const nodeId = uniqueNodeId(spec, scriptName);
  return {
    nodeId,
    spec: {
      ...spec,
      nodes: { ...spec.nodes, [nodeId]: { script: scriptName, params: {} } },
      layout: { ...(spec.layout ?? {}), [nodeId]: { x: Math.round(position.x), y: Math.round(position.y) } },
    },
  };
}

/** Rewrite every reference to a node: bindings, depends_on, edges (null drops the reference). */
function mapReferences(spec: PipelineSpec, rename: (id: string) => string | null): PipelineSpec {
  const nodes: Record<string, NodeSpec> = {};
  for (const [id, node] of Object.entries(spec.nodes)) {
    const params: Record<string, ParamValue> = {};
    for (const [param, value] of Object.entries(node.params ?? {})) {
      if (isBinding(value)) {
        const { node: from, output } = splitBinding(value);
        const to = rename(from);
        if (to === null) continue;
        params[param] = to === from ? value : { from: `${to}.${output}` };
      } else params[param] = value;
    }
    const next: NodeSpec = { ...node, params };
    if (node.depends_on) {
      const deps = node.depends_on.map(rename).filter((d): d is string => d !== null);
      if (deps.length === 0 && node.depends_on.length > 0) delete next.depends_on;
      else next.depends_on = deps;
    }
    nodes[id] = next;
  }
  const out: PipelineSpec = { ...spec, nodes };
  if (spec.edges) {
    out.edges = spec.edges
      .map(([a, b]) => [rename(a), rename(b)])
      .filter((e): e is [string, string] => e[0] !== null && e[1] !== null);
  }
  return out;
}

/** Remove nodes and everything that points to them (bindings, depends_on, edges, layout). */
export function removeNodes(spec: PipelineSpec, ids: Iterable<string>): PipelineSpec {
  const gone = new Set(ids);
  const nodes = Object.fromEntries(Object.entries(spec.nodes).filter(([id]) => !gone.has(id)));
  const out = mapReferences({ ...spec, nodes }, (id) => (gone.has(id) ? null : id));
  if (spec.layout) out.layout = Object.fromEntries(Object.entries(spec.layout).filter(([id]) => !gone.has(id)));
  return out;
}

/** Rename a node everywhere; throws an Error when `newId` is invalid or taken (see nodeIdProblem). */
export function renameNode(spec: PipelineSpec, oldId: string, newId: string): PipelineSpec {
  if (oldId === newId) return spec;
  if (!(oldId in spec.nodes)) throw new Error(`${oldId} is not a node of this pipeline`);
  const problem = nodeIdProblem(spec, newId);
  if (problem) throw new Error(`node id ${newId}: ${problem}`);
  const nodes = Object.fromEntries(Object.entries(spec.nodes).map(([id, n]) => [id === oldId ? newId : id, n]));
  const out = mapReferences({ ...spec, nodes }, (id) => (id === oldId ? newId : id));
  if (spec.layout) {
    out.layout = Object.fromEntries(Object.entries(spec.layout).map(([id, p]) => [id === oldId ? newId : id, p]));
  }
  return out;
}

/** Set (or, with undefined, remove) one parameter of a node. */
export function setParam(spec: PipelineSpec, nodeId: string, param: string, value: ParamValue | undefined): PipelineSpec {
  const node = spec.nodes[nodeId];
  if (!node) throw new Error(`${nodeId} is not a node of this pipeline`);
  const params = { ...(node.params ?? {}) };
  if (value === undefined) delete params[param];
  else params[param] = value;
  return { ...spec, nodes: { ...spec.nodes, [nodeId]: { ...node, params } } };
}
