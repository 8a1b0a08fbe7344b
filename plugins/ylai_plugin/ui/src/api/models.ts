// Names for the generated schemas the pages use (generated/ylai.ts and generated/airflow.ts):
// aliases only, no shape is written here.
import type { AirflowSchemas, Schemas } from "./client";

export type TaskMonitor = Schemas["TaskMonitor"];
export type ApiMonitor = Schemas["ApiMonitor"];
export type SystemMonitor = Schemas["SystemMonitor"];
export type HostMonitor = Schemas["HostMonitor"];
export type TaskStateHistory = Schemas["TaskStateHistory"];
export type QueueMonitor = Schemas["QueueMonitor"];
export type QueueLimits = Schemas["QueueLimits"];
export type DependencyMonitor = Schemas["DependencyMonitor"];
export type ErrorTrends = Schemas["ErrorTrends"];
export type SchedulerLag = Schemas["SchedulerLag"];
export type ResourceRanking = Schemas["ResourceRanking"];
export type ScriptResources = Schemas["ScriptResources"];
export type ResourceMetric = Schemas["ResourceMetric"];
export type Script = Schemas["ScriptOut"];
export type ScriptDetail = Schemas["ScriptDetail"];
export type Task = Schemas["TaskOut"];
export type RunOut = Schemas["RunOut"];
export type Preset = Schemas["PresetOut"];

export type AlertRule = Schemas["RuleOut"];
export type AlertRuleBody = Schemas["RuleBody"];
export type AlertCondition = AlertRuleBody["condition"];
export type ConditionType = AlertCondition["type"];
export type AlertChannel = Schemas["Channel"];
export type ChannelType = AlertChannel["type"];
export type AlertScope = Schemas["Scope"];
export type Severity = AlertRuleBody["severity"];
export type Silence = Schemas["SilenceOut"];
export type AlertEvent = Schemas["AlertOut"];
export type AlertDetail = Schemas["AlertDetail"];

export type ExportJob = Schemas["ExportJobOut"];
export type ExportKind = Schemas["ExportJobIn"]["kind"];
export type ExportFormat = Schemas["ExportJobIn"]["format"];
export type ExportFilterValues = Schemas["ExportFilters"];

export type Dag = AirflowSchemas["DAGResponse"];
export type DagDetails = AirflowSchemas["DAGDetailsResponse"];
export type DagRun = AirflowSchemas["DAGRunResponse"];
