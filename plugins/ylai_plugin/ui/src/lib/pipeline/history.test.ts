import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { readExample } from "./fixtures";
import { specToGraph } from "./graph";
import { canRedo, canUndo, copyNodes, createHistory, HISTORY_LIMIT, pasteNodes, push, redo, undo } from "./history";
import type { PipelineSpec } from "./types";

describe("history", () => {
  it("undoes and redoes, and a push drops the redo list", () => {
    let h = createHistory(0);
    expect(canUndo(h)).toBe(false);
    expect(undo(h)).toBe(h);
    expect(redo(h)).toBe(h);
    h = push(push(push(h, 1), 2), 3);
    expect(h.present).toBe(3);
    h = undo(undo(h));
    expect(h.present).toBe(1);
    expect(canRedo(h)).toBe(true);
    h = redo(h);
    expect(h.present).toBe(2);
    h = push(h, 9);
    expect(canRedo(h)).toBe(false);
    expect([...h.past, h.present]).toEqual([0, 1, 2, 9]);
    expect(push(h, 9)).toBe(h); // the same value is no new step
  });

  it("keeps at most 100 entries", () => {
    let h = createHistory(0);
    for (let i = 1; i <= 250; i++) h = push(h, i);
    expect(h.past.length + 1).toBe(HISTORY_LIMIT);
    expect(h.past[0]).toBe(151);
    let steps = 0;
    while (canUndo(h)) {
      h = undo(h);
      steps++;
    }
    expect(steps).toBe(99);
    expect(h.present).toBe(151);
    expect(h.future).toHaveLength(99);
  });
});

describe("copy / paste", () => {
  const load = async () => {
    const spec = parse(await readExample("data_quality_fanout.yaml")) as PipelineSpec;
    return { ...spec, layout: { profile: { x: 100, y: 10 }, gate: { x: 300, y: 20 } }, edges: [["profile", "gate"], ["disk", "gate"]] } as PipelineSpec;
  };

  it("pastes under fresh ids, rewriting links among the pasted nodes and keeping the others", async () => {
    const spec = await load();
    const clip = copyNodes(spec, ["profile", "gate", "ghost"]);
    expect(Object.keys(clip.nodes)).toEqual(["profile", "gate"]);
    expect(clip.edges).toEqual([["profile", "gate"]]);
    const { spec: out, ids } = pasteNodes(spec, clip, { x: 10, y: 5 });
    expect(ids).toEqual(["profile_2", "gate_2"]);
    expect(out.nodes.profile_2.params).toEqual({ path: { from: "generate.path" } });
    expect(out.nodes.gate_2.params).toEqual({
      rows: { from: "profile_2.rows" },
      columns: { from: "profile_2.columns" },
      null_cells: { from: "profile_2.null_cells" },
      disk_bytes: { from: "disk.total_bytes" },
      max_null_ratio: { param: "max_null_ratio" },
    });
    expect(out.layout!.profile_2).toEqual({ x: 110, y: 15 });
    expect(out.layout!.gate_2).toEqual({ x: 310, y: 25 });
    expect(out.edges).toEqual([["profile", "gate"], ["disk", "gate"], ["profile_2", "gate_2"]]);
    expect(specToGraph(out).edges.map((e) => e.id)).toContain("disk->gate_2");
    expect(spec.nodes.profile_2).toBeUndefined();
    // Pasting again finds the next free ids; the clipboard is unchanged.
    expect(pasteNodes(out, clip).ids).toEqual(["profile_3", "gate_3"]);
  });

  it("drops links to nodes the target pipeline lacks, rewrites depends_on", async () => {
    const spec = await load();
    const clip = copyNodes(spec, ["generate", "disk"]);
    const other: PipelineSpec = { name: "other", nodes: { x: { script: "s", params: {} } } };
    const { spec: out, ids } = pasteNodes(other, clip);
    expect(ids).toEqual(["generate", "disk"]);
    expect(out.nodes.disk.depends_on).toEqual(["generate"]);
    expect(out.layout).toEqual({ generate: { x: 40, y: 40 }, disk: { x: 40, y: 40 } });
    expect(out.edges).toBeUndefined();
    const lone = pasteNodes(other, copyNodes(spec, ["profile", "disk"]));
    expect(lone.spec.nodes.profile.params).toEqual({});
    expect(lone.spec.nodes.disk).toEqual({ script: "disk_usage", params: { path: "/tmp", top: 5 } });
  });
});
