// What the alert screens share: labels, one-line descriptions of conditions and scopes, badges and form fields.
import type { ReactNode } from "react";
import { CHANNEL_NAMES, conditionSummary } from "../../lib/alertForm";
import type { AlertCondition, AlertEvent, AlertScope, ChannelType, Severity } from "../../api/models";
import { useI18n, type I18n, type Key } from "../../i18n";
import { FieldError } from "../../components/ui";

export const condLabel = (t: I18n["t"], type: string) => t(`alerts.cond.${type}` as Key);
/** Slack and Webhook are names; e-mail is a word to translate. */
export const channelName = (t: I18n["t"], type: ChannelType) => (type === "email" ? t("alerts.channel.email") : CHANNEL_NAMES[type]);

/** One line per condition: what fires the rule (its summary text, from its params schema). */
export function describeCondition(i: I18n, c: AlertCondition): string {
  const summary = conditionSummary(c, { number: (v) => i.number(v, 2), duration: (s) => i.duration(s) });
  return summary ? i.t(summary.key as Key, summary.params) : condLabel(i.t, c.type);
}

export function describeScope(t: I18n["t"], s: Partial<AlertScope> | null | undefined): string {
  if (!s) return t("alerts.scopeAll");
  const parts: string[] = [];
  if (s.tags?.length) parts.push(t("alerts.scopeTags", { list: s.tags.join(", ") }));
  if (s.pipelines?.length) parts.push(t("alerts.scopePipelines", { list: s.pipelines.join(", ") }));
  if (s.scripts?.length) parts.push(t("alerts.scopeScripts", { list: s.scripts.join(", ") }));
  if (s.dag_ids?.length) parts.push(t("alerts.scopeDags", { list: s.dag_ids.join(", ") }));
  return parts.length ? parts.join("; ") : t("alerts.scopeAll");
}

export function SeverityBadge({ severity }: { severity: Severity }) {
  const { t } = useI18n();
  const tone = severity === "critical" ? "bad" : severity === "warning" ? "warn" : "muted";
  return (
    <span className={`y-badge y-tone-${tone}`} data-severity={severity}>
      {t(`alerts.severity.${severity}` as Key)}
    </span>
  );
}

export function AlertStateBadge({ state }: { state: AlertEvent["state"] }) {
  const { t } = useI18n();
  return <span className={`y-badge y-tone-${state === "firing" ? "bad" : "ok"}`}>{t(`alerts.state.${state}` as Key)}</span>;
}

export function Field({ label, error, testId, children, help }: { label: ReactNode; error?: string; testId?: string; children: ReactNode; help?: string }) {
  return (
    <label className="y-field">
      <span className="y-label">{label}</span>
      {children}
      {help ? <span className="y-help">{help}</span> : null}
      <FieldError text={error} testId={testId ? `${testId}-error` : undefined} />
    </label>
  );
}

export function Datalist({ id, values }: { id: string; values: string[] }) {
  return (
    <datalist id={id}>
      {values.map((v) => (
        <option key={v} value={v} />
      ))}
    </datalist>
  );
}

/** Airflow's page of a DAG, or of one of its runs. */
export const dagLink = (dagId: string, runId?: string | null) => (runId ? `dags/${encodeURIComponent(dagId)}/runs/${encodeURIComponent(runId)}` : `dags/${encodeURIComponent(dagId)}`);
