import { useState } from "react";
import { decideApproval, getApproval, listApprovals, type ApprovalOut, type ApprovalState, type ApprovalView } from "../api/approvals";
import { ApiError } from "../lib/api";
import { usePoll } from "../lib/hooks";
import { Link, pagePath, useNav } from "../lib/nav";
import { useI18n, type Key } from "../i18n";
import { Card, Empty, ErrorBox, FieldError, Json, Loading, PageHeader } from "../components/ui";

// The Approvals page: runs that wait for someone's approval before their script starts
// (issue 19). Whether the caller may decide comes from the server (can_decide and its reason):
// four eyes, the approver list and the roles are its rules, the page only shows them.

type Tab = "waiting" | "mine" | "history";
const TABS: Tab[] = ["waiting", "mine", "history"];
const VIEW: Record<Tab, ApprovalView> = { waiting: "waiting_for_me", mine: "mine", history: "all" };
const STATES: ApprovalState[] = ["pending", "approved", "rejected", "timed_out"];
const LIMIT = 50;
const TONE: Record<ApprovalState, string> = { pending: "wait", approved: "ok", rejected: "bad", timed_out: "warn" };

export function Approvals() {
  const { t } = useI18n();
  const nav = useNav();
  const asked = nav.search.get("tab") as Tab | null;
  const tab = asked && TABS.includes(asked) ? asked : "waiting";
  const one = nav.search.get("id");
  return (
    <div data-testid="page-approvals">
      <PageHeader title={t("approvals.title")} subtitle={t("approvals.subtitle")} />
      <div className="y-seg y-filters" role="tablist" aria-label={t("approvals.sections")}>
        {TABS.map((x) => (
          <Link key={x} to={pagePath("approvals", `?tab=${x}`)} className={x === tab && !one ? "y-btn y-btn-on" : "y-btn"} testId={`approvals-tab-${x}`}>
            {t(`approvals.tab.${x}` as Key)}
          </Link>
        ))}
      </div>
      {one ? <OneApproval id={one} /> : <ApprovalList key={tab} tab={tab} />}
    </div>
  );
}

/** One approval, opened from a run's "waiting for approval" note (?id=...). */
function OneApproval({ id }: { id: string }) {
  const polled = usePoll((signal) => getApproval(id, signal), [id]);
  const [done, setDone] = useState<ApprovalOut | null>(null);
  if (polled.error) return <ErrorBox error={polled.error} testId="approval-error" />;
  if (!polled.data) return <Loading />;
  return (
    <>
      <DecisionNote decided={done} />
      <ApprovalCard
        approval={polled.data}
        onDecided={(a) => {
          setDone(a);
          polled.refresh();
        }}
      />
    </>
  );
}

/** What the caller just decided: said above the list, which no longer shows it under "waiting for me". */
function DecisionNote({ decided }: { decided: ApprovalOut | null }) {
  const { t } = useI18n();
  if (!decided) return null;
  return (
    <p className="y-note" role="status" data-testid="approval-done">
      {t(decided.state === "approved" ? "approvals.approvedNote" : "approvals.rejectedNote", { target: decided.target })}
    </p>
  );
}

function ApprovalList({ tab }: { tab: Tab }) {
  const { t, tx } = useI18n();
  const [state, setState] = useState<ApprovalState | "">("");
  const [offset, setOffset] = useState(0);
  const [done, setDone] = useState<ApprovalOut | null>(null);
  // Waiting for me: only what is still open; the other tabs show every state unless filtered.
  const wanted = tab === "waiting" ? "pending" : state || undefined;
  const polled = usePoll((signal) => listApprovals({ view: VIEW[tab], state: wanted, limit: LIMIT, offset }, signal), [tab, wanted, offset], 15_000);
  const page = polled.data;
  return (
    <>
      {tab !== "waiting" ? (
        <div className="y-row y-filters">
          <select
            className="y-input"
            aria-label={t("approvals.stateFilter")}
            value={state}
            onChange={(e) => {
              setState(e.target.value as ApprovalState | "");
              setOffset(0);
            }}
            data-testid="approvals-state"
          >
            <option value="">{t("approvals.anyState")}</option>
            {STATES.map((s) => (
              <option key={s} value={s}>
                {tx(`approvals.state.${s}`, s)}
              </option>
            ))}
          </select>
        </div>
      ) : null}
      <DecisionNote decided={done} />
      <ErrorBox error={polled.error} testId="approvals-error" />
      {!page && !polled.error ? <Loading /> : null}
      {page && page.items.length === 0 ? <Empty testId="approvals-empty">{t(`approvals.empty.${tab}` as Key)}</Empty> : null}
      <div className="y-col" data-testid="approvals-list">
        {page?.items.map((a) => (
          <ApprovalCard
            key={a.id}
            approval={a}
            onDecided={(decided) => {
              setDone(decided);
              polled.refresh();
            }}
          />
        ))}
      </div>
      {page && page.total > LIMIT ? (
        <div className="y-row y-small" data-testid="approvals-paging">
          <button type="button" className="y-btn" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - LIMIT))}>
            {t("approvals.previous")}
          </button>
          <span>{t("approvals.range", { from: offset + 1, to: Math.min(offset + LIMIT, page.total), total: page.total })}</span>
          <button type="button" className="y-btn" disabled={offset + LIMIT >= page.total} onClick={() => setOffset(offset + LIMIT)}>
            {t("approvals.next")}
          </button>
        </div>
      ) : null}
    </>
  );
}

export function ApprovalBadge({ state }: { state: ApprovalState }) {
  const { tx } = useI18n();
  return (
    <span className={`y-badge y-tone-${TONE[state] ?? "muted"}`} data-state={state} data-testid="approval-state">
      {tx(`approvals.state.${state}`, state)}
    </span>
  );
}

/** Whether a needed comment is missing: a rejection always needs one, an approval when the step says so. */
export function missingComment(approval: Pick<ApprovalOut, "reason_required">, decision: "approve" | "reject", comment: string): boolean {
  return !comment.trim() && (decision === "reject" || approval.reason_required);
}

function ApprovalCard({ approval, onDecided }: { approval: ApprovalOut; onDecided: (decided: ApprovalOut) => void }) {
  const { t, tx, dateTime } = useI18n();
  const [comment, setComment] = useState("");
  const [commentError, setCommentError] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  // The server's answer stands until the next read of the list replaces the card.
  const [decided, setDecided] = useState<ApprovalOut | null>(null);
  const a = decided ?? approval;
  const pending = a.state === "pending";
  const reason = a.can_decide ? null : (a.cannot_decide_reason ?? t("approvals.cannotDecide"));

  const decide = async (decision: "approve" | "reject") => {
    setError(null);
    setCommentError(null);
    if (missingComment(a, decision, comment)) {
      setCommentError(decision === "reject" ? t("approvals.rejectNeedsComment") : t("approvals.commentRequired"));
      return;
    }
    setBusy(true);
    try {
      const answer = await decideApproval(a.id, decision, comment);
      setDecided(answer);
      setComment("");
      onDecided(answer);
    } catch (err) {
      const field = err instanceof ApiError ? err.details.find((d) => d.field.endsWith("comment")) : undefined;
      if (field) setCommentError(field.reason);
      else setError(err);
    } finally {
      setBusy(false);
    }
  };

  const runLink = `dags/${encodeURIComponent(a.dag_id)}/runs/${encodeURIComponent(a.run_id)}`;
  return (
    <Card
      testId="approval"
      title={
        <span className="y-row y-wrap">
          <span className="y-kind">{tx(`approvals.kind.${a.kind}`, a.kind)}</span>
          <code data-testid="approval-target">{a.target}</code>
          <ApprovalBadge state={a.state} />
          <Link to={runLink} className="y-small" testId="approval-run-link">
            {a.run_id}
          </Link>
        </span>
      }
    >
      <dl className="y-dl" data-testid="approval-facts" data-id={a.id} data-run-id={a.run_id}>
        <dt>{t("approvals.requestedBy")}</dt>
        <dd data-testid="approval-requested-by">
          {a.requested_by ?? "—"} · {dateTime(a.requested_at)}
        </dd>
        <dt>{t("approvals.approvers")}</dt>
        <dd data-testid="approval-approvers">{a.approvers.length ? a.approvers.join(", ") : t("approvals.adminsOnly")}</dd>
        <dt>{t("approvals.timeout")}</dt>
        <dd data-testid="approval-timeout">{a.timeout_at ? dateTime(a.timeout_at) : t("approvals.noTimeout")}</dd>
        <dt>{t("approvals.rules")}</dt>
        <dd>
          {[a.four_eyes ? t("approvals.fourEyes") : null, a.reason_required ? t("approvals.reasonRequired") : null].filter(Boolean).join(" · ") || "—"}
        </dd>
        {!pending ? (
          <>
            <dt>{t("approvals.decidedBy")}</dt>
            <dd data-testid="approval-decided-by">
              {a.decided_by ?? "—"} · {dateTime(a.decided_at)}
            </dd>
            <dt>{t("approvals.comment")}</dt>
            <dd data-testid="approval-comment">{a.comment || "—"}</dd>
          </>
        ) : null}
      </dl>
      <details className="y-details" open={pending}>
        <summary>{t("approvals.params")}</summary>
        <Json value={a.params} testId="approval-params" />
      </details>
      {pending ? (
        <div className="y-field" data-testid="approval-decide">
          <label className="y-label" htmlFor={`y-approval-comment-${a.id}`}>
            {a.reason_required ? t("approvals.commentLabelRequired") : t("approvals.commentLabel")}
          </label>
          <textarea
            id={`y-approval-comment-${a.id}`}
            className="y-input y-textarea"
            rows={2}
            value={comment}
            disabled={!a.can_decide || busy}
            onChange={(e) => setComment(e.target.value)}
            data-testid="approval-comment-input"
          />
          <FieldError text={commentError} testId="approval-comment-error" />
          <ErrorBox error={error} testId="approval-decide-error" />
          {reason ? (
            <p className="y-note" data-testid="approval-cannot-decide">
              {reason}
            </p>
          ) : null}
          <div className="y-row">
            <button type="button" className="y-btn y-btn-primary" disabled={!a.can_decide || busy} title={reason ?? undefined} onClick={() => void decide("approve")} data-testid="approval-approve">
              {t("approvals.approve")}
            </button>
            <button type="button" className="y-btn y-btn-danger" disabled={!a.can_decide || busy} title={reason ?? undefined} onClick={() => void decide("reject")} data-testid="approval-reject">
              {t("approvals.reject")}
            </button>
          </div>
        </div>
      ) : null}
    </Card>
  );
}
