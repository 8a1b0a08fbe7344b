import { describe, expect, it } from "vitest";
import { hrefFor, isStandalonePath, pageFromPath, pagePath, standalonePath } from "./nav";

describe("pageFromPath", () => {
  it("reads the page inside Airflow's UI and in the standalone view, under any base path", () => {
    expect(pageFromPath("/plugin/ylai-run")).toBe("run");
    expect(pageFromPath("/airflow/plugin/ylai-alerts/")).toBe("alerts");
    expect(pageFromPath("/ylai/app/monitor")).toBe("monitor");
    expect(pageFromPath("/airflow/ylai/app/tasks/")).toBe("tasks");
  });

  it("returns null for anything else", () => {
    expect(pageFromPath("/ylai/app/")).toBeNull();
    expect(pageFromPath("/ylai/app/nope")).toBeNull();
    expect(pageFromPath("/ylai/app/running")).toBeNull();
    expect(pageFromPath("/plugin/ylai-overviews")).toBeNull();
    expect(pageFromPath("/dags/x")).toBeNull();
  });
});

describe("hrefFor", () => {
  it("keeps every link as written inside Airflow's UI", () => {
    expect(hrefFor(pagePath("run", "?dag_id=x"), false)).toBe("plugin/ylai-run?dag_id=x");
    expect(hrefFor("/dags/x/runs/y", false)).toBe("dags/x/runs/y");
  });

  it("keeps links to ylai's pages in the standalone view", () => {
    expect(hrefFor(pagePath("run", "?dag_id=x"), true)).toBe("ylai/app/run?dag_id=x");
    expect(hrefFor("plugin/ylai-tasks", true)).toBe("ylai/app/tasks");
    expect(hrefFor("/plugin/ylai-alerts/?tab=history", true)).toBe("ylai/app/alerts?tab=history");
    expect(hrefFor("plugin/ylai-monitor#top", true)).toBe("ylai/app/monitor#top");
  });

  it("sends links to Airflow's pages (and other plugins) to Airflow in the standalone view", () => {
    expect(hrefFor("dags/script__disk_usage/runs/r1", true)).toBe("dags/script__disk_usage/runs/r1");
    expect(hrefFor("plugin/ylai-runner", true)).toBe("plugin/ylai-runner");
    expect(hrefFor("plugin/other", true)).toBe("plugin/other");
    expect(hrefFor("ylai/api/v1/exports/jobs/1/download", true)).toBe("ylai/api/v1/exports/jobs/1/download");
  });

  it("tells the standalone view's pages from the rest", () => {
    expect(isStandalonePath(standalonePath("scripts", "?name=x"))).toBe(true);
    expect(isStandalonePath("ylai/app/overview")).toBe(true);
    expect(isStandalonePath("ylai/app/assets/standalone-x.js")).toBe(false);
    expect(isStandalonePath("dags/x")).toBe(false);
  });
});
