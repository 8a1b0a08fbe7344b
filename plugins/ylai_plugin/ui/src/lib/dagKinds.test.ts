import { describe, expect, it } from "vitest";
import { DAG_KINDS, parseDagId, prefixPattern, shortName, targetKind } from "./dagKinds";

describe("DAG ids from Airflow's answers", () => {
  it("follows the API's DagKind enum", () => {
    expect(DAG_KINDS).toEqual(["script", "pipeline", "task", "report"]);
  });

  it("reads the kind and name of ylai's DAG ids and nothing else", () => {
    expect(parseDagId("script__disk_usage")).toEqual({ kind: "script", name: "disk_usage" });
    expect(parseDagId("pipeline__nightly__etl")).toEqual({ kind: "pipeline", name: "nightly__etl" });
    expect(parseDagId("task__12")).toEqual({ kind: "task", name: "12" });
    expect(parseDagId("script__")).toBeNull();
    expect(parseDagId("scripts__x")).toBeNull();
    expect(parseDagId("my_dag")).toBeNull();
  });

  it("names targets as the pages show them", () => {
    expect(targetKind("pipeline__nightly")).toBe("pipeline");
    expect(targetKind("report__weekly")).toBe("dag");
    expect(shortName("script__disk_usage")).toBe("disk_usage");
    expect(shortName("report__weekly")).toBe("report__weekly");
    expect(prefixPattern(["script", "pipeline"])).toBe("script__|pipeline__");
  });
});
