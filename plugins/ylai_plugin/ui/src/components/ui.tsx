import { createContext, useContext, useEffect, type ReactNode } from "react";
import { ApiError } from "../lib/api";
import { reportShownError } from "../lib/lastError";
import { useMe, type Resource } from "../lib/me";
import { Link, pagePath, useNav, visiblePages } from "../lib/nav";
import { useI18n, type Key } from "../i18n";

/** What the shell adds to every page's header, after the page's own actions (the feedback corner). */
export const HeaderExtra = createContext<ReactNode>(null);

export function PageHeader({ title, subtitle, actions }: { title: string; subtitle?: string; actions?: ReactNode }) {
  const { t } = useI18n();
  const { page } = useNav();
  const me = useMe();
  const extra = useContext(HeaderExtra);
  // data-ylai-region: the layout's regions the click beacon (lib/usage.ts) places clicks in.
  return (
    <header className="y-header" data-ylai-region="header">
      <nav className="y-tabs" aria-label={t("nav.label")} data-ylai-region="nav">
        {visiblePages((r) => me.can(r as Resource, "read")).map((p) => (
          <Link key={p} to={pagePath(p)} className={p === page ? "y-tab y-tab-active" : "y-tab"} testId={`tab-${p}`}>
            {t(`nav.${p}` as Key)}
          </Link>
        ))}
      </nav>
      <div className="y-header-row">
        <div>
          <h1 className="y-title">{title}</h1>
          {subtitle ? <p className="y-muted">{subtitle}</p> : null}
        </div>
        {actions || extra ? (
          <div className="y-actions">
            {actions}
            {extra}
          </div>
        ) : null}
      </div>
    </header>
  );
}

export function Card({ title, children, testId, className }: { title?: ReactNode; children: ReactNode; testId?: string; className?: string }) {
  return (
    <section className={`y-card ${className ?? ""}`} data-testid={testId}>
      {title ? <h2 className="y-card-title">{title}</h2> : null}
      {children}
    </section>
  );
}

export function Stat({ label, value, tone, testId }: { label: string; value: ReactNode; tone?: string; testId?: string }) {
  return (
    <div className="y-stat" data-testid={testId}>
      <div className={`y-stat-value ${tone ? `y-tone-${tone}` : ""}`}>{value}</div>
      <div className="y-stat-label">{label}</div>
    </div>
  );
}

const TONES: Record<string, string> = {
  success: "ok",
  failed: "bad",
  upstream_failed: "bad",
  running: "run",
  queued: "wait",
  scheduled: "wait",
  up_for_retry: "warn",
  up_for_reschedule: "warn",
  deferred: "wait",
  skipped: "muted",
  removed: "muted",
  restarting: "warn",
};

export function StateBadge({ state }: { state: string | null | undefined }) {
  const { tx, t } = useI18n();
  const s = state ?? "none";
  return (
    <span className={`y-badge y-tone-${TONES[s] ?? "muted"}`} data-state={s}>
      {state ? tx(`state.${s}`, s) : t("state.none")}
    </span>
  );
}

export function ErrorBox({ error, testId }: { error: unknown; testId?: string }) {
  const { t } = useI18n();
  let text = "";
  if (error instanceof ApiError) {
    if (error.status === 403) text = t("error.forbidden", { message: error.message });
    else if (error.status === 401) text = t("error.unauthenticated");
    else text = t("error.api", { status: error.status, message: error.message });
  } else if (error) {
    text = t("error.network", { message: error instanceof Error ? error.message : String(error) });
  }
  // The feedback dialog offers to send the last error a page showed (lib/lastError.ts).
  useEffect(() => reportShownError(text), [text]);
  if (!error) return null;
  return (
    <div className="y-error" role="alert" data-testid={testId ?? "error"}>
      {text}
    </div>
  );
}

export function Empty({ children, testId }: { children: ReactNode; testId?: string }) {
  return (
    <div className="y-empty" data-testid={testId ?? "empty"}>
      {children}
    </div>
  );
}

export function Loading() {
  const { t } = useI18n();
  return (
    <div className="y-muted y-loading" aria-busy="true">
      {t("common.loading")}
    </div>
  );
}

export function RefreshBar({ updatedAt, paused, onPause, onRefresh }: { updatedAt?: Date; paused: boolean; onPause: (p: boolean) => void; onRefresh: () => void }) {
  const { t, time } = useI18n();
  return (
    <div className="y-refresh" data-testid="refresh-bar">
      <span className="y-muted" data-testid="last-updated">
        {updatedAt ? t("common.lastUpdated", { time: time(updatedAt.toISOString()) }) : t("common.loading")}
      </span>
      <button type="button" className="y-btn" onClick={() => onPause(!paused)} data-testid="pause">
        {paused ? t("common.resume") : t("common.pause")}
      </button>
      <button type="button" className="y-btn" onClick={onRefresh}>
        {t("common.refresh")}
      </button>
    </div>
  );
}

export function FieldError({ text, testId }: { text?: string | null; testId?: string }) {
  if (!text) return null;
  return (
    <div className="y-field-error" role="alert" data-testid={testId}>
      {text}
    </div>
  );
}

/** A link for users who may follow it; for others the same control, disabled, with the reason as its title. */
export function PermittedLink({ allowed, to, className, testId, reason, children }: { allowed: boolean; to: string; className: string; testId: string; reason: string; children: ReactNode }) {
  return allowed ? (
    <Link to={to} className={className} testId={testId}>
      {children}
    </Link>
  ) : (
    <button type="button" className={className} disabled title={reason} data-testid={testId}>
      {children}
    </button>
  );
}

export function DisabledNote({ show, text, testId }: { show: boolean; text: string; testId?: string }) {
  if (!show) return null;
  return (
    <p className="y-note" data-testid={testId ?? "permission-note"}>
      {text}
    </p>
  );
}

export function Json({ value, testId }: { value: unknown; testId?: string }) {
  return (
    <pre className="y-json" data-testid={testId}>
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}
