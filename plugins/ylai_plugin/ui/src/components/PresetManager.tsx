import { useState } from "react";
import { data, ylai, type Schemas } from "../api/client";
import type { Preset } from "../api/models";
import { ApiError, showFailure } from "../lib/api";
import { useMe } from "../lib/me";
import { validateValue, type Schema } from "../lib/schema";
import { useI18n } from "../i18n";
import { problemText } from "./ParamForm";
import { DisabledNote, ErrorBox, FieldError } from "./ui";

/** The server's rule for preset names (api/presets.py NAME_PATTERN). */
export const PRESET_NAME = /^[A-Za-z0-9][A-Za-z0-9 _.()-]{0,127}$/;

const FALLBACK_ROLES = ["Viewer", "User", "Op", "Admin"];

/** What the caller may do with one preset, and why not. */
export function presetRights(p: Preset, can: (a: "edit" | "delete") => boolean): { edit: string | null; delete: string | null } {
  const reason = (action: "edit" | "delete") => {
    if (!can(action)) return action === "edit" ? "perm.noPresetEdit" : "perm.noPresetDelete";
    if (!p.editable) return "perm.presetNotOwner";
    return null;
  };
  return { edit: reason("edit"), delete: reason("delete") };
}

/** The server's field problems of a preset change, by field of the editor. */
function editErrors(err: ApiError): EditErrors {
  const mapped: EditErrors = {};
  for (const d of err.details) {
    if (d.field.endsWith("name")) mapped.name = d.reason;
    else if (d.field.includes("params")) mapped.params = `${d.field.replace(/^body\./, "")}: ${d.reason}`;
    else if (d.field.endsWith("shared_with_role")) mapped.share = d.reason;
    else if (d.field.endsWith("description")) mapped.description = d.reason;
  }
  if (err.status === 409) mapped.name = err.message;
  return mapped;
}

/** Edit (rename, description, params, visibility) and delete the presets of one DAG. */
export function PresetManager({ presets, schema, conf, onChanged }: { presets: Preset[]; schema: Schema; conf: Record<string, unknown>; onChanged: () => void }) {
  const { t } = useI18n();
  const me = useMe();
  const [editing, setEditing] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  const can = (a: "edit" | "delete") => me.can("presets", a);

  const remove = async (p: Preset) => {
    setError(null);
    setDone(null);
    if (!window.confirm(t("preset.confirmDelete", { name: p.name }))) return;
    try {
      await ylai.DELETE("/api/v1/presets/{preset_id}", { params: { path: { preset_id: p.id } } });
      setDone(t("preset.deleted", { name: p.name }));
      if (editing === p.id) setEditing(null);
      onChanged();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <details className="y-details" data-testid="manage-presets">
      <summary>{t("preset.manage", { n: presets.length })}</summary>
      <DisabledNote show={me.loaded && !can("edit") && !can("delete")} text={t("perm.noPresetChange")} testId="preset-manage-permission" />
      {presets.length === 0 ? <p className="y-muted">{t("preset.none")}</p> : null}
      {presets.length ? (
        <table className="y-table y-table-compact" data-testid="preset-table">
          <thead>
            <tr>
              <th>{t("col.name")}</th>
              <th>{t("preset.visibility")}</th>
              <th>{t("col.owner")}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {presets.map((p) => {
              const rights = presetRights(p, can);
              return (
                <tr key={p.id} data-testid={`preset-row-${p.id}`}>
                  <td>
                    {p.name}
                    {p.description ? <div className="y-muted y-small">{p.description}</div> : null}
                  </td>
                  <td>{p.visibility === "shared" ? t("preset.sharedWith", { role: p.shared_with_role ?? "" }) : t("preset.private")}</td>
                  <td>{p.owner}</td>
                  <td className="y-nowrap">
                    <button
                      type="button"
                      className="y-btn y-btn-small"
                      disabled={rights.edit !== null}
                      title={rights.edit ? t(rights.edit as "perm.noPresetEdit") : undefined}
                      onClick={() => {
                        setDone(null);
                        setEditing(editing === p.id ? null : p.id);
                      }}
                      data-testid={`preset-edit-${p.id}`}
                    >
                      {t("common.edit")}
                    </button>{" "}
                    <button
                      type="button"
                      className="y-btn y-btn-small y-btn-danger"
                      disabled={rights.delete !== null}
                      title={rights.delete ? t(rights.delete as "perm.noPresetDelete") : undefined}
                      onClick={() => void remove(p)}
                      data-testid={`preset-delete-${p.id}`}
                    >
                      {t("common.delete")}
                    </button>
                    {me.loaded && (can("edit") || can("delete")) && !p.editable ? <div className="y-muted y-small">{t("perm.presetNotOwner")}</div> : null}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
      <ErrorBox error={error} testId="preset-manage-error" />
      {done ? (
        <p className="y-note" data-testid="preset-manage-done">
          {done}
        </p>
      ) : null}
      {presets
        .filter((p) => p.id === editing)
        .map((p) => (
          <PresetEditor
            key={p.id}
            preset={p}
            schema={schema}
            conf={conf}
            roles={me.roles.length ? me.roles : FALLBACK_ROLES}
            onCancel={() => setEditing(null)}
            onSaved={(saved) => {
              setEditing(null);
              setDone(t("preset.updated", { name: saved.name }));
              onChanged();
            }}
          />
        ))}
    </details>
  );
}

type EditErrors = Partial<Record<"name" | "description" | "params" | "share", string>>;

/** Parse the params editor; problems are checked per parameter against the schema. */
export function parsePresetParams(text: string, schema: Schema, t: ReturnType<typeof useI18n>["t"]): { value?: Record<string, unknown>; error?: string } {
  let value: unknown;
  try {
    value = JSON.parse(text || "{}");
  } catch {
    return { error: t("validation.json") };
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) return { error: t("preset.paramsObject") };
  const props = schema.properties ?? {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const prop = props[k];
    if (!prop) return { error: t("preset.unknownParam", { name: k }) };
    if (v === "***" && prop["x-ylai-secret"]) continue; // the masked stored secret, sent back unchanged
    const problem = validateValue(prop, v);
    if (problem) return { error: `${k}: ${problemText(t, problem)}` };
  }
  return { value: value as Record<string, unknown> };
}

function PresetEditor({
  preset,
  schema,
  conf,
  roles,
  onCancel,
  onSaved,
}: {
  preset: Preset;
  schema: Schema;
  conf: Record<string, unknown>;
  roles: string[];
  onCancel: () => void;
  onSaved: (p: Preset) => void;
}) {
  const { t } = useI18n();
  const original = JSON.stringify(preset.params, null, 2);
  const [name, setName] = useState(preset.name);
  const [description, setDescription] = useState(preset.description ?? "");
  const [share, setShare] = useState(preset.shared_with_role ?? "");
  const [params, setParams] = useState(original);
  const [errors, setErrors] = useState<EditErrors>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const roleChoices = preset.shared_with_role && !roles.includes(preset.shared_with_role) ? [...roles, preset.shared_with_role] : roles;
  const hasSecrets = Object.values(schema.properties ?? {}).some((p) => p["x-ylai-secret"]);

  const save = async () => {
    setError(null);
    const next: EditErrors = {};
    if (!name.trim()) next.name = t("validation.required");
    else if (!PRESET_NAME.test(name.trim())) next.name = t("preset.nameRule");
    const parsed = params === original ? { value: preset.params } : parsePresetParams(params, schema, t);
    if (parsed.error) next.params = parsed.error;
    setErrors(next);
    if (Object.keys(next).length) return;
    const body: Schemas["PresetPatch"] = {};
    if (name.trim() !== preset.name) body.name = name.trim();
    if (description !== (preset.description ?? "")) body.description = description;
    if ((share || null) !== preset.shared_with_role) body.shared_with_role = share || null;
    // Unchanged params are not sent: they may hold masked secrets ("***") the server keeps.
    if (params !== original) body.params = parsed.value;
    if (!Object.keys(body).length) {
      onCancel();
      return;
    }
    setBusy(true);
    try {
      onSaved(await data(ylai.PATCH("/api/v1/presets/{preset_id}", { params: { path: { preset_id: preset.id } }, body })));
    } catch (err) {
      showFailure(err, err instanceof ApiError && (err.details.length || err.status === 409) ? editErrors(err) : null, setErrors, setError);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      className="y-card"
      data-testid="preset-editor"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <h3 className="y-card-title">{t("preset.editTitle", { name: preset.name })}</h3>
      <div className="y-field">
        <label className="y-label" htmlFor="y-preset-edit-name">
          {t("preset.name")}
        </label>
        <input id="y-preset-edit-name" className="y-input" value={name} aria-invalid={errors.name ? true : undefined} onChange={(e) => setName(e.target.value)} data-testid="preset-edit-name" />
        <FieldError text={errors.name} testId="preset-edit-name-error" />
      </div>
      <div className="y-field">
        <label className="y-label" htmlFor="y-preset-edit-description">
          {t("preset.description")}
        </label>
        <input id="y-preset-edit-description" className="y-input" value={description} onChange={(e) => setDescription(e.target.value)} data-testid="preset-edit-description" />
        <FieldError text={errors.description} />
      </div>
      <div className="y-field">
        <label className="y-label" htmlFor="y-preset-edit-share">
          {t("preset.visibility")}
        </label>
        <select id="y-preset-edit-share" className="y-input" value={share} onChange={(e) => setShare(e.target.value)} data-testid="preset-edit-share">
          <option value="">{t("preset.private")}</option>
          {roleChoices.map((r) => (
            <option key={r} value={r}>
              {t("preset.sharedWith", { role: r })}
            </option>
          ))}
        </select>
        <FieldError text={errors.share} testId="preset-edit-share-error" />
      </div>
      <div className="y-field">
        <label className="y-label" htmlFor="y-preset-edit-params">
          {t("preset.params")}
        </label>
        <textarea
          id="y-preset-edit-params"
          className="y-input y-textarea y-mono"
          rows={6}
          spellCheck={false}
          value={params}
          aria-invalid={errors.params ? true : undefined}
          onChange={(e) => setParams(e.target.value)}
          data-testid="preset-edit-params"
        />
        <div className="y-row y-wrap">
          <button type="button" className="y-btn y-btn-small" onClick={() => setParams(JSON.stringify(conf, null, 2))} data-testid="preset-edit-use-form">
            {t("preset.useForm")}
          </button>
          {hasSecrets ? <span className="y-help">{t("preset.secretKept")}</span> : null}
        </div>
        <FieldError text={errors.params} testId="preset-edit-params-error" />
      </div>
      <ErrorBox error={error} testId="preset-edit-error" />
      <div className="y-row">
        <button type="submit" className="y-btn y-btn-primary" disabled={busy} data-testid="preset-edit-save">
          {busy ? t("common.saving") : t("common.save")}
        </button>
        <button type="button" className="y-btn" onClick={onCancel}>
          {t("common.cancel")}
        </button>
      </div>
    </form>
  );
}
