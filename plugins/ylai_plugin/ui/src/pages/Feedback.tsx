import { useState } from "react";
import { data, ylai, type Schemas } from "../api/client";
import type { ExportFilterValues } from "../api/models";
import { ExportButtons } from "../components/ExportButtons";
import { DisabledNote, Empty, ErrorBox, Loading, PageHeader } from "../components/ui";
import { usePoll } from "../lib/hooks";
import { useMe } from "../lib/me";
import { PAGES } from "../lib/nav";
import { useI18n, type Key } from "../i18n";

// The Feedback page (issue 20): what people said through the feedback button of every page, for
// those who may read it (Admins: "ylai Feedback"); those who may edit it mark an entry handled
// with a reply note.

export type FeedbackEntry = Schemas["FeedbackOut"];

export const LIMIT = 50;

export interface FeedbackFilters {
  handled: "" | "true" | "false";
  rating: string;
  page: string;
}

export const NO_FILTERS: FeedbackFilters = { handled: "", rating: "", page: "" };

/** The query of GET /feedback for the filters and the page of results. */
export function feedbackQuery(f: FeedbackFilters, offset: number) {
  return {
    handled: f.handled ? f.handled === "true" : undefined,
    rating: f.rating ? Number(f.rating) : undefined,
    page: f.page || undefined,
    order_by: "-created_at" as const,
    limit: LIMIT,
    offset,
  };
}

/** The list's filters for the export of the "feedback" kind: handled as its state, rating and page as they are. */
export function feedbackExportFilters(f: FeedbackFilters): ExportFilterValues {
  return {
    state: f.handled ? [f.handled === "true" ? "handled" : "open"] : undefined,
    rating: f.rating ? [Number(f.rating)] : undefined,
    page: f.page || undefined,
  };
}

export function Feedback() {
  const { t } = useI18n();
  const me = useMe();
  const [filters, setFilters] = useState<FeedbackFilters>(NO_FILTERS);
  const [offset, setOffset] = useState(0);
  const polled = usePoll((signal) => data(ylai.GET("/api/v1/feedback", { params: { query: feedbackQuery(filters, offset) }, signal })), [filters, offset], 60_000);
  const list = polled.data;
  const set = <K extends keyof FeedbackFilters>(key: K, value: FeedbackFilters[K]) => {
    setFilters((f) => ({ ...f, [key]: value }));
    setOffset(0);
  };
  const canEdit = me.can("feedback", "edit");
  return (
    <div data-testid="page-feedback">
      <PageHeader title={t("feedback.title")} subtitle={t("feedback.subtitle")} actions={<ExportButtons kind="feedback" filters={feedbackExportFilters(filters)} testId="feedback-export" />} />
      <div className="y-row y-wrap y-filters" data-testid="feedback-filters">
        <select className="y-input" aria-label={t("feedback.filter.handled")} value={filters.handled} onChange={(e) => set("handled", e.target.value as FeedbackFilters["handled"])} data-testid="feedback-filter-handled">
          <option value="">{t("feedback.filter.anyState")}</option>
          <option value="false">{t("feedback.filter.open")}</option>
          <option value="true">{t("feedback.filter.handledOnly")}</option>
        </select>
        <select className="y-input" aria-label={t("feedback.filter.rating")} value={filters.rating} onChange={(e) => set("rating", e.target.value)} data-testid="feedback-filter-rating">
          <option value="">{t("feedback.filter.anyRating")}</option>
          {[1, 2, 3, 4, 5].map((n) => (
            <option key={n} value={String(n)}>
              {t("feedback.stars", { n })}
            </option>
          ))}
        </select>
        <select className="y-input" aria-label={t("feedback.filter.page")} value={filters.page} onChange={(e) => set("page", e.target.value)} data-testid="feedback-filter-page">
          <option value="">{t("feedback.filter.anyPage")}</option>
          {PAGES.map((p) => (
            <option key={p} value={p}>
              {t(`nav.${p}` as Key)}
            </option>
          ))}
        </select>
      </div>
      <DisabledNote show={me.loaded && !canEdit && me.can("feedback", "read")} text={t("feedback.readOnly")} testId="feedback-readonly" />
      <ErrorBox error={polled.error} testId="feedback-list-error" />
      {!list && !polled.error ? <Loading /> : null}
      {list && list.items.length === 0 ? <Empty testId="feedback-empty">{t("feedback.empty")}</Empty> : null}
      {list && list.items.length > 0 ? (
        <div className="y-table-wrap">
          <table className="y-table" data-testid="feedback-table">
            <thead>
              <tr>
                <th>{t("feedback.col.when")}</th>
                <th>{t("feedback.col.user")}</th>
                <th>{t("feedback.col.rating")}</th>
                <th>{t("feedback.col.page")}</th>
                <th>{t("feedback.col.comment")}</th>
                <th>{t("feedback.col.state")}</th>
              </tr>
            </thead>
            <tbody>
              {list.items.map((entry) => (
                <FeedbackRow key={entry.id} entry={entry} canEdit={canEdit} onChanged={polled.refresh} />
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {list && list.total > LIMIT ? (
        <div className="y-row y-small" data-testid="feedback-paging">
          <button type="button" className="y-btn" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - LIMIT))} data-testid="feedback-previous">
            {t("audit.previous")}
          </button>
          <span>{t("audit.range", { from: offset + 1, to: Math.min(offset + LIMIT, list.total), total: list.total })}</span>
          <button type="button" className="y-btn" disabled={offset + LIMIT >= list.total} onClick={() => setOffset(offset + LIMIT)} data-testid="feedback-next">
            {t("audit.next")}
          </button>
        </div>
      ) : null}
    </div>
  );
}

function FeedbackRow({ entry, canEdit, onChanged }: { entry: FeedbackEntry; canEdit: boolean; onChanged: () => void }) {
  const { t, tx, dateTime } = useI18n();
  const [editing, setEditing] = useState(false);
  const [note, setNote] = useState(entry.reply_note ?? "");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const save = async (handled: boolean) => {
    setBusy(true);
    setError(null);
    try {
      await data(ylai.PATCH("/api/v1/feedback/{feedback_id}", { params: { path: { feedback_id: entry.id } }, body: { handled, reply_note: note.trim() || null } }));
      setEditing(false);
      onChanged();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <tr data-testid="feedback-entry" data-id={entry.id} data-handled={entry.handled ? "true" : "false"}>
      <td className="y-nowrap">{dateTime(entry.created_at)}</td>
      <td translate="no" data-testid="feedback-entry-user">
        {entry.user ?? "—"}
      </td>
      <td data-testid="feedback-entry-rating" title={t("feedback.stars", { n: entry.rating })}>
        {"★".repeat(entry.rating)}
        <span className="y-muted">{"☆".repeat(Math.max(0, 5 - entry.rating))}</span>
      </td>
      <td>
        {tx(`nav.${entry.page}`, entry.page)}
        <div className="y-muted y-small">{t("feedback.version", { version: entry.app_version })}</div>
      </td>
      <td>
        <div translate="no" data-testid="feedback-entry-comment">
          {entry.comment || "—"}
        </div>
        {entry.last_error ? (
          <div className="y-small y-tone-bad" translate="no" data-testid="feedback-entry-error">
            {t("feedback.lastError", { error: entry.last_error })}
          </div>
        ) : null}
      </td>
      <td>
        {entry.handled ? (
          <span className="y-badge y-tone-ok" data-testid="feedback-entry-handled">
            {t("feedback.handled")}
          </span>
        ) : (
          <span className="y-badge y-tone-warn">{t("feedback.open")}</span>
        )}
        {entry.reply_note ? (
          <div className="y-small" translate="no" data-testid="feedback-entry-note">
            {entry.reply_note}
          </div>
        ) : null}
        {entry.handled && entry.handled_by ? <div className="y-muted y-small">{t("feedback.handledBy", { user: entry.handled_by, when: dateTime(entry.handled_at) })}</div> : null}
        {canEdit && !editing ? (
          <button type="button" className="y-btn y-btn-small" onClick={() => setEditing(true)} data-testid="feedback-entry-edit">
            {entry.handled ? t("feedback.editNote") : t("feedback.markHandled")}
          </button>
        ) : null}
        {editing ? (
          <div className="y-col" data-testid="feedback-entry-form">
            <textarea className="y-input y-textarea" rows={2} maxLength={2000} aria-label={t("feedback.replyNote")} placeholder={t("feedback.replyNote")} value={note} onChange={(e) => setNote(e.target.value)} data-testid="feedback-entry-note-input" />
            <div className="y-row y-wrap">
              <button type="button" className="y-btn y-btn-small y-btn-primary" disabled={busy} onClick={() => void save(true)} data-testid="feedback-entry-save">
                {t("feedback.saveHandled")}
              </button>
              {entry.handled ? (
                <button type="button" className="y-btn y-btn-small" disabled={busy} onClick={() => void save(false)} data-testid="feedback-entry-reopen">
                  {t("feedback.reopen")}
                </button>
              ) : null}
              <button type="button" className="y-btn y-btn-small" onClick={() => setEditing(false)}>
                {t("common.cancel")}
              </button>
            </div>
            <ErrorBox error={error} testId="feedback-entry-error-box" />
          </div>
        ) : null}
      </td>
    </tr>
  );
}
