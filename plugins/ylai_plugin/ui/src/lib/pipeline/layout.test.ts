import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { randomSpec, readExample, rng } from "./fixtures";
import { specToGraph } from "./graph";
import { autoLayout, NODE_WIDTH } from "./layout";
import type { PipelineSpec } from "./types";

describe("autoLayout", () => {
  it("places nodes left to right by rank and clears needsLayout", async () => {
    const spec = parse(await readExample("data_quality_fanout.yaml")) as PipelineSpec;
    const { nodes, edges } = specToGraph(spec);
    const placed = autoLayout(nodes, edges);
    const at = Object.fromEntries(placed.map((n) => [n.id, n.position]));
    expect(at.generate.x).toBeLessThan(at.profile.x);
    expect(at.profile.x).toBe(at.disk.x);
    expect(at.profile.y).not.toBe(at.disk.y);
    expect(at.disk.x).toBeLessThan(at.gate.x);
    expect(at.profile.x - at.generate.x).toBeGreaterThanOrEqual(NODE_WIDTH);
    expect(placed.every((n) => n.data.needsLayout === false)).toBe(true);
    expect(nodes[0].position).toEqual({ x: 0, y: 0 }); // the input is not changed
  });

  it("lays out top to bottom, with measured sizes", () => {
    const nodes = [
      { id: "a", position: { x: 0, y: 0 }, data: {}, measured: { width: 100, height: 300 } },
      { id: "b", position: { x: 0, y: 0 }, data: {} },
    ];
    const placed = autoLayout(nodes, [{ source: "a", target: "b" }, { source: "a", target: "ghost" }], "TB");
    expect(placed[1].position.y - placed[0].position.y).toBeGreaterThanOrEqual(300);
    expect(placed[0].data).toEqual({});
  });

  it("lays out 200 nodes without overlaps", () => {
    const rand = rng(200);
    const spec = randomSpec(3, 1);
    const nodes = Object.fromEntries(
      Array.from({ length: 200 }, (_, i) => [`n${i}`, { script: "disk_usage", params: {} as Record<string, never> }]),
    );
    const edges: [string, string][] = [];
    for (let i = 1; i < 200; i++) {
      for (let k = 0; k < 2; k++) edges.push([`n${Math.floor(rand() * i)}`, `n${i}`]);
    }
    const graph = specToGraph({ ...spec, nodes, edges, layout: undefined });
    const placed = autoLayout(graph.nodes, graph.edges);
    expect(placed).toHaveLength(200);
    const seen = new Set(placed.map((n) => `${n.position.x},${n.position.y}`));
    expect(seen.size).toBe(200);
    for (const e of graph.edges) {
      const x = (id: string) => placed.find((n) => n.id === id)!.position.x;
      expect(x(e.source)).toBeLessThan(x(e.target));
    }
  });
});
