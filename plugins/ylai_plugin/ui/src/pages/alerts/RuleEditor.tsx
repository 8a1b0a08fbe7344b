import { useEffect, useMemo, useState } from "react";
import { airflow, data, ylai } from "../../api/client";
import type { ConditionType, Dag, Severity } from "../../api/models";
import { ApiError } from "../../lib/api";
import { parseDagId } from "../../lib/dagKinds";
import { usePoll } from "../../lib/hooks";
import { useMe } from "../../lib/me";
import { Link, pagePath, useNav } from "../../lib/nav";
import type { ConditionField } from "../../../generated/alertConditions";
import {
  ADDED_CONDITION,
  CHANNEL_TYPES,
  CONDITION_TYPES,
  SEVERITIES,
  TARGET_EXAMPLES,
  checkRule,
  conditionFields,
  conditionSpec,
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
} from "../../lib/alertForm";
import { useI18n, type Key } from "../../i18n";
import { Card, DisabledNote, ErrorBox, FieldError, Loading, PageHeader } from "../../components/ui";
import { Datalist, Field, channelName, condLabel, describeCondition, describeScope } from "./common";

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
  const modes = conditionSpec(c.type)?.modes;
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
        {modes ? (
          <Field label={t(modes.label as Key)}>
            <select className="y-input" value={c[modes.name]} disabled={disabled} onChange={(e) => onChange({ ...c, [modes.name]: e.target.value })} data-testid={tid(modes.name)}>
              {modes.options.map((o) => (
                <option key={o.value} value={o.value}>
                  {t(o.label as Key)}
                </option>
              ))}
            </select>
          </Field>
        ) : null}
        {conditionFields(c.type, c).map((f) => (
          <Field key={f.name} label={t(f.label as Key)} error={errors[key(f.name)]} testId={tid(f.name)} help={f.help ? t(f.help as Key) : undefined}>
            <ConditionInput f={f} value={c[f.name] ?? ""} disabled={disabled} invalid={!!errors[key(f.name)]} testId={tid(f.name)} onChange={(value) => onChange({ ...c, [f.name]: value })} />
          </Field>
        ))}
      </div>
    </div>
  );
}

/** The input of one condition field, by its schema: a choice for an enum, a number, a check box, or text. */
function ConditionInput({ f, value, disabled, invalid, testId, onChange }: { f: ConditionField; value: string; disabled: boolean; invalid: boolean; testId: string; onChange: (value: string) => void }) {
  const { t } = useI18n();
  if (f.enum) {
    return (
      <select className="y-input" value={value} disabled={disabled} aria-invalid={invalid || undefined} onChange={(e) => onChange(e.target.value)} data-testid={testId}>
        {f.enum.map((v) => (
          <option key={v} value={v}>
            {f.options?.[v] ? t(f.options[v] as Key) : v}
          </option>
        ))}
      </select>
    );
  }
  if (f.type === "boolean") {
    return <input type="checkbox" checked={value === "true"} disabled={disabled} onChange={(e) => onChange(String(e.target.checked))} data-testid={testId} />;
  }
  const numeric = f.type === "number" || f.type === "integer";
  return (
    <input
      className="y-input"
      type={numeric ? "number" : f.input ?? "text"}
      inputMode={numeric ? "decimal" : undefined}
      value={value}
      disabled={disabled}
      aria-invalid={invalid || undefined}
      onChange={(e) => onChange(e.target.value)}
      data-testid={testId}
    />
  );
}

function useDagChoices() {
  const dags = usePoll((signal) => data(airflow.GET("/api/v2/dags", { params: { query: { limit: 500, exclude_stale: true } }, signal })).catch(() => ({ dags: [] as Dag[] })), []);
  return useMemo(() => {
    const list = dags.data?.dags ?? [];
    const tags = [...new Set(list.flatMap((d) => (d.tags ?? []).map((x) => x.name)))].sort();
    const named = (kind: "script" | "pipeline") => list.flatMap((d) => {
      const parsed = parseDagId(d.dag_id);
      return parsed?.kind === kind ? [parsed.name] : [];
    });
    return { tags, scripts: named("script"), pipelines: named("pipeline"), dagIds: list.map((d) => d.dag_id) };
  }, [dags.data]);
}


export function RuleEditor({ id }: { id?: number }) {
  const i = useI18n();
  const { t, lang } = i;
  const me = useMe();
  const nav = useNav();
  const editing = id !== undefined;
  const existing = usePoll((signal) => (editing ? data(ylai.GET("/api/v1/alerts/rules/{rule_id}", { params: { path: { rule_id: id } }, signal })) : Promise.resolve(null)), [id]);
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
          const body = ruleBody(form, n, names[n]);
          if (editing) await ylai.PUT("/api/v1/alerts/rules/{rule_id}", { params: { path: { rule_id: id } }, body });
          else await ylai.POST("/api/v1/alerts/rules", { body });
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
                    <button type="button" className="y-btn y-btn-small" disabled={disabled} onClick={() => set({ conditions: [...form.conditions, newCondition(ADDED_CONDITION)] })} data-testid="condition-add">
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
              <button type="button" className="y-btn" disabled={!me.can("alerts", "edit")} onClick={() => void ylai.PATCH("/api/v1/alerts/rules/{rule_id}", { params: { path: { rule_id: id } }, body: { enabled: !form.enabled } }).then(() => nav.go(pagePath("alerts")), setError)}>
                {form.enabled ? t("alerts.disable") : t("alerts.enable")}
              </button>
            ) : null}
          </div>
        </form>
      ) : null}
    </div>
  );
}
