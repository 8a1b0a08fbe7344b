import { useEffect, useMemo, useState, type ReactNode } from "react";
import { ApiError, del, enc, get, patch, post, put, qs } from "../lib/api";
import { usePoll } from "../lib/hooks";
import { useMe } from "../lib/me";
import { Link, pagePath, useNav } from "../lib/nav";
import {
  CHANNEL_NAMES,
  CHANNEL_TYPES,
  CONDITION_TYPES,
  SEVERITIES,
  TARGET_EXAMPLES,
  checkRule,
  emptyRule,
  formFromRule,
  formKey,
  newChannel,
  newCondition,
  ruleBody,
  ruleNames,
  type ChannelForm,
  type CondForm,
  type Errors,
  type RuleForm,
} from "../lib/alertForm";
import type { AlertCondition, AlertDetail, ChannelType, AlertEvent, AlertRule, AlertScope, ConditionType, Dag, Page, Severity, Silence } from "../lib/types";
import { useI18n, type I18n, type Key } from "../i18n";
import { ExportButtons } from "../components/ExportButtons";
import { Card, DisabledNote, Empty, ErrorBox, FieldError, Json, Loading, PageHeader, PermittedLink } from "../components/ui";

type Tab = "rules" | "silences" | "history";
const TABS: Tab[] = ["rules", "silences", "history"];

export function Alerts() {
  const nav = useNav();
  if (nav.search.get("new")) return <RuleEditor />;
  const rule = nav.search.get("rule");
  if (rule) return <RuleEditor id={Number(rule)} />;
  const alert = nav.search.get("alert");
  if (alert) return <AlertView id={Number(alert)} />;
  const tab = (nav.search.get("tab") as Tab | null) ?? "rules";
  return <AlertsHome tab={TABS.includes(tab) ? tab : "rules"} />;
}

const condLabel = (t: I18n["t"], type: string) => t(`alerts.cond.${type}` as Key);
/** Slack and Webhook are names; e-mail is a word to translate. */
const channelName = (t: I18n["t"], type: ChannelType) => (type === "email" ? t("alerts.channel.email") : CHANNEL_NAMES[type]);

/** One line per condition: what fires the rule. */
export function describeCondition(i: I18n, c: AlertCondition): string {
  const { t } = i;
  const n = (v: unknown) => i.number(Number(v), 2);
  switch (c.type) {
    case "failure_rate":
      return t("alerts.desc.failure_rate", { pct: n(c.threshold_percent), window: i.duration(Number(c.window_minutes) * 60), min: n(c.min_runs) });
    case "duration":
      return c.p95_factor !== null && c.p95_factor !== undefined
        ? t("alerts.desc.durationFactor", { factor: n(c.p95_factor), runs: n(c.last_n_runs ?? 20) })
        : t("alerts.desc.durationMax", { limit: i.duration(Number(c.max_seconds)) });
    case "queue_wait":
      return t("alerts.desc.queue_wait", { limit: i.duration(Number(c.max_seconds)) });
    case "worker_heartbeat":
      return t("alerts.desc.worker_heartbeat", { limit: i.duration(Number(c.max_silence_seconds)), min: n(c.min_alive ?? 1) });
    case "deadline":
      return t(c.must === "start" ? "alerts.desc.deadlineStart" : "alerts.desc.deadlineFinish", { time: String(c.time), tz: String(c.timezone ?? "UTC") });
    default:
      return condLabel(t, c.type);
  }
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

function SeverityBadge({ severity }: { severity: Severity }) {
  const { t } = useI18n();
  const tone = severity === "critical" ? "bad" : severity === "warning" ? "warn" : "muted";
  return (
    <span className={`y-badge y-tone-${tone}`} data-severity={severity}>
      {t(`alerts.severity.${severity}` as Key)}
    </span>
  );
}

function AlertStateBadge({ state }: { state: AlertEvent["state"] }) {
  const { t } = useI18n();
  return <span className={`y-badge y-tone-${state === "firing" ? "bad" : "ok"}`}>{t(`alerts.state.${state}` as Key)}</span>;
}

function AlertsHome({ tab }: { tab: Tab }) {
  const { t } = useI18n();
  const me = useMe();
  const canCreate = me.can("alerts", "create");
  return (
    <div data-testid="page-alerts">
      <PageHeader
        title={t("alerts.title")}
        subtitle={t("alerts.subtitle")}
        actions={
          <PermittedLink allowed={canCreate} to={pagePath("alerts", "?new=1")} className="y-btn y-btn-primary" testId="rule-new" reason={t("perm.noAlertCreate")}>
            {t("alerts.newRule")}
          </PermittedLink>
        }
      />
      <DisabledNote show={me.loaded && !canCreate} text={t("perm.noAlertCreate")} testId="alerts-permission" />
      <div className="y-seg y-filters" role="tablist" aria-label={t("alerts.sections")}>
        {TABS.map((x) => (
          <Link key={x} to={pagePath("alerts", `?tab=${x}`)} className={x === tab ? "y-btn y-btn-on" : "y-btn"} testId={`alerts-tab-${x}`}>
            {t(`alerts.tab.${x}` as Key)}
          </Link>
        ))}
      </div>
      {tab === "rules" ? <RuleList /> : null}
      {tab === "silences" ? <Silences /> : null}
      {tab === "history" ? <History /> : null}
    </div>
  );
}

function RuleList() {
  const i = useI18n();
  const { t } = i;
  const me = useMe();
  const list = usePoll((signal) => get<Page<AlertRule>>("ylai/api/v1/alerts/rules?limit=500", signal), [], 15_000);
  const [error, setError] = useState<unknown>(null);
  const canEdit = me.can("alerts", "edit");
  const canDelete = me.can("alerts", "delete");
  const items = list.data?.items ?? [];

  const toggle = async (r: AlertRule) => {
    setError(null);
    try {
      await patch(`ylai/api/v1/alerts/rules/${r.id}`, { enabled: !r.enabled });
      list.refresh();
    } catch (err) {
      setError(err);
    }
  };
  const remove = async (r: AlertRule) => {
    setError(null);
    if (!window.confirm(t("alerts.confirmDelete", { name: r.name }))) return;
    try {
      await del(`ylai/api/v1/alerts/rules/${r.id}`);
      list.refresh();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <Card title={t("alerts.rules")} testId="rules">
      <ErrorBox error={list.error ?? error} />
      {list.loading && !list.data ? <Loading /> : null}
      {list.data && !items.length ? <Empty testId="rules-empty">{t("alerts.noRules")}</Empty> : null}
      {items.length ? (
        <div className="y-table-wrap">
          <table className="y-table" data-testid="rules-table">
            <thead>
              <tr>
                <th>{t("col.name")}</th>
                <th>{t("alerts.when")}</th>
                <th>{t("alerts.scope")}</th>
                <th>{t("alerts.channels")}</th>
                <th>{t("alerts.severity")}</th>
                <th>{t("alerts.firing")}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {items.map((r) => {
                const manifest = r.source === "manifest";
                return (
                  <tr key={r.id} data-testid={`rule-row-${r.id}`} className={r.enabled ? undefined : "y-muted"}>
                    <td>
                      <Link to={pagePath("alerts", qs({ rule: r.id }))} testId={`rule-${r.id}`}>
                        {r.name}
                      </Link>
                      {manifest ? <div className="y-muted y-small">{t("alerts.fromManifest", { ref: r.source_ref ?? "" })}</div> : null}
                      {!r.enabled ? <div className="y-small">{t("alerts.disabled")}</div> : null}
                    </td>
                    <td>{describeCondition(i, r.condition)}</td>
                    <td className="y-small">{describeScope(t, r.scope)}</td>
                    <td className="y-small">
                      {r.channels.map((c, n) => (
                        <div key={n}>
                          {channelName(t, c.type)} <code>{c.target}</code> · {t(`alerts.lang.${c.language}` as Key)}
                        </div>
                      ))}
                    </td>
                    <td>
                      <SeverityBadge severity={r.severity} />
                    </td>
                    <td>{r.firing ? <span className="y-tone-bad">{i.number(r.firing)}</span> : "0"}</td>
                    <td className="y-nowrap">
                      <button type="button" className="y-btn y-btn-small" disabled={!canEdit} title={canEdit ? undefined : t("perm.noAlertEdit")} onClick={() => void toggle(r)} data-testid={`rule-toggle-${r.id}`}>
                        {r.enabled ? t("alerts.disable") : t("alerts.enable")}
                      </button>{" "}
                      <Link to={pagePath("alerts", qs({ tab: "silences", silence_rule: r.id }))} className="y-btn y-btn-small">
                        {t("alerts.silence")}
                      </Link>{" "}
                      <button
                        type="button"
                        className="y-btn y-btn-small y-btn-danger"
                        disabled={!canDelete || manifest}
                        title={!canDelete ? t("perm.noAlertDelete") : manifest ? t("alerts.manifestDelete") : undefined}
                        onClick={() => void remove(r)}
                        data-testid={`rule-delete-${r.id}`}
                      >
                        {t("common.delete")}
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
    </Card>
  );
}

/* ------------------------------------------------------------------ rule editor */

function Field({ label, error, testId, children, help }: { label: ReactNode; error?: string; testId?: string; children: ReactNode; help?: string }) {
  return (
    <label className="y-field">
      <span className="y-label">{label}</span>
      {children}
      {help ? <span className="y-help">{help}</span> : null}
      <FieldError text={error} testId={testId ? `${testId}-error` : undefined} />
    </label>
  );
}

function ChannelRows({ channels, prefix, errors, disabled, onChange }: { channels: ChannelForm[]; prefix: string; errors: Errors; disabled: boolean; onChange: (c: ChannelForm[]) => void }) {
  const { t, lang } = useI18n();
  const set = (idx: number, patchValue: Partial<ChannelForm>) => onChange(channels.map((c, n) => (n === idx ? { ...c, ...patchValue } : c)));
  const tid = prefix.replace(/\./g, "-");
  return (
    <div data-testid={tid}>
      {channels.map((c, idx) => (
        <div key={idx} className="y-row y-wrap y-channel" data-testid={`${tid}-${idx}`}>
          <select className="y-input" aria-label={t("alerts.channelType")} value={c.type} disabled={disabled} onChange={(e) => set(idx, { type: e.target.value as ChannelForm["type"] })} data-testid={`${tid}-${idx}-type`}>
            {CHANNEL_TYPES.map((x) => (
              <option key={x} value={x}>
                {channelName(t, x)}
              </option>
            ))}
          </select>
          <div className="y-grow">
            <input
              className="y-input"
              style={{ width: "100%" }}
              aria-label={t("alerts.target")}
              placeholder={TARGET_EXAMPLES[c.type]}
              value={c.target}
              disabled={disabled}
              aria-invalid={errors[`${prefix}.${idx}.target`] ? true : undefined}
              onChange={(e) => set(idx, { target: e.target.value })}
              data-testid={`${tid}-${idx}-target`}
            />
            <FieldError text={errors[`${prefix}.${idx}.target`] ?? errors[`${prefix}.${idx}`]} testId={`${tid}-${idx}-target-error`} />
          </div>
          <select className="y-input" aria-label={t("alerts.language")} value={c.language} disabled={disabled} onChange={(e) => set(idx, { language: e.target.value as ChannelForm["language"] })} data-testid={`${tid}-${idx}-language`}>
            <option value="en">{t("alerts.lang.en")}</option>
            <option value="zh-CN">{t("alerts.lang.zh-CN")}</option>
          </select>
          <input className="y-input" aria-label={t("alerts.connection")} placeholder={t("alerts.connectionPlaceholder")} value={c.connection_id} disabled={disabled} onChange={(e) => set(idx, { connection_id: e.target.value })} data-testid={`${tid}-${idx}-connection`} />
          <button type="button" className="y-btn y-btn-small" disabled={disabled || channels.length < 2} onClick={() => onChange(channels.filter((_, n) => n !== idx))} aria-label={t("alerts.removeChannel")} title={t("alerts.removeChannel")}>
            ×
          </button>
        </div>
      ))}
      <FieldError text={errors[prefix]} />
      <button type="button" className="y-btn y-btn-small" disabled={disabled} onClick={() => onChange([...channels, newChannel(lang)])} data-testid={`${tid}-add`}>
        {t("alerts.addChannel")}
      </button>
    </div>
  );
}

function ConditionBlock({ c, idx, errors, disabled, single, onChange, onRemove }: { c: CondForm; idx: number; errors: Errors; disabled: boolean; single: boolean; onChange: (c: CondForm) => void; onRemove: () => void }) {
  const { t } = useI18n();
  const key = (name: string) => `conditions.${idx}.${name}`;
  const tid = (name: string) => `condition-${idx}-${name}`;
  const input = (name: keyof CondForm, label: string, help?: string, type = "number") => (
    <Field label={label} error={errors[key(name)]} testId={tid(name)} help={help}>
      <input className="y-input" type={type} inputMode="decimal" value={String(c[name])} disabled={disabled} aria-invalid={errors[key(name)] ? true : undefined} onChange={(e) => onChange({ ...c, [name]: e.target.value })} data-testid={tid(name)} />
    </Field>
  );
  return (
    <div className="y-cond" data-testid={`condition-${idx}`}>
      <div className="y-row y-wrap">
        <select className="y-input y-grow" aria-label={t("alerts.conditionType")} value={c.type} disabled={disabled} onChange={(e) => onChange({ ...newCondition(e.target.value as ConditionType) })} data-testid={tid("type")}>
          {CONDITION_TYPES.map((x) => (
            <option key={x} value={x}>
              {condLabel(t, x)}
            </option>
          ))}
        </select>
        {!single ? (
          <button type="button" className="y-btn y-btn-small" disabled={disabled} onClick={onRemove} data-testid={tid("remove")}>
            {t("alerts.removeCondition")}
          </button>
        ) : null}
      </div>
      <p className="y-help">{t(`alerts.condHelp.${c.type}` as Key)}</p>
      <FieldError text={errors[`conditions.${idx}`]} testId={tid("error")} />
      <div className="y-form-grid">
        {c.type === "failure_rate" ? (
          <>
            {input("threshold_percent", t("alerts.f.threshold_percent"))}
            {input("window_minutes", t("alerts.f.window_minutes"))}
            {input("min_runs", t("alerts.f.min_runs"))}
          </>
        ) : null}
        {c.type === "duration" ? (
          <>
            <Field label={t("alerts.f.duration_mode")}>
              <select className="y-input" value={c.duration_mode} disabled={disabled} onChange={(e) => onChange({ ...c, duration_mode: e.target.value as CondForm["duration_mode"] })} data-testid={tid("duration_mode")}>
                <option value="factor">{t("alerts.f.modeFactor")}</option>
                <option value="absolute">{t("alerts.f.modeAbsolute")}</option>
              </select>
            </Field>
            {c.duration_mode === "factor" ? (
              <>
                {input("p95_factor", t("alerts.f.p95_factor"), t("alerts.f.p95_factorHelp"))}
                {input("last_n_runs", t("alerts.f.last_n_runs"))}
                {input("min_runs", t("alerts.f.min_runs_duration"))}
              </>
            ) : (
              input("max_seconds", t("alerts.f.max_seconds"))
            )}
          </>
        ) : null}
        {c.type === "queue_wait" ? input("max_seconds", t("alerts.f.max_seconds_queue")) : null}
        {c.type === "worker_heartbeat" ? (
          <>
            {input("max_silence_seconds", t("alerts.f.max_silence_seconds"))}
            {input("min_alive", t("alerts.f.min_alive"))}
          </>
        ) : null}
        {c.type === "deadline" ? (
          <>
            <Field label={t("alerts.f.must")}>
              <select className="y-input" value={c.must} disabled={disabled} onChange={(e) => onChange({ ...c, must: e.target.value as CondForm["must"] })} data-testid={tid("must")}>
                <option value="start">{t("alerts.f.mustStart")}</option>
                <option value="finish">{t("alerts.f.mustFinish")}</option>
              </select>
            </Field>
            {input("time", t("alerts.f.time"), undefined, "time")}
            {input("timezone", t("alerts.f.timezone"), undefined, "text")}
          </>
        ) : null}
      </div>
    </div>
  );
}

function useDagChoices() {
  const dags = usePoll((signal) => get<{ dags: Dag[] }>("api/v2/dags?limit=500&exclude_stale=true", signal).catch(() => ({ dags: [] as Dag[] })), []);
  return useMemo(() => {
    const list = dags.data?.dags ?? [];
    const tags = [...new Set(list.flatMap((d) => (d.tags ?? []).map((x) => x.name)))].sort();
    const scripts = list.filter((d) => d.dag_id.startsWith("script__")).map((d) => d.dag_id.slice(8));
    const pipelines = list.filter((d) => d.dag_id.startsWith("pipeline__")).map((d) => d.dag_id.slice(10));
    return { tags, scripts, pipelines, dagIds: list.map((d) => d.dag_id) };
  }, [dags.data]);
}

function Datalist({ id, values }: { id: string; values: string[] }) {
  return (
    <datalist id={id}>
      {values.map((v) => (
        <option key={v} value={v} />
      ))}
    </datalist>
  );
}

function RuleEditor({ id }: { id?: number }) {
  const i = useI18n();
  const { t, lang } = i;
  const me = useMe();
  const nav = useNav();
  const editing = id !== undefined;
  const existing = usePoll((signal) => (editing ? get<AlertRule>(`ylai/api/v1/alerts/rules/${id}`, signal) : Promise.resolve(null)), [id]);
  const [form, setForm] = useState<RuleForm | null>(editing ? null : emptyRule(lang));
  if (editing && existing.data && form === null) setForm(formFromRule(existing.data));
  const choices = useDagChoices();
  const [errors, setErrors] = useState<Errors>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<string[]>([]);
  const manifest = existing.data?.source === "manifest";
  const allowed = editing ? me.can("alerts", "edit") : me.can("alerts", "create");
  const disabled = !allowed || manifest;

  const [attempted, setAttempted] = useState(false);
  const set = (p: Partial<RuleForm>) => setForm((f) => (f ? { ...f, ...p } : f));
  // After a first save attempt, the client's checks follow every change (fixed fields clear).
  useEffect(() => {
    if (attempted && form) setErrors(checkRule(form, t));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [form]);

  const save = async () => {
    if (!form) return;
    setError(null);
    setAttempted(true);
    const local = checkRule(form, t);
    setErrors(local);
    if (Object.keys(local).length) return;
    setBusy(true);
    const names = ruleNames(form, (type) => condLabel(t, type));
    const serverErrors: Errors = {};
    const done: string[] = [...created];
    try {
      for (let n = 0; n < form.conditions.length; n += 1) {
        if (done.includes(names[n])) continue; // created by an earlier, partly failed save
        try {
          if (editing) await put<AlertRule>(`ylai/api/v1/alerts/rules/${id}`, ruleBody(form, n, names[n]));
          else await post<AlertRule>("ylai/api/v1/alerts/rules", ruleBody(form, n, names[n]));
          done.push(names[n]);
        } catch (err) {
          if (err instanceof ApiError && err.status === 409 && !err.details.length) serverErrors.name = err.message;
          else if (err instanceof ApiError && err.details.length) for (const d of err.details) serverErrors[formKey(d.field, n)] ??= d.reason;
          else throw err;
        }
      }
      setCreated(done);
      setErrors(serverErrors);
      if (!Object.keys(serverErrors).length) nav.go(pagePath("alerts", "?tab=rules"));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const known = /^(name|description|severity|scope|conditions(\.\d+(\.\w+)?)?|channels(\.\d+\.\w+)?|rate_limit\.\w+|escalation\.(after_minutes|channels(\.\d+\.\w+)?))$/;
  const other = Object.entries(errors).filter(([k]) => !known.test(k));

  return (
    <div data-testid="page-alerts">
      <PageHeader
        title={editing ? t("alerts.editTitle", { name: existing.data?.name ?? String(id) }) : t("alerts.newTitle")}
        subtitle={t("alerts.editorSubtitle")}
        actions={
          <Link to={pagePath("alerts")} className="y-btn">
            {t("common.back")}
          </Link>
        }
      />
      <ErrorBox error={existing.error} />
      <DisabledNote show={me.loaded && !allowed} text={editing ? t("perm.noAlertEdit") : t("perm.noAlertCreate")} testId="rule-permission" />
      <DisabledNote show={manifest} text={t("alerts.manifestEdit", { ref: existing.data?.source_ref ?? "" })} testId="rule-manifest" />
      {!form ? <Loading /> : null}
      {form ? (
        <form
          noValidate
          data-testid="rule-form"
          onSubmit={(e) => {
            e.preventDefault();
            void save();
          }}
        >
          <div className="y-split">
            <div className="y-col">
              <Card title={t("alerts.stepWhat")}>
                <Field label={t("col.name")} error={errors.name} testId="rule-name">
                  <input className="y-input" value={form.name} disabled={disabled} placeholder={t("alerts.namePlaceholder")} aria-invalid={errors.name ? true : undefined} onChange={(e) => set({ name: e.target.value })} data-testid="rule-name" />
                </Field>
                <Field label={t("tasks.description")}>
                  <input className="y-input" value={form.description} disabled={disabled} onChange={(e) => set({ description: e.target.value })} data-testid="rule-description" />
                </Field>
                <div className="y-row y-wrap">
                  <Field label={t("alerts.severity")}>
                    <select className="y-input" value={form.severity} disabled={disabled} onChange={(e) => set({ severity: e.target.value as Severity })} data-testid="rule-severity">
                      {SEVERITIES.map((s) => (
                        <option key={s} value={s}>
                          {t(`alerts.severity.${s}` as Key)}
                        </option>
                      ))}
                    </select>
                  </Field>
                  <label className="y-check">
                    <input type="checkbox" checked={form.enabled} disabled={disabled} onChange={(e) => set({ enabled: e.target.checked })} data-testid="rule-enabled" />
                    {t("alerts.enabled")}
                  </label>
                </div>
              </Card>
              <Card title={t("alerts.stepScope")} testId="rule-scope">
                <div className="y-row y-wrap">
                  <label className="y-check">
                    <input type="radio" name="scope" checked={form.scope_all} disabled={disabled} onChange={() => set({ scope_all: true })} data-testid="scope-all" />
                    {t("alerts.scopeAll")}
                  </label>
                  <label className="y-check">
                    <input type="radio" name="scope" checked={!form.scope_all} disabled={disabled} onChange={() => set({ scope_all: false })} data-testid="scope-some" />
                    {t("alerts.scopeSome")}
                  </label>
                </div>
                {!form.scope_all ? (
                  <div className="y-form-grid">
                    <Field label={t("alerts.tags")} help={t("alerts.listHelp")}>
                      <input className="y-input" list="y-alert-tags" value={form.tags} disabled={disabled} onChange={(e) => set({ tags: e.target.value })} placeholder="nightly" data-testid="scope-tags" />
                    </Field>
                    <Field label={t("alerts.pipelines")}>
                      <input className="y-input" list="y-alert-pipelines" value={form.pipelines} disabled={disabled} onChange={(e) => set({ pipelines: e.target.value })} data-testid="scope-pipelines" />
                    </Field>
                    <Field label={t("alerts.scripts")}>
                      <input className="y-input" list="y-alert-scripts" value={form.scripts} disabled={disabled} onChange={(e) => set({ scripts: e.target.value })} data-testid="scope-scripts" />
                    </Field>
                    <Field label={t("alerts.dagIds")}>
                      <input className="y-input" list="y-alert-dags" value={form.dag_ids} disabled={disabled} onChange={(e) => set({ dag_ids: e.target.value })} data-testid="scope-dag-ids" />
                    </Field>
                    <Datalist id="y-alert-tags" values={choices.tags} />
                    <Datalist id="y-alert-pipelines" values={choices.pipelines} />
                    <Datalist id="y-alert-scripts" values={choices.scripts} />
                    <Datalist id="y-alert-dags" values={choices.dagIds} />
                  </div>
                ) : null}
                <FieldError text={errors.scope} testId="scope-error" />
              </Card>
              <Card title={t("alerts.stepWhen")} testId="rule-conditions">
                {form.conditions.map((c, n) => (
                  <ConditionBlock
                    key={n}
                    c={c}
                    idx={n}
                    errors={errors}
                    disabled={disabled}
                    single={form.conditions.length === 1}
                    onChange={(next) => set({ conditions: form.conditions.map((x, m) => (m === n ? next : x)) })}
                    onRemove={() => set({ conditions: form.conditions.filter((_, m) => m !== n) })}
                  />
                ))}
                {!editing ? (
                  <>
                    <button type="button" className="y-btn y-btn-small" disabled={disabled} onClick={() => set({ conditions: [...form.conditions, newCondition("duration")] })} data-testid="condition-add">
                      {t("alerts.addCondition")}
                    </button>
                    {form.conditions.length > 1 ? <p className="y-help">{t("alerts.oneRuleEach", { n: form.conditions.length })}</p> : null}
                  </>
                ) : null}
              </Card>
            </div>
            <div className="y-col">
              <Card title={t("alerts.stepWhere")} testId="rule-channels">
                <p className="y-help">{t("alerts.channelsHelp")}</p>
                <ChannelRows channels={form.channels} prefix="channels" errors={errors} disabled={disabled} onChange={(channels) => set({ channels })} />
              </Card>
              <Card title={t("alerts.stepBehaviour")}>
                <div>
                <label className="y-check">
                  <input type="checkbox" checked={form.rate_on} disabled={disabled} onChange={(e) => set({ rate_on: e.target.checked })} data-testid="rate-on" />
                  {t("alerts.rateLimit")}
                </label>
                </div>
                {form.rate_on ? (
                  <div className="y-form-grid">
                    <Field label={t("alerts.f.max_alerts")} error={errors["rate_limit.max_alerts"]} testId="rate-max">
                      <input className="y-input" type="number" value={form.max_alerts} disabled={disabled} onChange={(e) => set({ max_alerts: e.target.value })} data-testid="rate-max" />
                    </Field>
                    <Field label={t("alerts.f.per_minutes")} error={errors["rate_limit.per_minutes"]} testId="rate-per">
                      <input className="y-input" type="number" value={form.per_minutes} disabled={disabled} onChange={(e) => set({ per_minutes: e.target.value })} data-testid="rate-per" />
                    </Field>
                  </div>
                ) : null}
                <div>
                <label className="y-check">
                  <input type="checkbox" checked={form.esc_on} disabled={disabled} onChange={(e) => set({ esc_on: e.target.checked })} data-testid="esc-on" />
                  {t("alerts.escalation")}
                </label>
                </div>
                {form.esc_on ? (
                  <div>
                    <div className="y-form-grid">
                      <Field label={t("alerts.f.after_minutes")} error={errors["escalation.after_minutes"]} testId="esc-after">
                        <input className="y-input" type="number" value={form.after_minutes} disabled={disabled} onChange={(e) => set({ after_minutes: e.target.value })} data-testid="esc-after" />
                      </Field>
                    </div>
                    <label className="y-check">
                      <input type="checkbox" checked={form.repeat} disabled={disabled} onChange={(e) => set({ repeat: e.target.checked })} data-testid="esc-repeat" />
                      {t("alerts.repeat")}
                    </label>{" "}
                    <label className="y-check">
                      <input type="checkbox" checked={form.esc_other} disabled={disabled} onChange={(e) => set({ esc_other: e.target.checked })} data-testid="esc-other" />
                      {t("alerts.escOther")}
                    </label>
                    {form.esc_other ? <ChannelRows channels={form.esc_channels} prefix="escalation.channels" errors={errors} disabled={disabled} onChange={(esc_channels) => set({ esc_channels })} /> : null}
                  </div>
                ) : null}
              </Card>
              <Card title={t("alerts.summary")} testId="rule-summary">
                <ul className="y-list">
                  {form.conditions.map((_, n) => (
                    <li key={n}>
                      {t("alerts.sentence", {
                        when: describeCondition(i, ruleBody(form, n, form.name).condition),
                        scope: describeScope(t, ruleBody(form, n, form.name).scope),
                        where: form.channels.map((ch) => `${channelName(t, ch.type)} ${ch.target || "…"}`).join(", "),
                      })}
                    </li>
                  ))}
                </ul>
              </Card>
            </div>
          </div>
          {other.length ? (
            <div className="y-error" role="alert" data-testid="rule-other-errors">
              {other.map(([k, v]) => `${k}: ${v}`).join("\n")}
            </div>
          ) : null}
          <ErrorBox error={error} testId="rule-error" />
          {created.length && Object.keys(errors).length ? <p className="y-note">{t("alerts.partlySaved", { names: created.join(", ") })}</p> : null}
          <div className="y-row">
            <button type="submit" className="y-btn y-btn-primary" disabled={busy || disabled} title={allowed ? undefined : t("perm.noAlertCreate")} data-testid="rule-save">
              {busy ? t("common.saving") : editing ? t("common.save") : form.conditions.length === 1 ? t("alerts.createRule") : t("alerts.createRules", { n: form.conditions.length })}
            </button>
            {editing && manifest ? (
              <button type="button" className="y-btn" disabled={!me.can("alerts", "edit")} onClick={() => void patch(`ylai/api/v1/alerts/rules/${id}`, { enabled: !form.enabled }).then(() => nav.go(pagePath("alerts")), setError)}>
                {form.enabled ? t("alerts.disable") : t("alerts.enable")}
              </button>
            ) : null}
          </div>
        </form>
      ) : null}
    </div>
  );
}

/* ------------------------------------------------------------------ silences */

function localInput(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function Silences() {
  const i = useI18n();
  const { t } = i;
  const me = useMe();
  const nav = useNav();
  const preset = nav.search.get("silence_rule");
  const rules = usePoll((signal) => get<Page<AlertRule>>("ylai/api/v1/alerts/rules?limit=500&fields=id,name", signal), []);
  const list = usePoll((signal) => get<Page<Silence>>("ylai/api/v1/alerts/silences?limit=200", signal), [], 15_000);
  const [mode, setMode] = useState<"rule" | "scope">("rule");
  const [ruleId, setRuleId] = useState(preset ?? "");
  const [tags, setTags] = useState("");
  const [dagIds, setDagIds] = useState("");
  const [until, setUntil] = useState(() => localInput(new Date(Date.now() + 2 * 3600_000)));
  const [comment, setComment] = useState("");
  const [errors, setErrors] = useState<Errors>({});
  const [error, setError] = useState<unknown>(null);
  const canCreate = me.can("alerts", "create");
  const canDelete = me.can("alerts", "delete");
  const ruleName = (rid: number | null) => rules.data?.items.find((r) => r.id === rid)?.name ?? `#${rid}`;

  const create = async () => {
    setError(null);
    const next: Errors = {};
    const ends = new Date(until);
    if (!until || Number.isNaN(ends.getTime())) next.ends_at = t("validation.required");
    else if (ends.getTime() <= Date.now()) next.ends_at = t("alerts.untilFuture");
    if (mode === "rule" && !ruleId) next.rule_id = t("validation.required");
    const split = (s: string) => s.split(",").map((x) => x.trim()).filter(Boolean);
    if (mode === "scope" && !split(tags).length && !split(dagIds).length) next.scope = t("alerts.needScope");
    setErrors(next);
    if (Object.keys(next).length) return;
    const body = mode === "rule" ? { rule_id: Number(ruleId), ends_at: ends.toISOString(), comment } : { scope: { tags: split(tags), dag_ids: split(dagIds) }, ends_at: ends.toISOString(), comment };
    try {
      await post<Silence>("ylai/api/v1/alerts/silences", body);
      setComment("");
      list.refresh();
    } catch (err) {
      if (err instanceof ApiError && err.details.length) {
        const mapped: Errors = {};
        for (const d of err.details) mapped[d.field.replace(/^body\./, "").split(".")[0]] = d.reason;
        setErrors(mapped);
      } else setError(err);
    }
  };

  const remove = async (s: Silence) => {
    setError(null);
    try {
      await del(`ylai/api/v1/alerts/silences/${s.id}`);
      list.refresh();
    } catch (err) {
      setError(err);
    }
  };

  const items = list.data?.items ?? [];
  return (
    <>
      <Card title={t("alerts.newSilence")} testId="silence-form">
        <p className="y-help">{t("alerts.silenceHelp")}</p>
        <div className="y-row y-wrap">
          <label className="y-check">
            <input type="radio" name="silence-mode" checked={mode === "rule"} disabled={!canCreate} onChange={() => setMode("rule")} data-testid="silence-mode-rule" />
            {t("alerts.silenceRule")}
          </label>
          <label className="y-check">
            <input type="radio" name="silence-mode" checked={mode === "scope"} disabled={!canCreate} onChange={() => setMode("scope")} data-testid="silence-mode-scope" />
            {t("alerts.silenceScope")}
          </label>
        </div>
        <div className="y-form-grid">
          {mode === "rule" ? (
            <Field label={t("alerts.rule")} error={errors.rule_id} testId="silence-rule">
              <select className="y-input" value={ruleId} disabled={!canCreate} onChange={(e) => setRuleId(e.target.value)} data-testid="silence-rule">
                <option value="">{t("form.choose")}</option>
                {(rules.data?.items ?? []).map((r) => (
                  <option key={r.id} value={String(r.id)}>
                    {r.name}
                  </option>
                ))}
              </select>
            </Field>
          ) : (
            <>
              <Field label={t("alerts.tags")} error={errors.scope} testId="silence-scope" help={t("alerts.listHelp")}>
                <input className="y-input" value={tags} disabled={!canCreate} onChange={(e) => setTags(e.target.value)} data-testid="silence-tags" />
              </Field>
              <Field label={t("alerts.dagIds")}>
                <input className="y-input" value={dagIds} disabled={!canCreate} onChange={(e) => setDagIds(e.target.value)} data-testid="silence-dag-ids" />
              </Field>
            </>
          )}
          <Field label={t("alerts.until")} error={errors.ends_at} testId="silence-until">
            <input className="y-input" type="datetime-local" value={until} disabled={!canCreate} onChange={(e) => setUntil(e.target.value)} data-testid="silence-until" />
          </Field>
          <Field label={t("alerts.comment")}>
            <input className="y-input" value={comment} disabled={!canCreate} onChange={(e) => setComment(e.target.value)} data-testid="silence-comment" />
          </Field>
        </div>
        <div className="y-row y-wrap">
          {[1, 4, 24].map((h) => (
            <button key={h} type="button" className="y-btn y-btn-small" disabled={!canCreate} onClick={() => setUntil(localInput(new Date(Date.now() + h * 3600_000)))}>
              {t("alerts.forHours", { n: h })}
            </button>
          ))}
          <button type="button" className="y-btn y-btn-primary" disabled={!canCreate} title={canCreate ? undefined : t("perm.noAlertCreate")} onClick={() => void create()} data-testid="silence-save">
            {t("alerts.silenceSave")}
          </button>
        </div>
        <ErrorBox error={error} testId="silence-error" />
      </Card>
      <Card title={t("alerts.silences")} testId="silences">
        <ErrorBox error={list.error} />
        {list.data && !items.length ? <Empty>{t("alerts.noSilences")}</Empty> : null}
        {items.length ? (
          <table className="y-table" data-testid="silences-table">
            <thead>
              <tr>
                <th>{t("alerts.what")}</th>
                <th>{t("alerts.from")}</th>
                <th>{t("alerts.until")}</th>
                <th>{t("alerts.comment")}</th>
                <th>{t("col.owner")}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {items.map((s) => (
                <tr key={s.id} data-testid={`silence-row-${s.id}`} className={s.active ? undefined : "y-muted"}>
                  <td>
                    {s.rule_id !== null ? t("alerts.silencedRule", { name: ruleName(s.rule_id) }) : describeScope(t, s.scope)}
                    <div className="y-small">{s.active ? <span className="y-tone-warn">{t("alerts.active")}</span> : t("alerts.inactive")}</div>
                  </td>
                  <td className="y-nowrap">{i.dateTime(s.starts_at)}</td>
                  <td className="y-nowrap">{i.dateTime(s.ends_at)}</td>
                  <td>{s.comment}</td>
                  <td>{s.created_by}</td>
                  <td>
                    <button type="button" className="y-btn y-btn-small y-btn-danger" disabled={!canDelete} title={canDelete ? undefined : t("perm.noAlertDelete")} onClick={() => void remove(s)} data-testid={`silence-delete-${s.id}`}>
                      {t("alerts.endSilence")}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </Card>
    </>
  );
}

/* ------------------------------------------------------------------ history */

function History() {
  const i = useI18n();
  const { t } = i;
  const [state, setState] = useState("");
  const [severity, setSeverity] = useState("");
  const list = usePoll((signal) => get<Page<AlertEvent>>(`ylai/api/v1/alerts/events${qs({ state, severity, limit: 200 })}`, signal), [state, severity], 15_000);
  const items = list.data?.items ?? [];
  return (
    <Card title={t("alerts.history")} testId="history">
      <div className="y-row y-wrap y-filters">
        <select className="y-input" aria-label={t("col.state")} value={state} onChange={(e) => setState(e.target.value)} data-testid="history-state">
          <option value="">{t("alerts.allStates")}</option>
          <option value="firing">{t("alerts.state.firing")}</option>
          <option value="resolved">{t("alerts.state.resolved")}</option>
        </select>
        <select className="y-input" aria-label={t("alerts.severity")} value={severity} onChange={(e) => setSeverity(e.target.value)} data-testid="history-severity">
          <option value="">{t("alerts.allSeverities")}</option>
          {SEVERITIES.map((s) => (
            <option key={s} value={s}>
              {t(`alerts.severity.${s}` as Key)}
            </option>
          ))}
        </select>
        <div className="y-push">
          <ExportButtons kind="alerts" filters={state ? { state: [state] } : {}} testId="export-alerts" />
        </div>
      </div>
      <ErrorBox error={list.error} />
      {list.loading && !list.data ? <Loading /> : null}
      {list.data && !items.length ? <Empty testId="history-empty">{t("alerts.noHistory")}</Empty> : null}
      {items.length ? (
        <div className="y-table-wrap">
          <table className="y-table" data-testid="history-table">
            <thead>
              <tr>
                <th>{t("col.started")}</th>
                <th>{t("alerts.alert")}</th>
                <th>{t("col.state")}</th>
                <th>{t("alerts.severity")}</th>
                <th>DAG</th>
                <th>{t("alerts.resolvedAt")}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((a) => (
                <tr key={a.id}>
                  <td className="y-nowrap">{i.dateTime(a.started_at)}</td>
                  <td>
                    <Link to={pagePath("alerts", qs({ alert: a.id }))} testId={`alert-${a.id}`}>
                      {a.title}
                    </Link>
                    <div className="y-muted y-small">
                      {a.rule_name}
                      {a.suppressed ? ` · ${t(`alerts.suppressed.${a.suppressed}` as Key)}` : ""}
                    </div>
                  </td>
                  <td>
                    <AlertStateBadge state={a.state} />
                  </td>
                  <td>
                    <SeverityBadge severity={a.severity} />
                  </td>
                  <td className="y-small">{a.dag_id ? <Link to={a.run_id ? `dags/${enc(a.dag_id)}/runs/${enc(a.run_id)}` : `dags/${enc(a.dag_id)}`}>{a.dag_id}</Link> : "—"}</td>
                  <td className="y-nowrap">{i.dateTime(a.resolved_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </Card>
  );
}

function AlertView({ id }: { id: number }) {
  const i = useI18n();
  const { t } = i;
  const detail = usePoll((signal) => get<AlertDetail>(`ylai/api/v1/alerts/events/${id}`, signal), [id], 10_000);
  const a = detail.data;
  return (
    <div data-testid="page-alerts">
      <PageHeader
        title={a?.title ?? t("alerts.alert")}
        actions={
          <Link to={pagePath("alerts", "?tab=history")} className="y-btn">
            {t("common.back")}
          </Link>
        }
      />
      <ErrorBox error={detail.error} />
      {!a && !detail.error ? <Loading /> : null}
      {a ? (
        <div className="y-split" data-testid="alert-detail">
          <div className="y-col">
            <Card title={t("alerts.alert")}>
              <dl className="y-dl">
                <dt>{t("alerts.rule")}</dt>
                <dd>{a.rule_id ? <Link to={pagePath("alerts", qs({ rule: a.rule_id }))}>{a.rule_name}</Link> : a.rule_name}</dd>
                <dt>{t("col.state")}</dt>
                <dd>
                  <AlertStateBadge state={a.state} /> {a.suppressed ? t(`alerts.suppressed.${a.suppressed}` as Key) : null}
                </dd>
                <dt>{t("alerts.severity")}</dt>
                <dd>
                  <SeverityBadge severity={a.severity} />
                </dd>
                <dt>{t("alerts.when")}</dt>
                <dd>{condLabel(t, a.condition_type)}</dd>
                <dt>{t("col.started")}</dt>
                <dd>{i.dateTime(a.started_at)}</dd>
                <dt>{t("alerts.resolvedAt")}</dt>
                <dd>{i.dateTime(a.resolved_at)}</dd>
                <dt>{t("alerts.escalationLevel")}</dt>
                <dd>{a.escalation_level}</dd>
                {a.dag_id ? (
                  <>
                    <dt>DAG</dt>
                    <dd>
                      <Link to={a.run_id ? `dags/${enc(a.dag_id)}/runs/${enc(a.run_id)}` : `dags/${enc(a.dag_id)}`}>{a.run_id ? `${a.dag_id} / ${a.run_id}` : a.dag_id}</Link>
                      {a.run_id ? (
                        <>
                          {" · "}
                          <Link to={pagePath("run", qs({ dag_id: a.dag_id, run_id: a.run_id }))} testId="alert-logs">
                            {t("overview.logs")}
                          </Link>
                        </>
                      ) : null}
                    </dd>
                  </>
                ) : null}
              </dl>
              {a.summary ? (
                <>
                  <h3 className="y-card-title">{t("alerts.message")}</h3>
                  <pre className="y-json" data-testid="alert-summary">
                    {a.summary}
                  </pre>
                </>
              ) : null}
              <details className="y-details">
                <summary>{t("alerts.details")}</summary>
                <Json value={a.details} />
              </details>
            </Card>
          </div>
          <div className="y-col">
            <Card title={t("alerts.deliveries")} testId="deliveries">
              {!a.deliveries.length ? <Empty>{a.suppressed ? t("alerts.noDeliveriesSuppressed") : t("alerts.noDeliveries")}</Empty> : null}
              {a.deliveries.map((d) => (
                <div key={d.id} className="y-delivery" data-testid={`delivery-${d.id}`} data-status={d.status}>
                  <div className="y-row y-wrap">
                    <strong>{t(`alerts.kind.${d.kind}` as Key)}</strong>
                    <span>
                      {channelName(t, d.channel_type)} <code>{d.target}</code> · {t(`alerts.lang.${d.language === "zh-CN" ? "zh-CN" : "en"}` as Key)}
                    </span>
                    <span className={`y-badge y-tone-${d.status === "sent" ? "ok" : "warn"}`}>{t(`alerts.delivery.${d.status}` as Key)}</span>
                  </div>
                  <div className="y-small y-muted">
                    {d.sent_at ? t("alerts.sentAt", { time: i.dateTime(d.sent_at) }) : d.next_attempt_at ? t("alerts.nextAttempt", { time: i.dateTime(d.next_attempt_at) }) : null}
                    {d.last_error ? ` · ${d.last_error}` : ""}
                  </div>
                  {d.attempt_log.length ? (
                    <table className="y-table y-table-compact">
                      <thead>
                        <tr>
                          <th>{t("alerts.attempt")}</th>
                          <th>{t("alerts.result")}</th>
                          <th>{t("col.duration")}</th>
                          <th>{t("alerts.worker")}</th>
                        </tr>
                      </thead>
                      <tbody>
                        {d.attempt_log.map((x, n) => (
                          <tr key={n}>
                            <td className="y-nowrap">{i.dateTime(x.attempted_at)}</td>
                            <td>{x.ok ? <span className="y-tone-ok">{t("alerts.ok")}</span> : <span className="y-tone-bad">{x.error ?? t("alerts.failedAttempt")}</span>}</td>
                            <td>{i.duration(x.duration_ms / 1000)}</td>
                            <td className="y-small">{x.worker}</td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  ) : null}
                </div>
              ))}
            </Card>
          </div>
        </div>
      ) : null}
    </div>
  );
}
