import { useState, type FormEvent } from "react";
import type { operations } from "../../generated/ylai";
import { data, ylai, type Schemas } from "../api/client";
import type { ExportFilterValues } from "../api/models";
import { ExportButtons } from "../components/ExportButtons";
import { Empty, ErrorBox, Loading, PageHeader } from "../components/ui";
import { usePoll } from "../lib/hooks";
import { Link } from "../lib/nav";
import { useI18n } from "../i18n";

// The Audit page (issue 19): who changed, ran or approved what, and when. The entries are rows
// of Airflow's own audit log (Browse > Audit Log shows them too); the page only reads them.

export type AuditEntry = Schemas["AuditEntryOut"];
type AuditQuery = NonNullable<operations["list_audit"]["parameters"]["query"]>;

export const LIMIT = 50;

export interface AuditForm {
  user: string;
  action: string;
  object: string;
  since: string;
  until: string;
  allEvents: boolean;
}

export const EMPTY_FORM: AuditForm = { user: "", action: "", object: "", since: "", until: "", allEvents: false };

/** A local date-time input ("2026-12-04T10:00") as the API's time with a zone. */
const asIso = (local: string): string | undefined => (local ? new Date(local).toISOString() : undefined);

/** The query of GET /audit for the form and page. */
export function auditQuery(f: AuditForm, offset: number): AuditQuery {
  return {
    user: f.user.trim() || undefined,
    action: f.action.trim() || undefined,
    object: f.object.trim() || undefined,
    since: asIso(f.since),
    until: asIso(f.until),
    all_events: f.allEvents || undefined,
    limit: LIMIT,
    offset,
  };
}

/** The same filters for the export: ylai's entries only unless Airflow's events are asked for, like the list. */
export function auditExportFilters(f: AuditForm): ExportFilterValues {
  const action = f.action.trim() || (f.allEvents ? undefined : "ylai.");
  return {
    user: f.user.trim() || undefined,
    action,
    object: f.object.trim() || undefined,
    since: asIso(f.since),
    until: asIso(f.until),
  };
}

/** Suggestions for the action filter: prefixes, so "ylai.task" finds every task action. */
const ACTION_HINTS = ["ylai.", "ylai.task", "ylai.preset", "ylai.script", "ylai.pipeline", "ylai.alert_rule", "ylai.silence", "ylai.export", "ylai.approval", "ylai.access"];

export function Audit() {
  const { t } = useI18n();
  const [form, setForm] = useState<AuditForm>(EMPTY_FORM);
  const [asked, setAsked] = useState<AuditForm>(EMPTY_FORM);
  const [offset, setOffset] = useState(0);
  const polled = usePoll((signal) => data(ylai.GET("/api/v1/audit", { params: { query: auditQuery(asked, offset) }, signal })), [asked, offset], 30_000);
  const page = polled.data;
  const set = <K extends keyof AuditForm>(key: K, value: AuditForm[K]) => setForm((f) => ({ ...f, [key]: value }));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setAsked(form);
    setOffset(0);
  };
  const bounded = Boolean(asked.since || asked.until);
  return (
    <div data-testid="page-audit">
      <PageHeader title={t("audit.title")} subtitle={t("audit.subtitle")} actions={<ExportButtons kind="audit" filters={auditExportFilters(asked)} period={!bounded} testId="audit-export" />} />
      <form className="y-row y-wrap y-filters" onSubmit={submit} data-testid="audit-filters">
        <input className="y-input" placeholder={t("audit.user")} aria-label={t("audit.user")} value={form.user} onChange={(e) => set("user", e.target.value)} data-testid="audit-user" />
        <input className="y-input" list="audit-actions" placeholder={t("audit.action")} aria-label={t("audit.action")} value={form.action} onChange={(e) => set("action", e.target.value)} data-testid="audit-action" />
        <datalist id="audit-actions">
          {ACTION_HINTS.map((a) => (
            <option key={a} value={a} />
          ))}
        </datalist>
        <input className="y-input" placeholder={t("audit.object")} aria-label={t("audit.object")} title={t("audit.objectHint")} value={form.object} onChange={(e) => set("object", e.target.value)} data-testid="audit-object" />
        <input className="y-input" type="datetime-local" aria-label={t("audit.since")} title={t("audit.since")} value={form.since} onChange={(e) => set("since", e.target.value)} data-testid="audit-since" />
        <input className="y-input" type="datetime-local" aria-label={t("audit.until")} title={t("audit.until")} value={form.until} onChange={(e) => set("until", e.target.value)} data-testid="audit-until" />
        <label className="y-small">
          <input type="checkbox" checked={form.allEvents} onChange={(e) => set("allEvents", e.target.checked)} data-testid="audit-all-events" /> {t("audit.allEvents")}
        </label>
        <button type="submit" className="y-btn y-btn-primary" data-testid="audit-submit">
          {t("audit.apply")}
        </button>
      </form>
      <ErrorBox error={polled.error} testId="audit-error" />
      {!page && !polled.error ? <Loading /> : null}
      {page && page.items.length === 0 ? <Empty testId="audit-empty">{t("audit.empty")}</Empty> : null}
      {page && page.items.length > 0 ? <AuditTable entries={page.items} /> : null}
      {page && page.total > LIMIT ? (
        <div className="y-row y-small" data-testid="audit-paging">
          <button type="button" className="y-btn" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - LIMIT))} data-testid="audit-previous">
            {t("audit.previous")}
          </button>
          <span data-testid="audit-range">{t("audit.range", { from: offset + 1, to: Math.min(offset + LIMIT, page.total), total: page.total })}</span>
          <button type="button" className="y-btn" disabled={offset + LIMIT >= page.total} onClick={() => setOffset(offset + LIMIT)} data-testid="audit-next">
            {t("audit.next")}
          </button>
        </div>
      ) : null}
    </div>
  );
}

function AuditTable({ entries }: { entries: AuditEntry[] }) {
  const { t, tx, dateTime } = useI18n();
  return (
    <table className="y-table" data-testid="audit-table">
      <thead>
        <tr>
          <th>{t("audit.col.when")}</th>
          <th>{t("audit.col.user")}</th>
          <th>{t("audit.col.action")}</th>
          <th>{t("audit.col.object")}</th>
          <th>{t("audit.col.summary")}</th>
          <th>{t("audit.col.run")}</th>
        </tr>
      </thead>
      <tbody>
        {entries.map((e) => (
          <tr key={e.id} data-testid="audit-entry" data-action={e.action}>
            <td>{dateTime(e.when)}</td>
            <td data-testid="audit-entry-user">{e.user ?? "—"}</td>
            <td>
              <code data-testid="audit-entry-action">{e.action}</code>
            </td>
            <td data-testid="audit-entry-object">{e.object_kind ? `${tx(`audit.kind.${e.object_kind}`, e.object_kind)} ${e.object_id ?? ""}` : (e.dag_id ?? "—")}</td>
            <td data-testid="audit-entry-summary">{e.summary ?? "—"}</td>
            <td>
              {e.dag_id && e.run_id ? (
                <Link to={`dags/${encodeURIComponent(e.dag_id)}/runs/${encodeURIComponent(e.run_id)}`} testId="audit-entry-run">
                  {e.run_id}
                </Link>
              ) : e.dag_id ? (
                <Link to={`dags/${encodeURIComponent(e.dag_id)}`}>{e.dag_id}</Link>
              ) : (
                "—"
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
