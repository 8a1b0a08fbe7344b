import { useEffect, useState } from "react";
import { runApproval, type RunApproval } from "../api/approvals";
import { useI18n } from "../i18n";
import { Link, pagePath } from "../lib/nav";

/** How often a followed run's approval is read again while it waits. */
export const APPROVAL_POLL_MS = 3000;
const ENDED = new Set(["success", "failed"]);

/**
 * "Waiting for approval by …" on a followed run whose approval step is pending, with a link to
 * it on the Approvals page; nothing for a run without one or once it is decided. Read from
 * ``GET /runs/{dag_id}/{run_id}`` until the approval is decided or the run ends (the run's
 * approval appears once its first task, the approval step, runs). The Run page and the
 * pipeline editor both show it on the run they follow.
 */
export function ApprovalNote({ dagId, runId }: { dagId: string; runId: string }) {
  const { t } = useI18n();
  const [approval, setApproval] = useState<RunApproval | null>(null);
  useEffect(() => {
    let live = true;
    let timer: number | undefined;
    const ctl = new AbortController();
    const tick = async () => {
      let again = true;
      try {
        const run = await runApproval(dagId, runId, ctl.signal);
        if (!live) return;
        setApproval(run.approval);
        // Decided, or a run that ended without one: nothing more will come.
        again = run.approval ? run.approval.state === "pending" : !ENDED.has(String(run.state));
      } catch {
        // The note is a hint: the run's own view works without it; read again later.
      }
      if (live && again) timer = window.setTimeout(() => void tick(), APPROVAL_POLL_MS);
    };
    void tick();
    return () => {
      live = false;
      ctl.abort();
      window.clearTimeout(timer);
    };
  }, [dagId, runId]);
  if (!approval || approval.state !== "pending") return null;
  return (
    <p className="y-note" role="status" data-testid="run-approval">
      {t("approvals.waitingBy", { approvers: approval.approvers.length ? approval.approvers.join(", ") : t("approvals.adminsOnly") })}{" "}
      <Link to={pagePath("approvals", `?id=${encodeURIComponent(approval.id)}`)} testId="run-approval-link">
        {t("approvals.open")}
      </Link>
    </p>
  );
}
