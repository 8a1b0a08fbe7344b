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

// Alerts (ylai_plugin/alerts/schemas.py, api/alerts.py)
export type Severity = "info" | "warning" | "critical";
export type ChannelType = "slack" | "email" | "webhook";
export type ConditionType = "run_failed" | "task_failed" | "failure_rate" | "duration" | "queue_wait" | "worker_heartbeat" | "deadline";

export interface AlertScope {
  dag_ids: string[];
  scripts: string[];
  pipelines: string[];
  tags: string[];
}

export interface AlertChannel {
  type: ChannelType;
  target: string;
  connection_id?: string | null;
  language: "en" | "zh-CN";
}

export type AlertCondition = { type: ConditionType } & Record<string, unknown>;

export interface AlertRuleBody {
  name: string;
  description: string;
  enabled: boolean;
  severity: Severity;
  scope: AlertScope;
  condition: AlertCondition;
  channels: AlertChannel[];
  rate_limit: { max_alerts: number; per_minutes: number } | null;
  escalation: { after_minutes: number; channels: AlertChannel[] | null; repeat: boolean } | null;
}

export interface AlertRule extends AlertRuleBody {
  id: number;
  source: "api" | "manifest";
  source_ref: string | null;
  created_by: string;
  created_at: string;
  updated_at: string;
  firing: number;
}

export interface Silence {
  id: number;
  rule_id: number | null;
  scope: Partial<AlertScope> | null;
  starts_at: string;
  ends_at: string;
  comment: string;
  created_by: string;
  created_at: string;
  active: boolean;
}

export interface AlertEvent {
  id: number;
  rule_id: number | null;
  rule_name: string;
  condition_type: string;
  dedup_key: string;
  state: "firing" | "resolved";
  severity: Severity;
  suppressed: "silenced" | "rate_limited" | null;
  title: string;
  summary: string;
  details: Record<string, unknown>;
  dag_id: string | null;
  run_id: string | null;
  started_at: string;
  resolved_at: string | null;
  last_notified_at: string | null;
  escalation_level: number;
}

export interface DeliveryAttempt {
  attempted_at: string;
  ok: boolean;
  error: string | null;
  duration_ms: number;
  worker: string;
}

export interface Delivery {
  id: number;
  kind: "firing" | "resolved" | "escalation";
  channel_type: ChannelType;
  target: string;
  connection_id: string | null;
  language: string;
  status: "pending" | "sent";
  attempts: number;
  next_attempt_at: string | null;
  last_error: string | null;
  created_at: string;
  sent_at: string | null;
  attempt_log: DeliveryAttempt[];
}

export interface AlertDetail extends AlertEvent {
  deliveries: Delivery[];
}

// Exports (api/exports.py)
export type ExportKind = "runs" | "tasks" | "scripts" | "audit" | "monitor" | "alerts";
export type ExportFormat = "csv" | "xlsx" | "pdf";

export interface ExportFilterValues {
  since?: string;
  until?: string;
  month?: string;
  dag_id?: string[];
  script?: string[];
  state?: string[];
  user?: string;
}

export interface ExportJob {
  id: number;
  kind: string;
  format: ExportFormat;
  language: string;
  filters: Record<string, unknown>;
  state: "queued" | "running" | "success" | "failed";
  rows_done: number;
  rows_total: number | null;
  progress: number | null;
  file_name: string | null;
  size_bytes: number | null;
  error: string | null;
  download_url: string | null;
  created_at: string;
  finished_at: string | null;
}
