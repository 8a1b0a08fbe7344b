import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { EXAMPLE_FILES, randomSpec, readExample, withoutLayout } from "./fixtures";
import {
  addNode,
  graphToSpec,
  nodeIdProblem,
  removeNodes,
  renameNode,
  setParam,
  specToGraph,
  uniqueNodeId,
  wouldCreateCycle,
} from "./graph";
import { isBinding, isParamRef, splitBinding, type PipelineSpec } from "./types";

const fanout = async () => parse(await readExample("data_quality_fanout.yaml")) as PipelineSpec;

describe("specToGraph", () => {
  it("draws an edge per pair from bindings, depends_on and edges, once", async () => {
    const spec = await fanout();
    const { nodes, edges, needsLayout } = specToGraph(spec);
    expect(nodes.map((n) => n.id)).toEqual(["generate", "profile", "disk", "gate"]);
    expect(nodes[0].data).toMatchObject({ script: "data_generator", nodeId: "generate", problems: [], needsLayout: true });
    expect(nodes[0].position).toEqual({ x: 0, y: 0 });
    expect(needsLayout).toBe(true);
    expect(edges.map((e) => e.id).sort()).toEqual(
      ["generate->profile", "generate->disk", "profile->gate", "disk->gate"].sort(),
    );
    const gate = edges.find((e) => e.id === "profile->gate")!;
    expect(gate.data).toEqual({ bindings: ["rows", "columns", "null_cells"], dependsOn: false, explicit: false });
    expect(edges.find((e) => e.id === "generate->disk")!.data).toMatchObject({ dependsOn: true, bindings: [] });
  });

  it("takes positions from the layout and skips references to unknown nodes", () => {
    const spec: PipelineSpec = {
      name: "p",
      nodes: { a: { script: "s", params: { x: { from: "ghost.out" } }, depends_on: ["a"] }, b: { script: "s", params: {} } },
      edges: [["a", "b"], ["b", "nope"]],
      layout: { a: { x: 5, y: 6 }, b: { x: 1, y: 2 } },
    };
    const g = specToGraph(spec);
    expect(g.needsLayout).toBe(false);
    expect(g.nodes[0].position).toEqual({ x: 5, y: 6 });
    expect(g.nodes[0].data.needsLayout).toBeUndefined();
    expect(g.edges).toEqual([
      { id: "a->b", source: "a", target: "b", data: { bindings: [], dependsOn: false, explicit: true } },
    ]);
  });
});

describe("graphToSpec", () => {
  it.each(EXAMPLE_FILES)("round-trips %s apart from layout", async (file) => {
    const spec = parse(await readExample(file)) as PipelineSpec;
    const { nodes, edges } = specToGraph(spec);
    const back = graphToSpec(spec, nodes, edges);
    expect(withoutLayout(back)).toEqual(spec);
    expect(Object.keys(back.layout!)).toEqual(Object.keys(spec.nodes));
  });

  it("round-trips 50 random pipelines apart from layout", () => {
    for (let seed = 1; seed <= 50; seed++) {
      const spec = randomSpec(seed);
      const { nodes, edges } = specToGraph(spec);
      const back = graphToSpec(spec, nodes, edges);
      expect(withoutLayout(back), `seed ${seed}`).toEqual(withoutLayout(spec));
      for (const [id, at] of Object.entries(spec.layout ?? {})) expect(back.layout![id]).toEqual(at);
    }
  });

  it("keeps moved positions, rounded", async () => {
    const spec = await fanout();
    const { nodes, edges } = specToGraph(spec);
    nodes[1] = { ...nodes[1], position: { x: 10.4, y: -3.6 } };
    expect(graphToSpec(spec, nodes, edges).layout!.profile).toEqual({ x: 10, y: -4 });
  });

  it("turns a new edge into depends_on of its target, once", async () => {
    const spec = await fanout();
    const { nodes, edges } = specToGraph(spec);
    const extra = { id: "generate->gate", source: "generate", target: "gate" };
    const back = graphToSpec(spec, nodes, [...edges, extra, { ...extra }]);
    expect(back.nodes.gate.depends_on).toEqual(["generate"]);
    expect(back.nodes.gate.params).toEqual(spec.nodes.gate.params);
  });

  it("removes the bindings, depends_on and edges entries of a removed edge", async () => {
    const spec = await fanout();
    spec.edges = [["generate", "gate"], ["disk", "gate"]];
    const { nodes, edges } = specToGraph(spec);
    const kept = edges.filter((e) => !["profile->gate", "generate->disk", "generate->gate"].includes(e.id));
    const back = graphToSpec(spec, nodes, kept);
    expect(back.nodes.gate.params).toEqual({ disk_bytes: { from: "disk.total_bytes" }, max_null_ratio: { param: "max_null_ratio" } });
    expect(back.nodes.disk.depends_on).toBeUndefined();
    expect(back.edges).toEqual([["disk", "gate"]]);
    expect(spec.nodes.gate.params.rows).toEqual({ from: "profile.rows" }); // the base is not changed
  });

  it("drops nodes missing from the canvas and adds new ones", async () => {
    const spec = await fanout();
    const { nodes, edges } = specToGraph(spec);
    const fresh = { id: "extra", position: { x: 1, y: 2 }, data: { script: "disk_usage", nodeId: "extra", problems: [] } };
    const back = graphToSpec(spec, [...nodes.filter((n) => n.id !== "disk"), fresh], edges);
    expect(Object.keys(back.nodes)).toEqual(["generate", "profile", "gate", "extra"]);
    expect(back.nodes.extra).toEqual({ script: "disk_usage", params: {} });
    expect(back.nodes.gate.params.disk_bytes).toBeUndefined();
  });
});

describe("binding helpers", () => {
  it("tells bindings, param references and literals apart", () => {
    expect(isBinding({ from: "a.b" })).toBe(true);
    expect(isBinding({ from: "a.b", x: 1 })).toBe(false);
    expect(isBinding({ from: 1 })).toBe(false);
    expect(isBinding(["a"])).toBe(false);
    expect(isBinding(null)).toBe(false);
    expect(isParamRef({ param: "rows" })).toBe(true);
    expect(isParamRef({ from: "a.b" })).toBe(false);
    expect(isParamRef("rows")).toBe(false);
    expect(splitBinding({ from: "a.b.c" })).toEqual({ node: "a", output: "b.c" });
    expect(splitBinding({ from: "a" })).toEqual({ node: "a", output: "" });
  });
});

describe("wouldCreateCycle", () => {
  const edges = [
    { source: "a", target: "b" },
    { source: "b", target: "c" },
    { source: "a", target: "d" },
  ];
  it("refuses an edge back upstream and a self-loop", () => {
    expect(wouldCreateCycle(edges, "c", "a")).toBe(true);
    expect(wouldCreateCycle(edges, "b", "a")).toBe(true);
    expect(wouldCreateCycle(edges, "a", "a")).toBe(true);
  });
  it("accepts edges that keep the graph acyclic", () => {
    expect(wouldCreateCycle(edges, "a", "c")).toBe(false);
    expect(wouldCreateCycle(edges, "d", "c")).toBe(false);
    expect(wouldCreateCycle(edges, "c", "d")).toBe(false);
    expect(wouldCreateCycle([], "x", "y")).toBe(false);
  });
  it("refuses a cycle in a spec's graph", async () => {
    const { edges: specEdges } = specToGraph(await fanout());
    expect(wouldCreateCycle(specEdges, "gate", "generate")).toBe(true);
    expect(wouldCreateCycle(specEdges, "disk", "profile")).toBe(false);
  });
});

describe("edits", () => {
  it("adds a node under a unique id derived from the script", async () => {
    const spec = await fanout();
    const first = addNode(spec, "disk_usage", { x: 1.2, y: 3 });
    expect(first.nodeId).toBe("disk_usage");
    const second = addNode(first.spec, "disk_usage", { x: 0, y: 0 });
    expect(second.nodeId).toBe("disk_usage_2");
    expect(second.spec.nodes.disk_usage_2).toEqual({ script: "disk_usage", params: {} });
    expect(second.spec.layout).toEqual({ disk_usage: { x: 1, y: 3 }, disk_usage_2: { x: 0, y: 0 } });
    expect(addNode(spec, "9-lives.v2", { x: 0, y: 0 }).nodeId).toBe("n9_lives_v2");
    expect(addNode(spec, "collect_outputs", { x: 0, y: 0 }).nodeId).toBe("collect_outputs_2");
    expect(uniqueNodeId(spec, "x".repeat(80))).toHaveLength(56);
    expect(spec.nodes.disk_usage).toBeUndefined();
  });

  it("removes nodes with everything that points to them", async () => {
    const spec = { ...(await fanout()), edges: [["generate", "gate"]] as [string, string][], layout: { generate: { x: 0, y: 0 }, gate: { x: 1, y: 1 } } };
    const out = removeNodes(spec, ["generate", "disk"]);
    expect(Object.keys(out.nodes)).toEqual(["profile", "gate"]);
    expect(out.nodes.profile.params).toEqual({});
    expect(out.nodes.gate.params.disk_bytes).toBeUndefined();
    expect(out.nodes.gate.params.rows).toEqual({ from: "profile.rows" });
    expect(out.edges).toEqual([]);
    expect(out.layout).toEqual({ gate: { x: 1, y: 1 } });
    expect(removeNodes(await fanout(), ["generate"]).nodes.disk).toEqual({ script: "disk_usage", params: { path: "/tmp", top: 5 } });
  });

  it("renames a node everywhere, keeping the node order", async () => {
    const spec = { ...(await fanout()), edges: [["profile", "gate"]] as [string, string][], layout: { profile: { x: 3, y: 4 } } };
    const out = renameNode(spec, "profile", "prof");
    expect(Object.keys(out.nodes)).toEqual(["generate", "prof", "disk", "gate"]);
    expect(out.nodes.gate.params.rows).toEqual({ from: "prof.rows" });
    expect(out.edges).toEqual([["prof", "gate"]]);
    expect(out.layout).toEqual({ prof: { x: 3, y: 4 } });
    expect(renameNode(spec, "generate", "gen").nodes.disk.depends_on).toEqual(["gen"]);
    expect(renameNode(spec, "gate", "gate")).toBe(spec);
    expect(() => renameNode(spec, "gate", "disk")).toThrow(/already/);
    expect(() => renameNode(spec, "gate", "1bad")).toThrow(/letter/);
    expect(() => renameNode(spec, "ghost", "x")).toThrow(/not a node/);
    expect(nodeIdProblem(spec, "collect_outputs")).toMatch(/reserved/);
    expect(nodeIdProblem(spec, "gate", "gate")).toBeNull();
  });

  it("sets and removes a parameter", async () => {
    const spec = await fanout();
    const set = setParam(spec, "disk", "top", 9);
    expect(set.nodes.disk.params).toEqual({ path: "/tmp", top: 9 });
    const bound = setParam(set, "disk", "path", { from: "profile.profile_path" });
    expect(specToGraph(bound).edges.map((e) => e.id)).toContain("profile->disk");
    expect(setParam(bound, "disk", "path", undefined).nodes.disk.params).toEqual({ top: 9 });
    expect(spec.nodes.disk.params.top).toBe(5);
    expect(() => setParam(spec, "ghost", "a", 1)).toThrow();
  });
});
