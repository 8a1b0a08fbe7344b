// Shapes of the ylai API (docs/api/openapi.json) and the parts of Airflow's /api/v2 used here.
import type { Schema } from "./schema";

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

export interface Percentiles {
  count: number;
  p50: number | null;
  p95: number | null;
}

export interface DagStats {
  dag_id: string;
  kind: string;
  runs: number;
  succeeded: number;
  failed: number;
  success_rate: number | null;
  duration: Percentiles;
}

export interface TaskMonitor {
  window_hours: number;
  generated_at: string;
  task_states: Record<string, number>;
  run_states: Record<string, number>;
  success_rate: number | null;
  queue_wait: Percentiles;
  per_dag: DagStats[];
  top_failing: DagStats[];
  runs_per_hour: { hour: string; runs: number; failed: number }[];
}

export interface RouteStats {
  method: string;
  route: string;
  requests: number;
  error_rate: number;
  client_error_rate: number;
  mean_ms: number | null;
  p50_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
}

export interface ApiMonitor {
  window_minutes: number;
  generated_at: string;
  workers: number;
  total_requests: number;
  error_rate: number;
  routes: RouteStats[];
}

export interface Sample {
  ts: string;
  cpu_percent: number;
  mem_percent: number;
  disk_percent: number;
  load1: number;
  running_tasks: number;
}

export interface HostMonitor {
  host: string;
  kinds: string[];
  last_heartbeat: string;
  alive: boolean;
  cpu_count: number;
  mem_total_bytes: number;
  disk_free_bytes: number;
  latest: Sample;
  history: Sample[];
}

export interface SystemMonitor {
  window_minutes: number;
  resolution_seconds: number;
  generated_at: string;
  workers_alive: number;
  hosts: HostMonitor[];
}

export interface RunStats {
  runs: number;
  succeeded: number;
  failed: number;
  success_rate: number | null;
  last_run_state?: string | null;
  last_run_at?: string | null;
}

export interface Script {
  name: string;
  dag_id: string;
  title: string;
  description: string;
  owner: string;
  tags: string[];
  runtime: string;
  source?: string;
  version?: number | null;
  params_schema: Schema;
  outputs: Record<string, { type: string; description?: string | null }>;
  timeout_seconds: number;
  retries: number;
  sensitive: boolean;
  stats: RunStats;
}

export interface ResourceUse {
  run_id: string;
  state: string | null;
  start_date: string | null;
  duration_seconds: number | null;
  exit_code?: number | null;
  peak_rss_bytes?: number | null;
  cpu_seconds?: number | null;
}

export interface ScriptDetail extends Script {
  recent_runs: ResourceUse[];
}

export interface RunOut {
  dag_id: string;
  run_id: string;
  state: string | null;
  queued_at?: string | null;
  start_date?: string | null;
  end_date?: string | null;
  duration_seconds?: number | null;
  triggered_by?: string | null;
  conf?: Record<string, unknown>;
  result?: unknown;
}

export interface Task {
  id: number;
  name: string;
  description: string;
  kind: "script" | "pipeline" | "dag";
  dag_id: string;
  params: Record<string, unknown>;
  schedule: string | null;
  created_by: string;
  created_at: string;
  updated_at: string;
  last_run?: RunOut | null;
}

export interface Preset {
  id: number;
  name: string;
  dag_id: string;
  description: string;
  params: Record<string, unknown>;
  owner: string;
  shared_with_role: string | null;
  visibility: "private" | "shared";
  editable: boolean;
}

// Airflow /api/v2
export interface DagRun {
  dag_run_id: string;
  dag_id: string;
  dag_display_name?: string;
  state: string;
  run_after: string;
  start_date: string | null;
  end_date: string | null;
  duration: number | null;
  run_type: string;
  triggering_user_name: string | null;
  conf: Record<string, unknown> | null;
}

export interface DagRunList {
  dag_runs: DagRun[];
  total_entries: number;
}

export interface Dag {
  dag_id: string;
  dag_display_name?: string;
  is_paused?: boolean;
  tags?: { name: string }[];
}

export interface DagDetails extends Dag {
  description?: string | null;
  params?: Record<string, { value?: unknown; schema?: Schema; description?: string | null }> | null;
}
