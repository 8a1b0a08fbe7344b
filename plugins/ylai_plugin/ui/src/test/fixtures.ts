// Answers of ylai's API that several page tests start from; each test overrides what it is about.
import type { AlertRule, Script } from "../api/models";

/** A rule as `GET /alerts/rules` lists it: "run failed" for every DAG, one webhook channel. */
export function ruleOut(id: number, extra: Record<string, unknown> = {}): AlertRule {
  return {
    id,
    name: `rule ${id}`,
    description: "",
    enabled: true,
    severity: "warning",
    scope: { dag_ids: [], scripts: [], pipelines: [], tags: [] },
    condition: { type: "run_failed" },
    channels: [{ type: "webhook", target: "http://hooks/x", connection_id: null, language: "zh-CN" }],
    rate_limit: null,
    escalation: null,
    source: "api",
    source_ref: null,
    created_by: "ursula",
    created_at: "2026-11-28T00:00:00Z",
    updated_at: "2026-11-28T00:00:00Z",
    firing: 0,
    ...extra,
  } as AlertRule;
}

/** The csv_profiler script as `GET /scripts/csv_profiler` answers it, with the given params schema. */
export function profilerScript(paramsSchema: Record<string, unknown>): Script {
  return {
    name: "csv_profiler",
    dag_id: "script__csv_profiler",
    kind: "script",
    title: "CSV profiler",
    description: "Profiles a CSV file",
    owner: "data",
    tags: [],
    runtime: "python",
    params_schema: paramsSchema,
    outputs: {},
    timeout_seconds: 60,
    retries: 0,
    sensitive: false,
    stats: { runs: 0, succeeded: 0, failed: 0, success_rate: null },
  } as unknown as Script;
}
