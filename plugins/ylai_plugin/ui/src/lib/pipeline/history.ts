// Undo/redo as immutable values (fit for React state), and copy/paste of nodes.

import { uniqueNodeId } from "./graph";
import { isBinding, splitBinding, type Layout, type NodeSpec, type ParamValue, type PipelineSpec } from "./types";

export const HISTORY_LIMIT = 100;

/** A value with what came before (oldest first) and what an undo left to redo. */
export interface History<T> {
  readonly past: readonly T[];
  readonly present: T;
  readonly future: readonly T[];
}

export function createHistory<T>(initial: T): History<T> {
  return { past: [], present: initial, future: [] };
}

/** A new present; the redo list is dropped, the oldest entries beyond the limit too. */
export function push<T>(history: History<T>, value: T, limit: number = HISTORY_LIMIT): History<T> {
  if (Object.is(value, history.present)) return history;
  const past = [...history.past, history.present];
  return { past: past.slice(Math.max(0, past.length - (limit - 1))), present: value, future: [] };
}

export function canUndo<T>(history: History<T>): boolean {
  return history.past.length > 0;
}

export function canRedo<T>(history: History<T>): boolean {
  return history.future.length > 0;
}

export function undo<T>(history: History<T>): History<T> {
  if (!canUndo(history)) return history;
  return {
    past: history.past.slice(0, -1),
    present: history.past[history.past.length - 1],
    future: [history.present, ...history.future],
  };
}

export function redo<T>(history: History<T>): History<T> {
  if (!canRedo(history)) return history;
  return { past: [...history.past, history.present], present: history.future[0], future: history.future.slice(1) };
}

/** Copied nodes, with their positions and the `edges` entries among them. */
export interface Clipboard {
  nodes: Record<string, NodeSpec>;
  layout: Layout;
  edges: [string, string][];
}

export function copyNodes(spec: PipelineSpec, ids: Iterable<string>): Clipboard {
  const picked = new Set([...ids].filter((id) => id in spec.nodes));
  const nodes: Record<string, NodeSpec> = {};
  const layout: Layout = {};
  for (const id of Object.keys(spec.nodes)) {
    if (!picked.has(id)) continue;
    nodes[id] = structuredClone(spec.nodes[id]);
    const at = spec.layout?.[id];
    if (at) layout[id] = { ...at };
  }
  const edges = (spec.edges ?? []).filter(([a, b]) => picked.has(a) && picked.has(b)).map(([a, b]) => [a, b] as [string, string]);
  return { nodes, layout, edges };
}

/**
 * Paste copied nodes under fresh ids, moved by `offset`. Bindings and depends_on among the pasted
 * nodes follow the new ids; those to other nodes are kept when `spec` has that node, dropped if not.
 */
export function pasteNodes(
  spec: PipelineSpec,
  clipboard: Clipboard,
  offset: { x: number; y: number } = { x: 40, y: 40 },
): { spec: PipelineSpec; ids: string[] } {
  const taken = new Set<string>();
  const fresh = new Map<string, string>();
  for (const id of Object.keys(clipboard.nodes)) {
    const next = uniqueNodeId(spec, id, taken);
    taken.add(next);
    fresh.set(id, next);
  }
  const target = (id: string): string | null => fresh.get(id) ?? (id in spec.nodes ? id : null);
  const nodes = { ...spec.nodes };
  const layout = { ...(spec.layout ?? {}) };
  for (const [old, node] of Object.entries(clipboard.nodes)) {
    const params: Record<string, ParamValue> = {};
    for (const [param, value] of Object.entries(node.params ?? {})) {
      if (isBinding(value)) {
        const { node: from, output } = splitBinding(value);
        const to = target(from);
        if (to !== null) params[param] = { from: `${to}.${output}` };
      } else params[param] = structuredClone(value);
    }
    const copy: NodeSpec = { ...structuredClone(node), params };
    if (node.depends_on) {
      const deps = node.depends_on.map(target).filter((d): d is string => d !== null);
      if (deps.length === 0 && node.depends_on.length > 0) delete copy.depends_on;
      else copy.depends_on = deps;
    }
    const id = fresh.get(old)!;
    nodes[id] = copy;
    const at = clipboard.layout[old] ?? { x: 0, y: 0 };
    layout[id] = { x: at.x + offset.x, y: at.y + offset.y };
  }
  const out: PipelineSpec = { ...spec, nodes, layout };
  if (clipboard.edges.length) {
    out.edges = [...(spec.edges ?? []), ...clipboard.edges.map(([a, b]) => [fresh.get(a)!, fresh.get(b)!] as [string, string])];
  }
  return { spec: out, ids: [...fresh.values()] };
}
