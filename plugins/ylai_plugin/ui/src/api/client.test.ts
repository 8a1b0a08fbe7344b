import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { fakeServer } from "../test/server";
import { ApiError } from "../lib/api";
import { airflow, data, queryString, ylai, ylaiUrl } from "./client";

let base: HTMLBaseElement;
beforeEach(() => {
  // Airflow behind an [api] base_url: every call must stay under it.
  document.querySelectorAll("base").forEach((b) => b.remove());
  base = document.createElement("base");
  base.href = `${window.location.origin}/airflow/`;
  document.head.appendChild(base);
});
afterEach(() => {
  base.remove();
  vi.unstubAllGlobals();
  localStorage.clear();
});

describe("the generated client", () => {
  it("calls ylai's API at its server URL and Airflow's under Airflow's base URL, with the session cookie", async () => {
    const server = fakeServer((c) => (c.path === "/airflow/ylai/api/v1/tasks/7" ? { body: { id: 7 } } : undefined), (c) => (c.path === "/airflow/api/v2/dags" ? { body: { dags: [], total_entries: 0 } } : undefined));
    expect(await data(ylai.GET("/api/v1/tasks/{task_id}", { params: { path: { task_id: 7 } } }))).toEqual({ id: 7 });
    await data(airflow.GET("/api/v2/dags", { params: { query: { limit: 5, order_by: ["dag_id"], tags: [] } } }));
    expect(server.calls.map((c) => c.path)).toEqual(["/airflow/ylai/api/v1/tasks/7", "/airflow/api/v2/dags"]);
    expect(server.calls[1].search.toString()).toBe("limit=5&order_by=dag_id");
    const request = (globalThis.fetch as unknown as { mock: { calls: [Request][] } }).mock.calls[0][0];
    expect(request.credentials).toBe("same-origin");
    expect(request.headers.get("Accept")).toBe("application/json");
  });

  it("asks for the pages' language, so the server's errors come in it", async () => {
    const server = fakeServer((c) => (c.path.endsWith("/tasks/7") ? { status: 404, body: { error: { code: "not_found", message: "任务 7 不存在", details: null } } } : undefined));
    const sent = () => (globalThis.fetch as unknown as { mock: { calls: [Request][] } }).mock.calls.map(([r]) => r.headers.get("Accept-Language"));
    localStorage.setItem("i18nextLng", "zh-CN");
    const failed = await ylai.GET("/api/v1/tasks/{task_id}", { params: { path: { task_id: 7 } } }).catch((e: unknown) => e);
    expect(failed).toMatchObject({ status: 404, message: "任务 7 不存在" });
    // Airflow's i18next spelling ("zh-cn", "en-US") is mapped to ylai's languages; a switch counts at the next call.
    localStorage.setItem("i18nextLng", "en-US");
    await airflow.GET("/api/v2/dags", { params: { query: {} } }).catch(() => undefined);
    localStorage.removeItem("i18nextLng");
    document.documentElement.setAttribute("lang", "zh-cn");
    await ylai.GET("/api/v1/tasks/{task_id}", { params: { path: { task_id: 7 } } }).catch(() => undefined);
    document.documentElement.removeAttribute("lang");
    expect(sent()).toEqual(["zh-CN", "en", "zh-CN"]);
    expect(server.calls).toHaveLength(3);
  });

  it("sends bodies as JSON and encodes path params", async () => {
    const server = fakeServer((c) => (c.method === "POST" ? { status: 201, body: { run_id: "r", dag_id: "d" } } : undefined));
    await data(ylai.POST("/api/v1/scripts/{name}/run", { params: { path: { name: "a b/c" } }, body: { params: { top: 3 } } }));
    expect(server.calls[0].path).toBe("/airflow/ylai/api/v1/scripts/a%20b%2Fc/run");
    expect(server.calls[0].body).toEqual({ params: { top: 3 } });
  });

  it("turns ylai's error envelope and Airflow's detail into an ApiError", async () => {
    fakeServer(
      (c) => (c.path.endsWith("/presets") ? { status: 422, body: { error: { code: "invalid_input", message: "bad", details: [{ field: "body.name", reason: "too long" }] } } } : undefined),
      (c) => (c.path.endsWith("/dagRuns") ? { status: 400, body: { detail: "Invalid input for param top: 0 is less than the minimum of 1" } } : undefined),
    );
    const ylaiError = await ylai.POST("/api/v1/presets", { body: { name: "x", dag_id: "d" } }).catch((e: unknown) => e);
    expect(ylaiError).toBeInstanceOf(ApiError);
    expect(ylaiError).toMatchObject({ status: 422, code: "invalid_input", message: "bad", details: [{ field: "body.name", reason: "too long" }] });
    const airflowError = await airflow.POST("/api/v2/dags/{dag_id}/dagRuns", { params: { path: { dag_id: "d" } }, body: { logical_date: null, conf: {} } }).catch((e: unknown) => e);
    expect(airflowError).toMatchObject({ status: 400, details: [{ field: "params.top", reason: "0 is less than the minimum of 1" }] });
  });

  it("builds browser URLs (downloads, event streams) from the same paths", () => {
    expect(ylaiUrl("/api/v1/runs/{dag_id}/{run_id}/logs/stream", { dag_id: "d", run_id: "manual__2026-01-01T00:00:00+00:00" })).toBe(
      `${window.location.origin}/airflow/ylai/api/v1/runs/d/manual__2026-01-01T00%3A00%3A00%2B00%3A00/logs/stream`,
    );
    expect(ylaiUrl("/api/v1/exports/{kind}", { kind: "runs" }, { format: "csv", script: ["a", "b"], month: "" })).toBe(`${window.location.origin}/airflow/ylai/api/v1/exports/runs?format=csv&script=a&script=b`);
  });

  it("leaves empty query values out and repeats lists", () => {
    expect(queryString({ q: "", kind: undefined, state: null, dag_id: ["a", "b"], limit: 0, flag: false })).toBe("dag_id=a&dag_id=b&limit=0&flag=false");
  });
});
