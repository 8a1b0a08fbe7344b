import { useState } from "react";
import { data, partialData, ylai, type Schemas } from "../../api/client";
import type { Silence } from "../../api/models";
import { ApiError } from "../../lib/api";
import type { Errors } from "../../lib/alertForm";
import { usePoll } from "../../lib/hooks";
import { useMe } from "../../lib/me";
import { useNav } from "../../lib/nav";
import { useI18n } from "../../i18n";
import { Card, ErrorBox } from "../../components/ui";
import { ListPage, type Column } from "../../components/DataTable";
import { Field, describeScope } from "./common";

function localInput(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

export function Silences() {
  const i = useI18n();
  const { t } = i;
  const me = useMe();
  const nav = useNav();
  const preset = nav.search.get("silence_rule");
  const rules = usePoll((signal) => partialData(ylai.GET("/api/v1/alerts/rules", { params: { query: { limit: 500, fields: "id,name" } }, signal })), []);
  const list = usePoll((signal) => data(ylai.GET("/api/v1/alerts/silences", { params: { query: { limit: 200 } }, signal })), [], 15_000);
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
  const ruleName = (rid: number | null | undefined) => String(rules.data?.items.find((r) => r.id === rid)?.name ?? `#${rid}`);

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
    const body: Schemas["SilenceIn"] = mode === "rule" ? { rule_id: Number(ruleId), ends_at: ends.toISOString(), comment } : { scope: { tags: split(tags), dag_ids: split(dagIds) }, ends_at: ends.toISOString(), comment };
    try {
      await ylai.POST("/api/v1/alerts/silences", { body });
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
      await ylai.DELETE("/api/v1/alerts/silences/{silence_id}", { params: { path: { silence_id: s.id } } });
      list.refresh();
    } catch (err) {
      setError(err);
    }
  };

  const items = list.data?.items ?? [];
  const columns: Column<Silence>[] = [
    {
      header: t("alerts.what"),
      cell: (x) => (
        <>
          {x.rule_id !== null && x.rule_id !== undefined ? t("alerts.silencedRule", { name: ruleName(x.rule_id) }) : describeScope(t, x.scope)}
          <div className="y-small">{x.active ? <span className="y-tone-warn">{t("alerts.active")}</span> : t("alerts.inactive")}</div>
        </>
      ),
    },
    { header: t("alerts.from"), className: "y-nowrap", cell: (x) => i.dateTime(x.starts_at) },
    { header: t("alerts.until"), className: "y-nowrap", cell: (x) => i.dateTime(x.ends_at) },
    { header: t("alerts.comment"), cell: (x) => x.comment },
    { header: t("col.owner"), cell: (x) => x.created_by },
    {
      header: null,
      cell: (x) => (
        <button type="button" className="y-btn y-btn-small y-btn-danger" disabled={!canDelete} title={canDelete ? undefined : t("perm.noAlertDelete")} onClick={() => void remove(x)} data-testid={`silence-delete-${x.id}`}>
          {t("alerts.endSilence")}
        </button>
      ),
    },
  ];
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
                  <option key={String(r.id)} value={String(r.id)}>
                    {String(r.name)}
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
        <ListPage
          list={list}
          rows={items}
          columns={columns}
          rowKey={(x) => x.id}
          testId="silences-table"
          rowProps={(x) => ({ testId: `silence-row-${x.id}`, className: x.active ? undefined : "y-muted" })}
          empty={t("alerts.noSilences")}
        />
      </Card>
    </>
  );
}
