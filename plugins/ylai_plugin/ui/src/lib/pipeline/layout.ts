// Automatic layout of the canvas with dagre (left to right by default).

import dagre from "@dagrejs/dagre";
import type { Edge, Node } from "@xyflow/react";

export const NODE_WIDTH = 220;
export const NODE_HEIGHT = 72;

/** `nodes` placed by dagre (positions are React Flow's top-left corners); `needsLayout` cleared. */
export function autoLayout<T extends Record<string, unknown>>(
  nodes: Node<T>[],
  edges: Pick<Edge, "source" | "target">[],
  direction: "LR" | "TB" | "RL" | "BT" = "LR",
): Node<T>[] {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: direction, nodesep: 40, ranksep: 80, marginx: 20, marginy: 20 });
  g.setDefaultEdgeLabel(() => ({}));
  const size = (n: Node<T>) => ({
    width: n.measured?.width ?? n.width ?? NODE_WIDTH,
    height: n.measured?.height ?? n.height ?? NODE_HEIGHT,
  });
  for (const n of nodes) g.setNode(n.id, size(n));
  const ids = new Set(nodes.map((n) => n.id));
  for (const e of edges) if (ids.has(e.source) && ids.has(e.target)) g.setEdge(e.source, e.target);
  dagre.layout(g);
  return nodes.map((n) => {
    const at = g.node(n.id);
    const { width, height } = size(n);
    const data = "needsLayout" in n.data ? { ...n.data, needsLayout: false } : n.data;
    return { ...n, data, position: { x: Math.round(at.x - width / 2), y: Math.round(at.y - height / 2) } };
  });
}
