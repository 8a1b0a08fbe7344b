import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { readExample, SCRIPTS } from "./fixtures";
import { setParam } from "./graph";
import type { PipelineSpec } from "./types";
import { compatibleOutputs, compatibleParams, pipelineParamType, schemaType, typesCompatible } from "./typing";

const fanout = async () => parse(await readExample("data_quality_fanout.yaml")) as PipelineSpec;

describe("typesCompatible (pipeline_spec._types_compatible)", () => {
  it.each([
    ["integer", "integer", true],
    ["integer", "number", true],
    ["number", "integer", false],
    ["string", "integer", false],
    ["any", "integer", true],
    [null, "string", true],
    ["string", null, true],
    ["array", "object", false],
  ] as const)("%s → %s: %s", (source, target, ok) => {
    expect(typesCompatible(source, target)).toBe(ok);
  });

  it("reads a parameter's type from its schema, a pipeline param's from its spec", () => {
    expect(schemaType({ type: ["integer", "null"] })).toBe("integer");
    expect(schemaType({ type: ["null"] })).toBeNull();
    expect(schemaType({ enum: ["a", "b", null] })).toBe("string");
    expect(schemaType({ enum: [1, 2.5] })).toBe("number");
    expect(schemaType({ enum: [1, "a"] })).toBeNull();
    expect(schemaType({})).toBeNull();
    expect(schemaType(undefined)).toBeNull();
    expect(pipelineParamType({})).toBe("string");
    expect(pipelineParamType({ type: "date" })).toBe("string");
    expect(pipelineParamType({ type: "date-time" })).toBe("string");
    expect(pipelineParamType({ type: "enum", enum: [1, 2] })).toBe("integer");
    expect(pipelineParamType({ type: "enum" })).toBeNull();
    expect(pipelineParamType({ type: "boolean" })).toBe("boolean");
  });
});

describe("compatibleOutputs", () => {
  it("offers upstream-able outputs whose type fits an integer parameter", async () => {
    const spec = await fanout();
    expect(compatibleOutputs(spec, SCRIPTS, "gate", "rows")).toEqual([
      { node: "generate", output: "rows", type: "integer" },
      { node: "profile", output: "rows", type: "integer" },
      { node: "profile", output: "columns", type: "integer" },
      { node: "profile", output: "null_cells", type: "integer" },
      { node: "disk", output: "total_bytes", type: "integer" },
      { node: "disk", output: "entries", type: "integer" },
      { node: "disk", output: "free_bytes", type: "integer" },
      { node: "disk", output: "raw", type: "any" },
    ]);
  });

  it("lets integers feed a number parameter, never the reverse", async () => {
    const spec = await fanout();
    const number = compatibleOutputs(spec, SCRIPTS, "gate", "max_null_ratio").map((o) => o.type);
    expect(new Set(number)).toEqual(new Set(["integer", "any"]));
    const withRatio = setParam(spec, "gate", "rows", 1);
    expect(compatibleOutputs(withRatio, SCRIPTS, "disk", "top").some((o) => o.type === "number")).toBe(false);
  });

  it("leaves out the node itself and its downstream nodes (a cycle)", async () => {
    const spec = await fanout();
    const forGenerate = compatibleOutputs(spec, SCRIPTS, "generate", "rows");
    expect(forGenerate).toEqual([]); // every other node is downstream of generate
    const forDisk = compatibleOutputs(spec, SCRIPTS, "disk", "path");
    expect(forDisk.map((o) => `${o.node}.${o.output}`)).toEqual([
      "generate.path", "generate.format", "profile.profile_path",
    ]); // prettier-ignore
  });

  it("offers every output to an untyped parameter, none for unknown nodes", async () => {
    const spec = await fanout();
    expect(compatibleOutputs(spec, SCRIPTS, "gate", "anything")).toHaveLength(4 + 5 + 4);
    expect(compatibleOutputs(spec, SCRIPTS, "ghost", "x")).toEqual([]);
    expect(compatibleOutputs(spec, {}, "gate", "rows")).toEqual([]);
  });
});

describe("compatibleParams", () => {
  it("offers pipeline params whose type fits", async () => {
    const spec = await fanout();
    expect(compatibleParams(spec, SCRIPTS, "gate", "max_null_ratio")).toEqual([
      { name: "rows", type: "integer" },
      { name: "max_null_ratio", type: "number" },
    ]);
    expect(compatibleParams(spec, SCRIPTS, "gate", "rows")).toEqual([{ name: "rows", type: "integer" }]);
    expect(compatibleParams(spec, SCRIPTS, "disk", "path")).toEqual([]);
    expect(compatibleParams(spec, SCRIPTS, "ghost", "path")).toEqual([]);
    expect(compatibleParams({ ...spec, params: undefined }, SCRIPTS, "gate", "rows")).toEqual([]);
  });
});
