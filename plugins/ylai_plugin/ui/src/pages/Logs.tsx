import { useState, type FormEvent, type ReactNode } from "react";
import type { operations } from "../../generated/ylai";
import { data, ylai, type Schemas } from "../api/client";
import { ApiError } from "../lib/api";
import { Link } from "../lib/nav";
import { useI18n } from "../i18n";
import { Empty, ErrorBox, PageHeader, StateBadge } from "../components/ui";

export type LogHit = Schemas["LogHit"];
type LogPage = Schemas["LogSearchPage"];
const LEVELS = ["", "debug", "info", "warning", "error", "critical"] as const;
const STATES = ["", "success", "failed", "running", "queued"] as const;
const KINDS = ["dag_id", "script", "pipeline"] as const;
type Scope = (typeof KINDS)[number];

interface Query {
  q: string;
  regex: boolean;
  level: string;
  state: string;
  scope: Scope;
  target: string;
  since: string;
  until: string;
}

const EMPTY: Query = { q: "", regex: false, level: "", state: "", scope: "script", target: "", since: "", until: "" };

/** The line with each matched span in a <mark> (spans come from the server, in characters). */
export function highlight(text: string, matches: number[][]): ReactNode[] {
  const parts: ReactNode[] = [];
  let at = 0;
  [...matches]
    .sort((a, b) => a[0] - b[0])
    .forEach(([start, end], n) => {
      if (start < at || end <= start) return;
      if (start > at) parts.push(text.slice(at, start));
      parts.push(
        <mark key={n} data-testid="log-match">
          {text.slice(start, end)}
        </mark>,
      );
      at = end;
    });
  if (at < text.length) parts.push(text.slice(at));
  return parts;
}

/** A local date-time input ("2026-12-04T10:00") as the API's time with a zone. */
const asIso = (local: string): string | undefined => (local ? new Date(local).toISOString() : undefined);

type SearchQuery = NonNullable<operations["search_logs"]["parameters"]["query"]>;
type Level = NonNullable<SearchQuery["level"]>[number];
type RunState = NonNullable<SearchQuery["state"]>[number];

function params(x: Query, cursor: string | null): SearchQuery {
  return {
    q: x.q || undefined,
    regex: x.regex || undefined,
    level: x.level ? [x.level as Level] : undefined,
    state: x.state ? [x.state as RunState] : undefined,
    [x.scope]: x.target || undefined,
    since: asIso(x.since),
    until: asIso(x.until),
    cursor: cursor ?? undefined,
  };
}

/** The Logs page: task-log lines across runs, by text or regex, with filters and "load more". */
export function Logs() {
  const i = useI18n();
  const { t } = i;
  const [form, setForm] = useState<Query>(EMPTY);
  const [asked, setAsked] = useState<Query | null>(null);
  const [hits, setHits] = useState<LogHit[]>([]);
  const [page, setPage] = useState<LogPage | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const fetchPage = async (x: Query, cursor: string | null) => {
    setBusy(true);
    setError(null);
    try {
      const body = await data(ylai.GET("/api/v1/logs/search", { params: { query: params(x, cursor) } }));
      setHits((before) => (cursor ? [...before, ...body.items] : body.items));
      setPage(body);
    } catch (e) {
      if (!cursor) {
        setHits([]);
        setPage(null);
      }
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setAsked(form);
    void fetchPage(form, null);
  };
  const set = <K extends keyof Query>(key: K, value: Query[K]) => setForm((f) => ({ ...f, [key]: value }));
  const qProblem = error instanceof ApiError ? error.details.find((d) => d.field === "query.q")?.reason : undefined;

  return (
    <div data-testid="page-logs">
      <PageHeader title={t("logs.title")} subtitle={t("logs.subtitle")} />
      <form className="y-row y-wrap y-filters" onSubmit={submit} data-testid="log-search-form">
        <input className="y-input y-grow" type="search" placeholder={t("logs.search")} aria-label={t("logs.search")} value={form.q} onChange={(e) => set("q", e.target.value)} data-testid="log-q" />
        <label className="y-small">
          <input type="checkbox" checked={form.regex} onChange={(e) => set("regex", e.target.checked)} data-testid="log-regex" /> {t("logs.regex")}
        </label>
        <select className="y-input" aria-label={t("logs.level")} value={form.level} onChange={(e) => set("level", e.target.value)} data-testid="log-level">
          {LEVELS.map((l) => (
            <option key={l} value={l}>
              {l ? i.tx(`logs.levels.${l}`, l) : t("logs.anyLevel")}
            </option>
          ))}
        </select>
        <select className="y-input" aria-label={t("logs.state")} value={form.state} onChange={(e) => set("state", e.target.value)} data-testid="log-state">
          {STATES.map((s) => (
            <option key={s} value={s}>
              {s ? i.tx(`state.${s}`, s) : t("logs.anyState")}
            </option>
          ))}
        </select>
        <select className="y-input" aria-label={t("logs.scope")} value={form.scope} onChange={(e) => set("scope", e.target.value as Scope)} data-testid="log-scope">
          {KINDS.map((k) => (
            <option key={k} value={k}>
              {k === "dag_id" ? t("kind.dag") : t(`logs.scope.${k}`)}
            </option>
          ))}
        </select>
        <input className="y-input" placeholder={t("logs.target")} aria-label={t("logs.target")} value={form.target} onChange={(e) => set("target", e.target.value)} data-testid="log-target" />
        <input className="y-input" type="datetime-local" aria-label={t("logs.since")} title={t("logs.since")} value={form.since} onChange={(e) => set("since", e.target.value)} data-testid="log-since" />
        <input className="y-input" type="datetime-local" aria-label={t("logs.until")} title={t("logs.until")} value={form.until} onChange={(e) => set("until", e.target.value)} data-testid="log-until" />
        <button type="submit" className="y-btn y-btn-primary" disabled={busy} data-testid="log-submit">
          {t("logs.submit")}
        </button>
      </form>
      {qProblem ? (
        <div className="y-error" role="alert" data-testid="log-q-error">
          {t("logs.badQuery", { reason: qProblem })}
        </div>
      ) : (
        <ErrorBox error={error} />
      )}
      {asked && page && hits.length === 0 && !page.next_cursor ? <Empty testId="log-empty">{t("logs.none")}</Empty> : null}
      <ol className="y-list" style={{ paddingLeft: 0 }} data-testid="log-results">
        {hits.map((h, n) => (
          <li key={`${h.run_id}-${h.task_id}-${h.map_index}-${h.try_number}-${h.line_number}-${n}`} className="y-card y-log-hit" data-testid="log-hit">
            <div className="y-row y-wrap y-small">
              <span className={`y-tone-${h.level === "error" || h.level === "critical" ? "bad" : "muted"}`}>{h.level ? i.tx(`logs.levels.${h.level}`, h.level) : "—"}</span>
              <span>{i.dateTime(h.timestamp)}</span>
              <span>{h.name ? `${i.tx(`kind.${h.kind}`, h.kind ?? "")} ${h.name}` : h.dag_id}</span>
              <StateBadge state={h.run_state} />
              <Link to={h.run_link} testId="log-run-link">
                {h.run_id}
              </Link>
              <Link to={h.line_link} testId="log-line-link">
                {t("logs.line", { task: h.task_id, try: h.try_number, line: h.line_number })}
              </Link>
            </div>
            <pre className="y-log-text" data-testid="log-text">
              {highlight(h.text, h.matches)}
            </pre>
          </li>
        ))}
      </ol>
      {page ? (
        <div className="y-row y-small" data-testid="log-status">
          <span>{page.stopped_by === "scan_limit" ? t("logs.scanLimit", { mib: (page.scanned_bytes / 1048576).toFixed(1) }) : page.stopped_by === "time_limit" ? t("logs.timeLimit") : ""}</span>
          {page.next_cursor && asked ? (
            <button type="button" className="y-btn" disabled={busy} onClick={() => void fetchPage(asked, page.next_cursor ?? null)} data-testid="log-more">
              {t("logs.more")}
            </button>
          ) : hits.length ? (
            <span data-testid="log-end">{t("logs.end")}</span>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}
