import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { EXAMPLE_FILES, randomSpec, readExample } from "./fixtures";
import type { PipelineSpec } from "./types";
import { specToYaml, yamlToSpec } from "./yaml";

function specOf(text: string): PipelineSpec {
  const result = yamlToSpec(text);
  if ("error" in result) throw new Error(`${result.error} (line ${result.line})`);
  return result.spec;
}

describe("specToYaml / yamlToSpec", () => {
  it.each(EXAMPLE_FILES)("round-trips %s", async (file) => {
    const text = await readExample(file);
    const spec = specOf(text);
    expect(spec).toEqual(parse(text));
    expect(specOf(specToYaml(spec))).toEqual(spec);
  });

  it("writes the example file's shape: key order, flow bindings, layout last", async () => {
    const spec = specOf(await readExample("data_quality_fanout.yaml"));
    const text = specToYaml({ ...spec, layout: { generate: { x: 1, y: 2 } }, edges: [["generate", "gate"]] });
    const keys = [...text.matchAll(/^([a-z_]+):/gm)].map((m) => m[1]);
    expect(keys).toEqual([
      "name", "title", "description", "owner", "tags", "schedule", "retries", "params", "nodes", "edges", "layout",
    ]); // prettier-ignore
    expect(text).toContain("description: |\n  Generates a data set");
    expect(text).toContain("tags: [data, quality, example]");
    expect(text).toContain("  rows: {type: integer, default: 2000, minimum: 1}");
    expect(text).toContain("      rows: {param: rows}");
    expect(text).toContain("      path: {from: generate.path}");
    expect(text).toContain("    depends_on: [generate]");
    expect(text).toContain("edges:\n  - [generate, gate]");
    expect(text.endsWith("layout:\n  generate: {x: 1, y: 2}\n")).toBe(true);
  });

  it("round-trips 50 random pipelines", () => {
    for (let seed = 100; seed < 150; seed++) {
      const spec = randomSpec(seed);
      const text = specToYaml(spec);
      expect(specOf(text), `seed ${seed}\n${text}`).toEqual(spec);
    }
  });

  it("quotes strings YAML 1.1 (PyYAML) would read as something else", () => {
    const text = specToYaml({ name: "p", tags: ["yes"], nodes: { a: { script: "s", params: { d: "2024-01-01", n: "1_000", y: "y", o: "on" } } } });
    expect(text).toContain('tags: ["yes"]');
    expect(text).toContain('d: "2024-01-01"');
    expect(text).toContain('n: "1_000"');
    expect(text).toContain("y: y\n"); // PyYAML reads y as a string
    expect(text).toContain('o: "on"');
  });

  it("reads dates as their text and leaves out empty params on write", () => {
    const spec = specOf(
      "name: p\nnodes:\n  a:\n    script: s\n    params: {d: 2024-01-01, b: yes, c: Off, y: n}\n  b: {script: s}\n" +
        "layout:\n  a: {x: 1, y: 2}\n",
    );
    expect(spec.nodes.a.params).toEqual({ d: "2024-01-01", b: true, c: false, y: "n" });
    expect(spec.layout).toEqual({ a: { x: 1, y: 2 } });
    expect(spec.nodes.b).toEqual({ script: "s", params: {} });
    expect(specToYaml(spec)).toContain("  b:\n    script: s\n");
  });
});

describe("yamlToSpec errors", () => {
  const cases: [string, string, RegExp, number | null][] = [
    ["syntax", "name: p\nnodes:\n  a: {script: s\n", /./, 4],
    ["not a mapping", "- a\n- b\n", /mapping/, 1],
    ["no name", "nodes:\n  a: {script: s}\n", /name/, 1],
    ["bad tags", "name: p\ntags: 3\nnodes:\n  a: {script: s}\n", /tags/, 2],
    ["bad params", "name: p\nparams: [1]\nnodes:\n  a: {script: s}\n", /params/, 2],
    ["bad param", "name: p\nparams:\n  x: 1\nnodes:\n  a: {script: s}\n", /params.x/, 3],
    ["no nodes", "name: p\nnodes: {}\n", /nodes/, 2],
    ["missing nodes", "name: p\n", /nodes/, 1],
    ["bad node id", "name: p\nnodes:\n  1a: {script: s}\n", /node id 1a/, 3],
    ["reserved id", "name: p\nnodes:\n  collect_outputs: {script: s}\n", /reserved/, 3],
    ["node not a mapping", "name: p\nnodes:\n  a: 3\n", /nodes.a/, 3],
    ["no script", "name: p\nnodes:\n  a:\n    params: {}\n", /script/, 4],
    ["null script", "name: p\nnodes:\n  a:\n    params: {}\n    script:\n", /script/, 5],
    ["node params", "name: p\nnodes:\n  a:\n    script: s\n    params: [1]\n", /params/, 5],
    ["depends_on", "name: p\nnodes:\n  a:\n    script: s\n    depends_on: a\n", /depends_on/, 5],
    ["edges", "name: p\nnodes:\n  a: {script: s}\nedges: {a: b}\n", /edges/, 4],
    ["edge", "name: p\nnodes:\n  a: {script: s}\nedges:\n  - [a]\n", /edges.0/, 5],
    ["layout", "name: p\nnodes:\n  a: {script: s}\nlayout: [1]\n", /layout/, 4],
    ["position", "name: p\nnodes:\n  a: {script: s}\nlayout:\n  a: {x: 1}\n", /layout.a/, 5],
    ["duplicate key", "name: p\nname: q\nnodes:\n  a: {script: s}\n", /./, 2],
  ];
  it.each(cases)("%s", (_label, text, reason, line) => {
    const result = yamlToSpec(text);
    expect(result).toMatchObject({ error: expect.stringMatching(reason), line });
  });
});
