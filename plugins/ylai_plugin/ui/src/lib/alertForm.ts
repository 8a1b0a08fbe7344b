// The alert rule form: its state (strings, as inputs hold them), checks that mirror the server's,
// conversion to API bodies, and the server's field paths mapped back to form fields. A condition's
// fields, defaults and checks come from its params schema (generated/alertConditions.ts, from the
// OpenAPI document): no condition type is named here.
import { ALERT_CONDITIONS, type ConditionField, type ConditionSpec } from "../../generated/alertConditions";
import { channelTypeValues, ruleBodySeverityValues } from "../../generated/ylai";
import type { AlertChannel, AlertCondition, AlertRule, AlertRuleBody, ChannelType, ConditionType, Severity } from "../api/models";
import type { Key } from "../i18n";

/** The condition types of the API's registry (AlertConditionType), in its order. */
export const CONDITION_TYPES: readonly ConditionType[] = ALERT_CONDITIONS.map((spec) => spec.type as ConditionType);
const SPECS = new Map(ALERT_CONDITIONS.map((spec) => [spec.type, spec]));
/** The condition that "Add a condition" adds (its module says so), else the first. */
export const ADDED_CONDITION = (ALERT_CONDITIONS.find((spec) => spec.add_default) ?? ALERT_CONDITIONS[0]).type as ConditionType;
export const SEVERITIES: readonly Severity[] = ruleBodySeverityValues;
export const CHANNEL_TYPES: readonly ChannelType[] = channelTypeValues;
export const CHANNEL_NAMES: Record<ChannelType, string> = { slack: "Slack", email: "E-mail", webhook: "Webhook" };
export const TARGET_EXAMPLES: Record<ChannelType, string> = { slack: "#data-alerts", email: "oncall@example.com", webhook: "https://example.com/hooks/ylai" };

/** One condition of the form: its type, the text of each of its fields, and its mode (if it has modes). */
export type CondForm = { type: ConditionType } & Record<string, string>;

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

/** The params schema of a condition type (undefined: a type this UI's document does not have). */
export const conditionSpec = (type: string): ConditionSpec | undefined => SPECS.get(type);

const isSet = (v: unknown) => v !== undefined && v !== null && v !== "";

/** The mode of a condition with modes: the form's, else the first whose first field is set, else the first. */
function modeOf(spec: ConditionSpec, values: Record<string, unknown>) {
  const modes = spec.modes;
  if (!modes) return undefined;
  return modes.options.find((o) => o.value === values[modes.name]) ?? modes.options.find((o) => isSet(values[o.fields[0]])) ?? modes.options[0];
}

/** The fields the form shows and sends for ``values``: the visible ones, of the current mode only. */
export function conditionFields(type: string, values: Record<string, unknown>): ConditionField[] {
  const spec = conditionSpec(type);
  if (!spec) return [];
  const mode = modeOf(spec, values);
  const moded = new Set(spec.modes?.options.flatMap((o) => o.fields) ?? []);
  return spec.fields.filter((f) => !f.hidden && (!moded.has(f.name) || mode?.fields.includes(f.name)));
}

const initialText = (f: ConditionField) => {
  const v = isSet(f.default) ? f.default : f.initial;
  return isSet(v) ? String(v) : f.enum?.[0] ?? "";
};

export function newCondition(type: ConditionType = CONDITION_TYPES[0]): CondForm {
  const c: CondForm = { type } as CondForm;
  const spec = conditionSpec(type);
  if (spec?.modes) c[spec.modes.name] = spec.modes.options[0].value;
  for (const f of spec?.fields ?? []) if (!f.hidden) c[f.name] = initialText(f);
  return c;
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
  const cond = newCondition(c.type);
  const spec = conditionSpec(c.type);
  const mode = spec && modeOf(spec, c);
  if (spec?.modes && mode) cond[spec.modes.name] = mode.value;
  for (const f of spec?.fields ?? []) {
    if (f.hidden) continue;
    const text = str(c[f.name], cond[f.name]);
    cond[f.name] = f.enum && !f.enum.includes(text) ? cond[f.name] : text;
  }
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

const isNumber = (f: ConditionField) => f.type === "number" || f.type === "integer";

/** A field's text as the API takes it (an empty text with a default: the default). */
function fieldValue(f: ConditionField, text: string): unknown {
  if (isNumber(f)) return num(text);
  if (f.type === "boolean") return text === "true";
  if (f.enum || !isSet(f.default)) return text;
  return text.trim() || String(f.default);
}

export function conditionBody(c: CondForm): AlertCondition {
  const body: Record<string, unknown> = { type: c.type };
  for (const f of conditionFields(c.type, c)) body[f.name] = fieldValue(f, c[f.name] ?? "");
  return body as AlertCondition;
}

/** The i18n key and params of a condition's one-line summary (null: it has no fields, its label says it all). */
export function conditionSummary(
  c: AlertCondition,
  format: { number: (v: number) => string; duration: (seconds: number) => string },
): { key: string; params: Record<string, string> } | null {
  const values = c as unknown as Record<string, unknown>;
  const spec = conditionSpec(c.type);
  const fields = conditionFields(c.type, values);
  if (!spec || !fields.length) return null;
  const params: Record<string, string> = {};
  for (const f of fields) {
    const v = isSet(values[f.name]) ? values[f.name] : f.default;
    if (!isSet(v)) continue;
    if (f.unit === "seconds") params[f.name] = format.duration(Number(v));
    else if (f.unit === "minutes") params[f.name] = format.duration(Number(v) * 60);
    else params[f.name] = isNumber(f) ? format.number(Number(v)) : String(v);
  }
  let key = modeOf(spec, values)?.summary ?? spec.labels.summary;
  if (spec.summary) {
    const by = spec.fields.find((f) => f.name === spec.summary!.field);
    key = spec.summary.keys[String(values[spec.summary.field] ?? by?.default)] ?? key;
  }
  return { key, params };
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

function checkNumber(errors: Errors, key: string, text: string, t: T, opts: { min?: number; exclusiveMin?: number; max?: number; exclusiveMax?: number; integer?: boolean }) {
  const v = Number(text.trim());
  if (!text.trim()) errors[key] = t("validation.required");
  else if (Number.isNaN(v)) errors[key] = t("validation.notANumber");
  else if (opts.integer && !Number.isInteger(v)) errors[key] = t("validation.type", { type: "integer" });
  else if (opts.exclusiveMin !== undefined && v <= opts.exclusiveMin) errors[key] = t("validation.exclusiveMinimum", { min: opts.exclusiveMin });
  else if (opts.min !== undefined && v < opts.min) errors[key] = t("validation.minimum", { min: opts.min });
  else if (opts.max !== undefined && v > opts.max) errors[key] = t("validation.maximum", { max: opts.max });
  else if (opts.exclusiveMax !== undefined && v >= opts.exclusiveMax) errors[key] = t("validation.exclusiveMaximum", { max: opts.exclusiveMax });
}

/** The checks of one condition field, from its schema (the server's own). */
function checkField(errors: Errors, key: string, f: ConditionField, text: string, t: T) {
  if (isNumber(f)) {
    checkNumber(errors, key, text, t, { min: f.minimum, exclusiveMin: f.exclusiveMinimum, max: f.maximum, exclusiveMax: f.exclusiveMaximum, integer: f.type === "integer" });
  } else if (f.pattern && !new RegExp(f.pattern).test(text)) {
    errors[key] = f.error ? t(f.error as Key) : t("validation.pattern", { pattern: f.pattern });
  } else if (f.enum && !f.enum.includes(text)) {
    errors[key] = t("validation.enum", { values: f.enum.join(", ") });
  } else if (f.required && !text.trim()) {
    errors[key] = t("validation.required");
  }
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
    for (const f of conditionFields(c.type, c)) checkField(errors, `conditions.${i}.${f.name}`, f, c[f.name] ?? "", t);
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
