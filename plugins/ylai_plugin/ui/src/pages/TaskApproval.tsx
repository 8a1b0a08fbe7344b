import type { Schemas } from "../api/client";
import { useI18n } from "../i18n";
import { FieldError } from "../components/ui";

/** The "Requires approval" part of the task form, as the form keeps it (text fields as typed). */
export interface ApprovalDraft {
  on: boolean;
  approvers: string;
  timeout: string;
  reasonRequired: boolean;
  fourEyes: boolean;
  /** Alert channels set through the API: kept as they are, the form does not edit them. */
  notify: Schemas["TaskApprovalOut"]["notify"];
}

export const NO_APPROVAL: ApprovalDraft = { on: false, approvers: "Op", timeout: "24h", reasonRequired: false, fourEyes: true, notify: [] };

/** A saved number of seconds as the shortest duration the API reads back ("2h", "90m", "45s"). */
export function durationText(seconds: number): string {
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60]] as const) {
    if (seconds >= size && seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}

/** The form's draft of a task's saved approval (null: none). */
export function approvalDraft(saved: Schemas["TaskApprovalOut"] | null | undefined): ApprovalDraft {
  if (!saved) return NO_APPROVAL;
  return {
    on: true,
    approvers: saved.approvers.join(", "),
    timeout: durationText(saved.timeout_seconds),
    reasonRequired: saved.reason_required,
    fourEyes: saved.four_eyes,
    notify: saved.notify ?? [],
  };
}

/** The request body's `approval` (null: none); the server checks every field and names the wrong one. */
export function approvalBody(draft: ApprovalDraft): Schemas["TaskApprovalIn"] | null {
  if (!draft.on) return null;
  return {
    approvers: draft.approvers.split(",").map((a) => a.trim()).filter(Boolean),
    timeout: draft.timeout.trim(),
    reason_required: draft.reasonRequired,
    four_eyes: draft.fourEyes,
    notify: draft.notify as Schemas["TaskApprovalIn"]["notify"],
  };
}

/** One line for the task's page: who approves, within how long. */
export function approvalSummary(saved: Schemas["TaskApprovalOut"]): string {
  return `${saved.approvers.join(", ")} · ${durationText(saved.timeout_seconds)}`;
}

/** One text field of the section, with its help and the server's error (test ids `task-approval-<id>`). */
function TextField({ id, label, help, value, onChange, error, mono }: { id: string; label: string; help: string; value: string; onChange: (v: string) => void; error?: string; mono?: boolean }) {
  return (
    <>
      <label className="y-label" htmlFor={`t-approval-${id}`}>
        {label}
      </label>
      <input id={`t-approval-${id}`} className={mono ? "y-input y-mono" : "y-input"} value={value} onChange={(e) => onChange(e.target.value)} aria-invalid={!!error} data-testid={`task-approval-${id}`} />
      <div className="y-help">{help}</div>
      <FieldError text={error} testId={`task-approval-${id}-error`} />
    </>
  );
}

/** The form section; `errors` are the server's, by field (`approval.timeout`, ...). */
export function TaskApprovalFields({ draft, onChange, errors }: { draft: ApprovalDraft; onChange: (d: ApprovalDraft) => void; errors: Record<string, string> }) {
  const { t } = useI18n();
  const set = (patch: Partial<ApprovalDraft>) => onChange({ ...draft, ...patch });
  return (
    <fieldset className="y-field" data-testid="task-approval">
      <label className="y-check">
        <input type="checkbox" checked={draft.on} onChange={(e) => set({ on: e.target.checked })} data-testid="task-approval-on" /> {t("tasks.approval.requires")}
      </label>
      <div className="y-help">{t("tasks.approval.help")}</div>
      <FieldError text={errors.approval} testId="task-approval-error" />
      {draft.on ? (
        <>
          <TextField id="approvers" label={t("tasks.approval.approvers")} help={t("tasks.approval.approversHelp")} value={draft.approvers} onChange={(v) => set({ approvers: v })} error={errors["approval.approvers"]} />
          <TextField id="timeout" mono label={t("tasks.approval.timeout")} help={t("tasks.approval.timeoutHelp")} value={draft.timeout} onChange={(v) => set({ timeout: v })} error={errors["approval.timeout"]} />
          <label className="y-check">
            <input type="checkbox" checked={draft.reasonRequired} onChange={(e) => set({ reasonRequired: e.target.checked })} data-testid="task-approval-reason" /> {t("tasks.approval.reasonRequired")}
          </label>
          <label className="y-check">
            <input type="checkbox" checked={draft.fourEyes} onChange={(e) => set({ fourEyes: e.target.checked })} data-testid="task-approval-four-eyes" /> {t("tasks.approval.fourEyes")}
          </label>
        </>
      ) : null}
    </fieldset>
  );
}
