import { useState } from "react";
import { ylai } from "../api/client";
import { scriptInRuntimeValues } from "../../generated/ylai";
import { ApiError, qs, showFailure } from "../lib/api";
import { useMe } from "../lib/me";
import { Link, pagePath, useNav } from "../lib/nav";
import { useI18n } from "../i18n";
import { Card, DisabledNote, ErrorBox, FieldError, PageHeader } from "../components/ui";

/** The server's rule for script names (api/scripts.py ScriptIn.name). */
export const SCRIPT_NAME = /^[a-z][a-z0-9_]{0,62}$/;
export const RUNTIMES = scriptInRuntimeValues;
type Runtime = (typeof RUNTIMES)[number];

const PYTHON_EXAMPLE = `import json
import os

# Parameters arrive as JSON in $YLAI_PARAMS_FILE; outputs go to $YLAI_RESULT_FILE.
with open(os.environ["YLAI_PARAMS_FILE"]) as f:
    params = json.load(f)
print("hello", params.get("who", "world"))
with open(os.environ["YLAI_RESULT_FILE"], "w") as f:
    json.dump({"greeting": "hello " + params.get("who", "world")}, f)
`;

const SHELL_EXAMPLE = `#!/usr/bin/env bash
set -euo pipefail
# Parameters arrive as JSON in $YLAI_PARAMS_FILE; outputs go to $YLAI_RESULT_FILE.
echo "params: $(cat "$YLAI_PARAMS_FILE")"
echo '{"greeting": "hello"}' > "$YLAI_RESULT_FILE"
`;

export const EXAMPLES: Record<Runtime, string> = { python: PYTHON_EXAMPLE, bash: SHELL_EXAMPLE, executable: SHELL_EXAMPLE };

export const MANIFEST_EXAMPLE = `{
  "title": "Greeter",
  "description": "Says hello.",
  "owner": "data-team",
  "tags": ["example"],
  "params": {
    "who": {"type": "string", "default": "world", "maxLength": 40}
  },
  "outputs": {
    "greeting": {"type": "string"}
  },
  "timeout": "10m",
  "retries": 1
}`;

export type ScriptField = "name" | "runtime" | "content" | "manifest" | "comment";

/** Client checks that mirror the server's (a 422 still decides). */
export function checkScript(input: { name: string; content: string; manifest: string }, t: ReturnType<typeof useI18n>["t"]): Partial<Record<ScriptField, string>> {
  const out: Partial<Record<ScriptField, string>> = {};
  if (!input.name) out.name = t("validation.required");
  else if (!SCRIPT_NAME.test(input.name)) out.name = t("scriptNew.nameRule");
  if (!input.content.trim()) out.content = t("validation.required");
  if (input.manifest.trim()) {
    try {
      const v: unknown = JSON.parse(input.manifest);
      if (!v || typeof v !== "object" || Array.isArray(v)) out.manifest = t("scriptNew.manifestObject");
    } catch {
      out.manifest = t("validation.json");
    }
  }
  return out;
}

/** Server problems ("body.manifest.params.who.type") keyed by form field; manifest paths kept. */
export function scriptFieldErrors(details: { field: string; reason: string }[]): Partial<Record<ScriptField, string>> {
  const out: Partial<Record<ScriptField, string>> = {};
  for (const d of details) {
    const path = d.field.replace(/^body\./, "");
    const head = path.split(".")[0] as ScriptField;
    if (head === "manifest") {
      const sub = path.slice("manifest".length).replace(/^\./, "");
      const text = sub ? `${sub}: ${d.reason}` : d.reason;
      out.manifest = out.manifest ? `${out.manifest}\n${text}` : text;
    } else if (["name", "runtime", "content", "comment"].includes(head)) {
      out[head] = d.reason;
    }
  }
  return out;
}

export function ScriptCreate() {
  const { t } = useI18n();
  const me = useMe();
  const nav = useNav();
  const [name, setName] = useState("");
  const [runtime, setRuntime] = useState<Runtime>("python");
  const [content, setContent] = useState(EXAMPLES.python);
  const [manifest, setManifest] = useState(MANIFEST_EXAMPLE);
  const [comment, setComment] = useState("");
  const [errors, setErrors] = useState<Partial<Record<ScriptField, string>>>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const canCreate = me.can("scripts", "create");

  const changeRuntime = (next: Runtime) => {
    // Swap the example along with the runtime, but never a script the user has written.
    if (content === EXAMPLES[runtime]) setContent(EXAMPLES[next]);
    setRuntime(next);
  };

  const save = async () => {
    setError(null);
    const local = checkScript({ name, content, manifest }, t);
    setErrors(local);
    if (Object.keys(local).length) return;
    setBusy(true);
    try {
      await ylai.POST("/api/v1/scripts", {
        body: {
        name,
        runtime,
        content,
        manifest: manifest.trim() ? (JSON.parse(manifest) as Record<string, unknown>) : {},
        comment,
        },
      });
      nav.go(pagePath("scripts", qs({ name, created: 1 })));
    } catch (err) {
      const fields = !(err instanceof ApiError) ? null : err.status === 409 ? { name: err.message } : err.details.length ? scriptFieldErrors(err.details) : null;
      showFailure(err, fields, setErrors, setError);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div data-testid="page-scripts">
      <PageHeader
        title={t("scriptNew.title")}
        subtitle={t("scriptNew.subtitle")}
        actions={
          <Link to={pagePath("scripts")} className="y-btn">
            {t("common.back")}
          </Link>
        }
      />
      <DisabledNote show={me.loaded && !canCreate} text={t("perm.noScriptCreate")} testId="script-permission" />
      <form
        noValidate
        data-testid="script-form"
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <div className="y-split">
          <div className="y-col">
            <Card title={t("scriptNew.basics")}>
              <div className="y-field">
                <label className="y-label" htmlFor="y-script-name">
                  {t("col.name")} <span className="y-required">*</span>
                </label>
                <input id="y-script-name" className="y-input y-mono" value={name} disabled={!canCreate} aria-invalid={errors.name ? true : undefined} onChange={(e) => setName(e.target.value)} placeholder="hello_world" data-testid="script-name" />
                <span className="y-help">{t("scriptNew.nameRule")}</span>
                <FieldError text={errors.name} testId="script-name-error" />
              </div>
              <div className="y-field">
                <label className="y-label" htmlFor="y-script-runtime">
                  {t("col.runtime")}
                </label>
                <select id="y-script-runtime" className="y-input" value={runtime} disabled={!canCreate} onChange={(e) => changeRuntime(e.target.value as Runtime)} data-testid="script-runtime">
                  {RUNTIMES.map((r) => (
                    <option key={r} value={r}>
                      {r}
                    </option>
                  ))}
                </select>
                <FieldError text={errors.runtime} testId="script-runtime-error" />
              </div>
              <div className="y-field">
                <label className="y-label" htmlFor="y-script-content">
                  {t("scriptNew.content")} <span className="y-required">*</span>
                </label>
                <textarea id="y-script-content" className="y-input y-textarea y-mono" rows={14} spellCheck={false} value={content} disabled={!canCreate} aria-invalid={errors.content ? true : undefined} onChange={(e) => setContent(e.target.value)} data-testid="script-content" />
                <FieldError text={errors.content} testId="script-content-error" />
              </div>
            </Card>
          </div>
          <div className="y-col">
            <Card title={t("scriptNew.manifest")}>
              <div className="y-field">
                <label className="y-label" htmlFor="y-script-manifest">
                  {t("scriptNew.manifestLabel")}
                </label>
                <textarea id="y-script-manifest" className="y-input y-textarea y-mono" rows={16} spellCheck={false} value={manifest} disabled={!canCreate} aria-invalid={errors.manifest ? true : undefined} onChange={(e) => setManifest(e.target.value)} data-testid="script-manifest" />
                <span className="y-help">{t("scriptNew.manifestHelp")}</span>
                <FieldError text={errors.manifest} testId="script-manifest-error" />
              </div>
              <div className="y-field">
                <label className="y-label" htmlFor="y-script-comment">
                  {t("scriptNew.comment")}
                </label>
                <input id="y-script-comment" className="y-input" value={comment} disabled={!canCreate} onChange={(e) => setComment(e.target.value)} data-testid="script-comment" />
                <FieldError text={errors.comment} />
              </div>
            </Card>
          </div>
        </div>
        <ErrorBox error={error} testId="script-error" />
        <div className="y-row">
          <button type="submit" className="y-btn y-btn-primary" disabled={busy || !canCreate} title={canCreate ? undefined : t("perm.noScriptCreate")} data-testid="script-save">
            {busy ? t("common.saving") : t("scriptNew.create")}
          </button>
        </div>
      </form>
    </div>
  );
}
