import { useState, type FormEvent } from "react";
import { API_VERSION } from "../../generated/ylai";
import { data, ylai } from "../api/client";
import { lastShownError } from "../lib/lastError";
import { useI18n } from "../i18n";
import { ErrorBox } from "./ui";

// The feedback button of every ylai page (issue 20): a rating, a comment, and, sent along
// without asking, the page and ylai's version; the last error the page showed only when the user
// ticks it (they see what it says first).

export const RATINGS = [1, 2, 3, 4, 5] as const;
export const MAX_COMMENT = 2000;

/** The body of POST /feedback. */
export function feedbackBody(page: string, rating: number, comment: string, lastError: string | null) {
  return { rating, comment: comment.trim().slice(0, MAX_COMMENT), page, app_version: API_VERSION, ...(lastError ? { last_error: lastError } : {}) };
}

export function FeedbackButton({ page }: { page: string }) {
  const { t } = useI18n();
  const [open, setOpen] = useState(false);
  const [sent, setSent] = useState(false);
  return (
    <>
      <button type="button" className="y-btn y-btn-small" aria-expanded={open} onClick={() => (setOpen(!open), setSent(false))} data-testid="feedback-open">
        {t("feedback.button")}
      </button>
      {sent && !open ? (
        <span className="y-note y-small" role="status" data-testid="feedback-sent">
          {t("feedback.thanks")}
        </span>
      ) : null}
      {open ? <FeedbackDialog page={page} onClose={() => setOpen(false)} onSent={() => (setOpen(false), setSent(true))} /> : null}
    </>
  );
}

export function FeedbackDialog({ page, onClose, onSent }: { page: string; onClose: () => void; onSent: () => void }) {
  const { t } = useI18n();
  const [rating, setRating] = useState(0);
  const [comment, setComment] = useState("");
  // Read once when the dialog opens: the error the user saw before asking to give feedback.
  const [lastError] = useState(lastShownError);
  const [withError, setWithError] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await data(ylai.POST("/api/v1/feedback", { body: feedbackBody(page, rating, comment, withError ? lastError : null) }));
      onSent();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="y-card y-dialog" role="dialog" aria-label={t("feedback.dialogTitle")} data-ylai-region="dialog" onSubmit={(e) => void submit(e)} data-testid="feedback-dialog">
      <h2 className="y-card-title">{t("feedback.dialogTitle")}</h2>
      <div className="y-field">
        <span className="y-label" id="feedback-rating-label">
          {t("feedback.rating")}
        </span>
        <div className="y-seg" role="radiogroup" aria-labelledby="feedback-rating-label">
          {RATINGS.map((n) => (
            <button key={n} type="button" role="radio" aria-checked={rating === n} className={`y-btn y-btn-small ${rating === n ? "y-btn-on" : ""}`} title={t(`feedback.rating.${n}` as "feedback.rating.1")} onClick={() => setRating(n)} data-testid={`feedback-rating-${n}`}>
              {n}
            </button>
          ))}
        </div>
      </div>
      <label className="y-field">
        <span className="y-label">{t("feedback.comment")}</span>
        <textarea className="y-input y-textarea" rows={4} maxLength={MAX_COMMENT} placeholder={t("feedback.commentHint")} value={comment} onChange={(e) => setComment(e.target.value)} data-testid="feedback-comment" />
      </label>
      <label className="y-check y-small">
        <input type="checkbox" checked={withError} disabled={!lastError} onChange={(e) => setWithError(e.target.checked)} data-testid="feedback-with-error" />
        {lastError ? t("feedback.withError") : t("feedback.noError")}
      </label>
      {lastError && withError ? (
        <pre className="y-json" data-testid="feedback-error-text">
          {lastError}
        </pre>
      ) : null}
      <p className="y-muted y-small" data-testid="feedback-context">
        {t("feedback.context", { page: t(`nav.${page}` as "nav.run"), version: API_VERSION })}
      </p>
      <ErrorBox error={error} testId="feedback-error" />
      <div className="y-row">
        <button type="submit" className="y-btn y-btn-primary" disabled={busy || rating === 0} title={rating === 0 ? t("feedback.pickRating") : undefined} data-testid="feedback-send">
          {busy ? t("feedback.sending") : t("feedback.send")}
        </button>
        <button type="button" className="y-btn" onClick={onClose} data-testid="feedback-cancel">
          {t("common.cancel")}
        </button>
      </div>
    </form>
  );
}
