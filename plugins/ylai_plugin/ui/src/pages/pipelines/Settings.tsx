import { useState } from "react";
import { FieldError } from "../../components/ui";
import { useI18n } from "../../i18n";
import { useStudioText } from "./i18n";
import type { JsonValue, PipelineParam, PipelineSpec, Problem } from "../../lib/pipeline/types";

const PARAM_TYPES = ["string", "integer", "number", "boolean", "date", "date-time", "array", "object"];

function defaultText(v: JsonValue | undefined): string {
  if (v === undefined) return "";
  return typeof v === "string" ? v : JSON.stringify(v);
}

function parseDefault(type: string, text: string): JsonValue | undefined {
  if (text === "") return undefined;
  if (type === "string" || type === "date" || type === "date-time") return text;
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return text;
  }
}

/** The pipeline's own fields: name, title, description, owner, tags, schedule, retries, params. */
export function Settings({ spec, isNew, readOnly, problems, onChange }: { spec: PipelineSpec; isNew: boolean; readOnly: boolean; problems: Problem[]; onChange: (next: PipelineSpec) => void }) {
  const { t } = useI18n();
  const st = useStudioText();
  const [newParam, setNewParam] = useState("");
  const [alertsText, setAlertsText] = useState(() => (spec.alerts ? JSON.stringify(spec.alerts, null, 2) : ""));
  const [alertsError, setAlertsError] = useState<string | null>(null);
  const mine = problems.filter((p) => p.node === null);
  const problemOf = (field: string) =>
    mine
      .filter((p) => p.field === field || p.field.startsWith(`${field}.`))
      .map((p) => p.reason)
      .join("; ") || null;
  const set = (patch: Partial<PipelineSpec>) => onChange({ ...spec, ...patch });
  const params = spec.params ?? {};
  const setParam = (name: string, p: PipelineParam | undefined) => {
    const next = { ...params };
    if (p) next[name] = p;
    else delete next[name];
    set({ params: next });
  };
  const text = (field: "name" | "title" | "description" | "owner" | "schedule", label: string, opts: { disabled?: boolean; placeholder?: string; multiline?: boolean } = {}) => (
    <div className="y-field">
      <label className="y-label" htmlFor={`y-set-${field}`}>
        {label}
      </label>
      {opts.multiline ? (
        <textarea
          id={`y-set-${field}`}
          className="y-input y-textarea"
          rows={3}
          value={(spec[field] as string | null | undefined) ?? ""}
          disabled={readOnly || opts.disabled}
          onChange={(e) => set({ [field]: e.target.value })}
          data-testid={`settings-${field}`}
        />
      ) : (
        <input
          id={`y-set-${field}`}
          className="y-input"
          value={(spec[field] as string | null | undefined) ?? ""}
          placeholder={opts.placeholder}
          disabled={readOnly || opts.disabled}
          aria-invalid={!!problemOf(field)}
          onChange={(e) => set({ [field]: field === "schedule" && e.target.value === "" ? null : e.target.value })}
          data-testid={`settings-${field}`}
        />
      )}
      <FieldError text={problemOf(field)} testId={`settings-problem-${field}`} />
    </div>
  );
  const newParamOk = /^[A-Za-z_][A-Za-z0-9_]*$/.test(newParam) && !(newParam in params);
  return (
    <div className="y-studio-panel" data-testid="studio-settings">
      <div className="y-form-grid">
        {text("name", st("name"), { disabled: !isNew, placeholder: "my_pipeline" })}
        {text("title", st("title"))}
        {text("owner", t("col.owner"), { placeholder: "ylai" })}
        {text("schedule", t("col.schedule"), { placeholder: st("schedulePlaceholder") })}
        <div className="y-field">
          <label className="y-label" htmlFor="y-set-tags">
            {t("col.tags")}
          </label>
          <input
            id="y-set-tags"
            className="y-input"
            value={(spec.tags ?? []).join(", ")}
            disabled={readOnly}
            onChange={(e) => set({ tags: e.target.value.split(",").map((s) => s.trim()).filter(Boolean) })}
            data-testid="settings-tags"
          />
        </div>
        <div className="y-field">
          <label className="y-label" htmlFor="y-set-retries">
            {st("retries")}
          </label>
          <input
            id="y-set-retries"
            className="y-input"
            type="number"
            min={0}
            max={20}
            value={spec.retries ?? ""}
            placeholder="1"
            disabled={readOnly}
            onChange={(e) => set({ retries: e.target.value === "" ? undefined : Number(e.target.value) })}
            data-testid="settings-retries"
          />
          <FieldError text={problemOf("retries")} />
        </div>
      </div>
      {text("description", st("description"), { multiline: true })}

      <h3 className="y-card-title">{st("pipelineParams")}</h3>
      <p className="y-help">{st("pipelineParamsHelp")}</p>
      {Object.entries(params).map(([name, p]) => (
        <div key={name} data-testid={`settings-param-${name}`}>
          <div className="y-param-row">
            <code>{name}</code>
            <select
              className="y-input"
              value={p.type ?? "string"}
              disabled={readOnly}
              aria-label={t("col.type")}
              onChange={(e) => setParam(name, { ...p, type: e.target.value })}
              data-testid={`settings-param-type-${name}`}
            >
              {PARAM_TYPES.map((ty) => (
                <option key={ty} value={ty}>
                  {ty}
                </option>
              ))}
            </select>
            <input
              className="y-input"
              value={defaultText(p.default)}
              placeholder={t("col.default")}
              aria-label={t("col.default")}
              disabled={readOnly}
              onChange={(e) => {
                const next = { ...p };
                const v = parseDefault(p.type ?? "string", e.target.value);
                if (v === undefined) delete next.default;
                else next.default = v;
                setParam(name, next);
              }}
              data-testid={`settings-param-default-${name}`}
            />
            <button type="button" className="y-btn y-btn-small" disabled={readOnly} onClick={() => setParam(name, undefined)} aria-label={t("common.delete")}>
              ✕
            </button>
          </div>
          <FieldError text={problemOf(`params.${name}`)} />
        </div>
      ))}
      <div className="y-row" style={{ marginBottom: 12 }}>
        <input className="y-input" value={newParam} placeholder={st("newParam")} disabled={readOnly} onChange={(e) => setNewParam(e.target.value)} data-testid="settings-new-param" />
        <button
          type="button"
          className="y-btn"
          disabled={readOnly || !newParamOk}
          onClick={() => {
            setParam(newParam, { type: "string" });
            setNewParam("");
          }}
          data-testid="settings-add-param"
        >
          {st("addParam")}
        </button>
      </div>
      <div className="y-field">
        <label className="y-label" htmlFor="y-set-alerts">
          {st("alerts")}
        </label>
        <textarea
          id="y-set-alerts"
          className="y-input y-textarea y-mono"
          rows={4}
          value={alertsText}
          placeholder='{"on_failure": ["slack:#data-alerts"]}'
          disabled={readOnly}
          aria-invalid={!!alertsError}
          onChange={(e) => {
            setAlertsText(e.target.value);
            if (!e.target.value.trim()) {
              setAlertsError(null);
              const next = { ...spec };
              delete next.alerts;
              onChange(next);
              return;
            }
            try {
              const parsed: unknown = JSON.parse(e.target.value);
              if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("object");
              setAlertsError(null);
              set({ alerts: parsed as PipelineSpec["alerts"] });
            } catch {
              setAlertsError(t("validation.json"));
            }
          }}
          data-testid="settings-alerts"
        />
        <div className="y-help">{st("alertsHelp")}</div>
        <FieldError text={alertsError ?? problemOf("alerts")} testId="settings-problem-alerts" />
      </div>
      {mine
        .filter((p) => !["name", "title", "schedule", "retries", "description", "owner", "alerts"].includes(p.field.split(".")[0]) && !p.field.startsWith("params."))
        .map((p, i) => (
          <FieldError key={i} text={`${p.field}: ${p.reason}`} />
        ))}
    </div>
  );
}
