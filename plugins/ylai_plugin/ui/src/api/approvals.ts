// The approvals API (approval before sensitive runs) through the typed client (generated/ylai.ts).
import { data, ylai, type Schemas } from "./client";

export type ApprovalOut = Schemas["ApprovalOut"];
export type ApprovalState = ApprovalOut["state"];
export type ApprovalView = "waiting_for_me" | "mine" | "all";
/** What a run view says of its approval step (RunOut.approval). */
export type RunApproval = Schemas["RunApproval"];

export function listApprovals(query: { view: ApprovalView; state?: ApprovalState; limit: number; offset: number }, signal?: AbortSignal) {
  return data(ylai.GET("/api/v1/approvals", { params: { query }, signal }));
}

export function getApproval(id: string, signal?: AbortSignal): Promise<ApprovalOut> {
  return data(ylai.GET("/api/v1/approvals/{approval_id}", { params: { path: { approval_id: id } }, signal }));
}

export function decideApproval(id: string, decision: "approve" | "reject", comment: string): Promise<ApprovalOut> {
  const path = decision === "approve" ? "/api/v1/approvals/{approval_id}/approve" : "/api/v1/approvals/{approval_id}/reject";
  return data(ylai.POST(path, { params: { path: { approval_id: id } }, body: { comment: comment.trim() || null } }));
}

/** A run's state and its approval step (null when it has none yet), from GET /runs/{dag_id}/{run_id}. */
export async function runApproval(dagId: string, runId: string, signal?: AbortSignal): Promise<{ state: string | null; approval: RunApproval | null }> {
  const run = await data(ylai.GET("/api/v1/runs/{dag_id}/{run_id}", { params: { path: { dag_id: dagId, run_id: runId } }, signal }));
  return { state: run.state ?? null, approval: run.approval ?? null };
}
