// The alert rule form: its state (strings, as inputs hold them), checks that mirror the server's
// (ylai_plugin/alerts/schemas.py), conversion to API bodies, and the server's field paths mapped
// back to form fields.
import { alertConditionTypeValues, channelTypeValues, ruleBodySeverityValues } from "../../generated/ylai";
import type { AlertChannel, AlertCondition, AlertRule, AlertRuleBody, ChannelType, ConditionType, Severity } from "../api/models";
import type { Key } from "../i18n";

/** The condition types of the API's registry (AlertConditionType), in its order. */
export const CONDITION_TYPES: readonly ConditionType[] = alertConditionTypeValues;
export const SEVERITIES: readonly Severity[] = ruleBodySeverityValues;
export const CHANNEL_TYPES: readonly ChannelType[] = channelTypeValues;
export const CHANNEL_NAMES: Record<ChannelType, string> = { slack: "Slack", email: "E-mail", webhook: "Webhook" };
export const TARGET_EXAMPLES: Record<ChannelType, string> = { slack: "#data-alerts", email: "oncall@example.com", webhook: "https://example.com/hooks/ylai" };

export interface CondForm {
  type: ConditionType;
  window_minutes: string;
  threshold_percent: string;
  min_runs: string;
  duration_mode: "factor" | "absolute";
  p95_factor: string;
  last_n_runs: string;
  max_seconds: string;
  max_silence_seconds: string;
  min_alive: string;
  must: "start" | "finish";
  time: string;
  timezone: string;
}

export interface ChannelForm {
  type: ChannelType;
  target: string;
  connection_id: string;
  language: "en" | "zh-CN";
}

export interface RuleForm {
  name: string;
  description: string;
  enabled: boolean;
  severity: Severity;
  scope_all: boolean;
  dag_ids: string;
  scripts: string;
  pipelines: string;
  tags: string;
  conditions: CondForm[];
  channels: ChannelForm[];
  rate_on: boolean;
  max_alerts: string;
  per_minutes: string;
  esc_on: boolean;
  after_minutes: string;
  repeat: boolean;
  esc_other: boolean;
  esc_channels: ChannelForm[];
}

export function newCondition(type: ConditionType = "run_failed"): CondForm {
  return {
    type,
    window_minutes: "1440",
    threshold_percent: "50",
    min_runs: "3",
    duration_mode: "factor",
    p95_factor: "2",
    last_n_runs: "20",
    max_seconds: type === "queue_wait" ? "600" : "3600",
    max_silence_seconds: "120",
    min_alive: "1",
    must: "finish",
    time: "06:00",
    timezone: "UTC",
  };
}

export function newChannel(language: "en" | "zh-CN" = "en", type: ChannelType = "slack"): ChannelForm {
  return { type, target: "", connection_id: "", language };
}

export function emptyRule(language: "en" | "zh-CN" = "en"): RuleForm {
  return {
    name: "",
    description: "",
    enabled: true,
    severity: "warning",
    scope_all: true,
    dag_ids: "",
    scripts: "",
    pipelines: "",
    tags: "",
    conditions: [newCondition()],
    channels: [newChannel(language)],
    rate_on: false,
    max_alerts: "10",
    per_minutes: "60",
    esc_on: false,
    after_minutes: "60",
    repeat: false,
    esc_other: false,
    esc_channels: [newChannel(language, "email")],
  };
}

export const splitList = (text: string) =>
  text
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter(Boolean);

const str = (v: unknown, fallback: string) => (v === undefined || v === null ? fallback : String(v));

function channelForm(c: AlertChannel): ChannelForm {
  return { type: c.type, target: c.target, connection_id: c.connection_id ?? "", language: c.language ?? "en" };
}

/** A stored rule as the form shows it (one condition per rule). */
export function formFromRule(rule: AlertRule): RuleForm {
  // Any member of the condition union, read field by field (absent fields keep the form's defaults).
  const c = rule.condition as { type: ConditionType } & Record<string, unknown>;
  const base = newCondition(c.type);
  const cond: CondForm = {
    ...base,
    window_minutes: str(c.window_minutes, base.window_minutes),
    threshold_percent: str(c.threshold_percent, base.threshold_percent),
    min_runs: str(c.min_runs, base.min_runs),
    duration_mode: c.type === "duration" && c.max_seconds !== null && c.max_seconds !== undefined ? "absolute" : "factor",
    p95_factor: str(c.p95_factor, base.p95_factor),
    last_n_runs: str(c.last_n_runs, base.last_n_runs),
    max_seconds: str(c.max_seconds, base.max_seconds),
    max_silence_seconds: str(c.max_silence_seconds, base.max_silence_seconds),
    min_alive: str(c.min_alive, base.min_alive),
    must: c.must === "start" ? "start" : "finish",
    time: str(c.time, base.time),
    timezone: str(c.timezone, base.timezone),
  };
  const s = rule.scope ?? { dag_ids: [], scripts: [], pipelines: [], tags: [] };
  const esc = rule.escalation;
  return {
    name: rule.name,
    description: rule.description ?? "",
    enabled: rule.enabled ?? true,
    severity: rule.severity,
    scope_all: !(s.dag_ids?.length || s.scripts?.length || s.pipelines?.length || s.tags?.length),
    dag_ids: (s.dag_ids ?? []).join(", "),
    scripts: (s.scripts ?? []).join(", "),
    pipelines: (s.pipelines ?? []).join(", "),
    tags: (s.tags ?? []).join(", "),
    conditions: [cond],
    channels: rule.channels.map(channelForm),
    rate_on: !!rule.rate_limit,
    max_alerts: str(rule.rate_limit?.max_alerts, "10"),
    per_minutes: str(rule.rate_limit?.per_minutes, "60"),
    esc_on: !!esc,
    after_minutes: str(esc?.after_minutes, "60"),
    repeat: esc?.repeat ?? false,
    esc_other: !!esc?.channels?.length,
    esc_channels: esc?.channels?.length ? esc.channels.map(channelForm) : [newChannel("en", "email")],
  };
}

const num = (s: string) => Number(s.trim());

export function conditionBody(c: CondForm): AlertCondition {
  switch (c.type) {
    case "failure_rate":
      return { type: c.type, window_minutes: num(c.window_minutes), threshold_percent: num(c.threshold_percent), min_runs: num(c.min_runs) };
    case "duration":
      return c.duration_mode === "factor"
        ? { type: c.type, p95_factor: num(c.p95_factor), last_n_runs: num(c.last_n_runs), min_runs: num(c.min_runs) }
        : { type: c.type, max_seconds: num(c.max_seconds) };
    case "queue_wait":
      return { type: c.type, max_seconds: num(c.max_seconds) };
    case "worker_heartbeat":
      return { type: c.type, max_silence_seconds: num(c.max_silence_seconds), min_alive: num(c.min_alive) };
    case "deadline":
      return { type: c.type, must: c.must, time: c.time, timezone: c.timezone.trim() || "UTC" };
    default:
      return { type: c.type };
  }
}

function channelBody(c: ChannelForm): AlertChannel {
  return { type: c.type, target: c.target.trim(), connection_id: c.connection_id.trim() || null, language: c.language };
}

/** The API body for one condition of the form. */
export function ruleBody(f: RuleForm, conditionIndex: number, name: string): AlertRuleBody {
  return {
    name,
    description: f.description,
    enabled: f.enabled,
    severity: f.severity,
    scope: f.scope_all
      ? { dag_ids: [], scripts: [], pipelines: [], tags: [] }
      : { dag_ids: splitList(f.dag_ids), scripts: splitList(f.scripts), pipelines: splitList(f.pipelines), tags: splitList(f.tags) },
    condition: conditionBody(f.conditions[conditionIndex]),
    channels: f.channels.map(channelBody),
    rate_limit: f.rate_on ? { max_alerts: num(f.max_alerts), per_minutes: num(f.per_minutes) } : null,
    escalation: f.esc_on ? { after_minutes: num(f.after_minutes), repeat: f.repeat, channels: f.esc_other ? f.esc_channels.map(channelBody) : null } : null,
  };
}

/** Names of the rules a form creates: one per condition ("name" alone for one condition). */
export function ruleNames(f: RuleForm, label: (type: ConditionType) => string): string[] {
  const name = f.name.trim();
  if (f.conditions.length === 1) return [name];
  return f.conditions.map((c) => `${name} · ${label(c.type)}`);
}

export type Errors = Record<string, string>;
type T = (key: Key, params?: Record<string, string | number>) => string;

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const TIME = /^([01]\d|2[0-3]):[0-5]\d$/;

function checkNumber(errors: Errors, key: string, text: string, t: T, opts: { min?: number; exclusiveMin?: number; max?: number; integer?: boolean }) {
  const v = Number(text.trim());
  if (!text.trim()) errors[key] = t("validation.required");
  else if (Number.isNaN(v)) errors[key] = t("validation.notANumber");
  else if (opts.integer && !Number.isInteger(v)) errors[key] = t("validation.type", { type: "integer" });
  else if (opts.exclusiveMin !== undefined && v <= opts.exclusiveMin) errors[key] = t("validation.exclusiveMinimum", { min: opts.exclusiveMin });
  else if (opts.min !== undefined && v < opts.min) errors[key] = t("validation.minimum", { min: opts.min });
  else if (opts.max !== undefined && v > opts.max) errors[key] = t("validation.maximum", { max: opts.max });
}

function checkChannels(errors: Errors, prefix: string, channels: ChannelForm[], t: T) {
  if (!channels.length) errors[prefix] = t("alerts.needChannel");
  channels.forEach((c, i) => {
    const key = `${prefix}.${i}.target`;
    const target = c.target.trim();
    if (!target) errors[key] = t("validation.required");
    else if (c.type === "email" && !EMAIL.test(target)) errors[key] = t("alerts.badEmail");
    else if (c.type === "webhook" && !/^https?:\/\//.test(target)) errors[key] = t("alerts.badUrl");
  });
}

/** Client checks, keyed like the form's fields ("channels.0.target", "conditions.1.p95_factor"). */
export function checkRule(f: RuleForm, t: T): Errors {
  const errors: Errors = {};
  if (!f.name.trim()) errors.name = t("validation.required");
  else if (f.name.trim().length > 150) errors.name = t("validation.maxLength", { max: 150 });
  if (!f.scope_all && ![f.dag_ids, f.scripts, f.pipelines, f.tags].some((s) => splitList(s).length)) errors["scope"] = t("alerts.needScope");
  if (!f.conditions.length) errors.conditions = t("alerts.needCondition");
  f.conditions.forEach((c, i) => {
    const k = (name: string) => `conditions.${i}.${name}`;
    if (c.type === "failure_rate") {
      checkNumber(errors, k("window_minutes"), c.window_minutes, t, { min: 1, max: 129600, integer: true });
      checkNumber(errors, k("threshold_percent"), c.threshold_percent, t, { exclusiveMin: 0, max: 100 });
      checkNumber(errors, k("min_runs"), c.min_runs, t, { min: 1, integer: true });
    } else if (c.type === "duration") {
      if (c.duration_mode === "factor") {
        checkNumber(errors, k("p95_factor"), c.p95_factor, t, { exclusiveMin: 0, max: 1000 });
        checkNumber(errors, k("last_n_runs"), c.last_n_runs, t, { min: 1, max: 1000, integer: true });
        checkNumber(errors, k("min_runs"), c.min_runs, t, { min: 1, max: 1000, integer: true });
      } else {
        checkNumber(errors, k("max_seconds"), c.max_seconds, t, { exclusiveMin: 0 });
      }
    } else if (c.type === "queue_wait") {
      checkNumber(errors, k("max_seconds"), c.max_seconds, t, { exclusiveMin: 0 });
    } else if (c.type === "worker_heartbeat") {
      checkNumber(errors, k("max_silence_seconds"), c.max_silence_seconds, t, { min: 5 });
      checkNumber(errors, k("min_alive"), c.min_alive, t, { min: 0, integer: true });
    } else if (c.type === "deadline") {
      if (!TIME.test(c.time)) errors[k("time")] = t("alerts.badTime");
    }
  });
  checkChannels(errors, "channels", f.channels, t);
  if (f.rate_on) {
    checkNumber(errors, "rate_limit.max_alerts", f.max_alerts, t, { min: 1, integer: true });
    checkNumber(errors, "rate_limit.per_minutes", f.per_minutes, t, { min: 1, integer: true });
  }
  if (f.esc_on) {
    checkNumber(errors, "escalation.after_minutes", f.after_minutes, t, { min: 1, integer: true });
    if (f.esc_other) checkChannels(errors, "escalation.channels", f.esc_channels, t);
  }
  return errors;
}

/** A server field path ("body.condition.duration.p95_factor") as the form's key for condition ``i``. */
export function formKey(field: string, conditionIndex: number): string {
  const parts = field.replace(/^body\./, "").split(".");
  if (parts[0] === "condition") {
    const rest = parts.slice(1).filter((p) => !(CONDITION_TYPES as string[]).includes(p));
    return rest.length ? `conditions.${conditionIndex}.${rest[0]}` : `conditions.${conditionIndex}`;
  }
  if (parts[0] === "scope") return "scope";
  if ((parts[0] === "channels" || (parts[0] === "escalation" && parts[1] === "channels")) && parts.length) {
    const start = parts[0] === "channels" ? 0 : 1;
    const [, idx, leaf] = parts.slice(start);
    const prefix = parts.slice(0, start + 1).join(".");
    if (idx === undefined) return prefix;
    return `${prefix}.${idx}.${leaf ?? "target"}`;
  }
  return parts.slice(0, 2).join(".");
}
