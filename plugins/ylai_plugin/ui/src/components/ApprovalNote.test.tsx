import { act } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { $, flush, render, type Rendered } from "../test/render";
import { ensureBase, fakeServer } from "../test/server";
import { EnvProvider } from "../i18n";
import { APPROVAL_POLL_MS, ApprovalNote } from "./ApprovalNote";

const ID = "6f1c0c1e-7a53-4d0e-9f6b-1d2e3f4a5b6c";
const RUN_PATH = "/ylai/api/v1/runs/script__payroll_export/manual__1";
let r: Rendered | null = null;

function mount(lang: "en" | "zh-CN" = "en") {
  r = render(
    <EnvProvider env={{ lang, dark: false }}>
      <ApprovalNote dagId="script__payroll_export" runId="manual__1" />
    </EnvProvider>,
  );
  return r.container;
}

/** GET /runs/{dag_id}/{run_id} answers whatever ``run.now`` holds; the calls are counted. */
function runServer(initial: { state: string; approval: unknown }) {
  const run = { now: initial };
  const server = fakeServer((c) => (c.path === RUN_PATH ? { body: { dag_id: "script__payroll_export", run_id: "manual__1", ...run.now } } : undefined));
  return { run, reads: () => server.calls.filter((c) => c.path === RUN_PATH).length };
}

const later = async () => {
  await act(async () => {
    await vi.advanceTimersByTimeAsync(APPROVAL_POLL_MS + 10);
  });
  await flush();
};

beforeEach(() => {
  ensureBase();
  vi.useFakeTimers({ shouldAdvanceTime: true });
});

afterEach(() => {
  r?.unmount();
  r = null;
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe("ApprovalNote", () => {
  it("says who must approve a waiting run, links the approval, and goes once it is approved", async () => {
    const { run, reads } = runServer({ state: "running", approval: { id: ID, state: "pending", approvers: ["Approver", "bob"] } });
    const el = mount();
    await flush();
    expect($(el, "run-approval")?.textContent).toBe("Waiting for approval by Approver, bob. Open in Approvals");
    expect($(el, "run-approval-link")?.getAttribute("href")).toMatch(new RegExp(`/plugin/ylai-approvals\\?id=${ID}$`));
    run.now = { state: "running", approval: { id: ID, state: "approved", approvers: ["Approver", "bob"] } };
    await later();
    expect($(el, "run-approval")).toBeNull();
    // Decided: nothing more to read.
    const seen = reads();
    await later();
    expect(reads()).toBe(seen);
  });

  it("shows nothing for a run without an approval step and stops reading once it ends", async () => {
    const { run, reads } = runServer({ state: "queued", approval: null });
    const el = mount();
    await flush();
    expect($(el, "run-approval")).toBeNull();
    // The approval step may not have started yet: read again while the run goes on.
    await later();
    expect(reads()).toBe(2);
    run.now = { state: "success", approval: null };
    await later();
    const seen = reads();
    await later();
    expect(reads()).toBe(seen);
    expect($(el, "run-approval")).toBeNull();
  });

  it("speaks the page's language", async () => {
    runServer({ state: "running", approval: { id: ID, state: "pending", approvers: [] } });
    const el = mount("zh-CN");
    await flush();
    expect($(el, "run-approval")?.textContent).toBe("等待审批，审批人：管理员。 在审批页面中打开");
  });
});
