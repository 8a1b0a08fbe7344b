import { useEffect, useState } from "react";
import { airflow, data, ylai } from "../api/client";
import { ApiError, type FieldProblem } from "../lib/api";
import { usePoll } from "../lib/hooks";
import { useDagRights, useMe } from "../lib/me";
import { Link, useNav } from "../lib/nav";
import { useParamForm } from "../lib/paramForm";
import { isKnownTarget, useRunTargets, useTargetSchema } from "../lib/runTargets";
import type { Schema } from "../lib/schema";
import { useI18n } from "../i18n";
import { ApprovalNote } from "../components/ApprovalNote";
import { BusyNote, isBusy } from "../components/BusyNote";
import { LogViewer } from "../components/LogViewer";
import { ParamForm, loadableValues } from "../components/ParamForm";
import { PresetManager } from "../components/PresetManager";
import { TraceLink } from "../components/TraceLink";
import { RunScriptVersion } from "../components/ScriptVersions";
import { Card, DisabledNote, Empty, ErrorBox, FieldError, Json, Loading, PageHeader, StateBadge } from "../components/ui";

/** Server field problems ("params.top", "body.params.top", "top") keyed by param name. */
export function fieldErrors(details: FieldProblem[], names: string[]): { fields: Record<string, string>; rest: FieldProblem[] } {
  const fields: Record<string, string> = {};
  const rest: FieldProblem[] = [];
  for (const d of details) {
    const parts = d.field.split(".");
    const name = parts.find((p) => names.includes(p));
    if (name) fields[name] = d.reason;
    else rest.push(d);
  }
  return { fields, rest };
}

interface Following {
  dagId: string;
  runId: string;
  /** Known when ylai started the run (its answer); read from GET /runs/{dag_id}/{run_id} otherwise. */
  traceId?: string | null;
}

export function Run() {
  const i = useI18n();
  const { t } = i;
  const nav = useNav();
  const [dagId, setDagId] = useState<string>(nav.search.get("dag_id") ?? "");
  const runParam = nav.search.get("run_id");
  const [following, setFollowing] = useState<Following | null>(runParam && dagId ? { dagId, runId: runParam } : null);
  const targets = useRunTargets();
  const script = targets.data?.scripts.find((s) => s.dag_id === dagId) ?? null;
  const { schema, details } = useTargetSchema(dagId, script);
  const form = useParamForm(schema);
  const [runError, setRunError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  // The preset the form's values came from: the run names it (usage statistics count presets used).
  const [presetId, setPresetId] = useState<number | null>(null);

  useEffect(() => {
    form.reset();
    setRunError(null);
    setNotice(null);
    setPresetId(null);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [dagId]);

  const { conf, problems, errors } = form;
  const rights = useDagRights(dagId);
  const canRun = rights?.run ?? false;

  const fill = (source: Record<string, unknown> | null | undefined, label: string, fromPreset: number | null = null) => {
    if (!schema) return;
    setPresetId(fromPreset);
    const { values: loaded, skippedSecrets } = loadableValues(schema, source);
    form.load(loaded, Object.keys(loaded));
    setNotice(skippedSecrets.length ? t("run.loadedSkipped", { source: label, names: skippedSecrets.join(", ") }) : t("run.loaded", { source: label }));
  };

  const launch = async () => {
    form.setAttempted(true);
    setRunError(null);
    form.setServerErrors({});
    if (!schema || Object.keys(problems).length) return;
    setBusy(true);
    try {
      let runId: string;
      let traceId: string | null | undefined;
      if (script) {
        const run = await data(ylai.POST("/api/v1/scripts/{name}/run", { params: { path: { name: script.name } }, body: { params: conf, ...(presetId ? { preset_id: presetId } : {}) } }));
        runId = run.run_id;
        traceId = run.trace_id ?? null;
      } else {
        const run = await data(airflow.POST("/api/v2/dags/{dag_id}/dagRuns", { params: { path: { dag_id: dagId } }, body: { logical_date: null, conf } }));
        runId = run.dag_run_id;
      }
      setFollowing({ dagId, runId, traceId });
    } catch (err) {
      if (err instanceof ApiError) {
        const { fields, rest } = fieldErrors(err.details, Object.keys(schema.properties ?? {}));
        form.setServerErrors(fields);
        if (!Object.keys(fields).length || rest.length) setRunError(err);
      } else {
        setRunError(err);
      }
    } finally {
      setBusy(false);
    }
  };

  const scripts = targets.data?.scripts ?? [];
  const pipelines = targets.data?.pipelines ?? [];
  const others = targets.data?.others ?? [];
  const known = isKnownTarget(targets.data, dagId);

  return (
    <div data-testid="page-run">
      <PageHeader title={t("run.title")} subtitle={t("run.subtitle")} />
      {targets.error ? <ErrorBox error={targets.error} /> : null}
      <div className="y-split">
        <div className="y-col">
          <Card title={t("run.target")}>
            <label className="y-label" htmlFor="y-target">
              {t("run.pick")}
            </label>
            <select id="y-target" className="y-input" value={dagId} onChange={(e) => setDagId(e.target.value)} data-testid="target-select">
              <option value="">{targets.loading && !targets.data ? t("common.loading") : t("run.pickPlaceholder")}</option>
              {scripts.length ? (
                <optgroup label={t("run.scripts")}>
                  {scripts.map((s) => (
                    <option key={s.dag_id} value={s.dag_id}>
                      {s.title && s.title !== s.name ? `${s.title} (${s.name})` : s.name}
                    </option>
                  ))}
                </optgroup>
              ) : null}
              {pipelines.length ? (
                <optgroup label={t("run.pipelines")}>
                  {pipelines.map((d) => (
                    <option key={d.dag_id} value={d.dag_id}>
                      {d.name}
                    </option>
                  ))}
                </optgroup>
              ) : null}
              {others.length ? (
                <optgroup label={t("run.otherDags")}>
                  {others.map((d) => (
                    <option key={d.dag_id} value={d.dag_id}>
                      {d.dag_display_name ?? d.dag_id}
                    </option>
                  ))}
                </optgroup>
              ) : null}
              {!known ? <option value={dagId}>{dagId}</option> : null}
            </select>
            {script ? <p className="y-muted">{script.description}</p> : null}
            {details.data?.description ? <p className="y-muted">{details.data.description}</p> : null}
          </Card>

          {dagId ? (
            <Card title={t("run.params")} testId="params-card">
              {details.error ? <ErrorBox error={details.error} /> : null}
              {!schema && !details.error ? <Loading /> : null}
              {schema ? (
                <>
                  <Helpers dagId={dagId} schema={schema} conf={conf} onFill={fill} />
                  {notice ? (
                    <p className="y-note" data-testid="fill-notice">
                      {notice}
                    </p>
                  ) : null}
                  <form
                    noValidate
                    onSubmit={(e) => {
                      e.preventDefault();
                      void launch();
                    }}
                  >
                    <ParamForm schema={schema} values={form.values} onChange={form.change} errors={errors} dagId={dagId} />
                    {isBusy(runError) ? <BusyNote error={runError} /> : <ErrorBox error={runError} testId="run-error" />}
                    {form.attempted && Object.keys(problems).length ? <FieldError text={t("run.fixErrors")} testId="form-invalid" /> : null}
                    <DisabledNote show={rights !== undefined && !canRun} text={t("perm.noRun")} testId="run-permission" />
                    <div className="y-row">
                      <button type="submit" className="y-btn y-btn-primary" disabled={busy || !canRun} data-testid="run-button" title={canRun ? undefined : t("perm.noRun")}>
                        {busy ? t("run.starting") : t("run.run")}
                      </button>
                    </div>
                  </form>
                  <details className="y-details" open>
                    <summary>{t("run.preview")}</summary>
                    <Json value={conf} testId="conf-preview" />
                  </details>
                </>
              ) : null}
            </Card>
          ) : (
            <Empty>{t("run.pickFirst")}</Empty>
          )}
        </div>

        <div className="y-col">
          {following ? (
            <Follow key={`${following.dagId}/${following.runId}`} following={following} />
          ) : (
            <Card title={t("run.progress")}>
              <Empty>{t("run.notStarted")}</Empty>
            </Card>
          )}
        </div>
      </div>
    </div>
  );
}

/** Presets (load and save) and "copy params from a previous run". */
function Helpers({ dagId, schema, conf, onFill }: { dagId: string; schema: Schema; conf: Record<string, unknown>; onFill: (v: Record<string, unknown>, label: string, presetId?: number) => void }) {
  const { t, dateTime } = useI18n();
  const me = useMe();
  const presets = usePoll((signal) => data(ylai.GET("/api/v1/presets", { params: { query: { dag_id: dagId, limit: 200 } }, signal })), [dagId]);
  const runs = usePoll(
    (signal) => data(airflow.GET("/api/v2/dags/{dag_id}/dagRuns", { params: { path: { dag_id: dagId }, query: { order_by: ["-run_after"], limit: 10 } }, signal })),
    [dagId],
  );
  const [name, setName] = useState("");
  const [share, setShare] = useState("");
  const [saveError, setSaveError] = useState<unknown>(null);
  const [nameError, setNameError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const canSave = me.can("presets", "create");

  const save = async () => {
    setSaveError(null);
    setNameError(null);
    setSaved(null);
    if (!name.trim()) {
      setNameError(t("validation.required"));
      return;
    }
    try {
      const p = await data(ylai.POST("/api/v1/presets", { body: { name: name.trim(), dag_id: dagId, params: conf, shared_with_role: share || null } }));
      setSaved(t("preset.saved", { name: p.name }));
      setName("");
      presets.refresh();
    } catch (err) {
      if (err instanceof ApiError && err.details.some((d) => d.field.endsWith("name"))) {
        setNameError(err.details.find((d) => d.field.endsWith("name"))?.reason ?? err.message);
      } else {
        setSaveError(err);
      }
    }
  };

  const items = presets.data?.items ?? [];
  const prev = (runs.data?.dag_runs ?? []).filter((r) => r.conf && Object.keys(r.conf).length);
  return (
    <div className="y-helpers">
      <div className="y-row y-wrap">
        <label className="y-label" htmlFor="y-preset">
          {t("preset.load")}
        </label>
        <select
          id="y-preset"
          className="y-input y-grow"
          value=""
          data-testid="preset-select"
          onChange={(e) => {
            const p = items.find((x) => String(x.id) === e.target.value);
            if (p) onFill(p.params, t("preset.source", { name: p.name }), p.id);
          }}
        >
          <option value="">{items.length ? t("preset.choose", { n: items.length }) : t("preset.none")}</option>
          {items.map((p) => (
            <option key={p.id} value={String(p.id)}>
              {p.name} · {p.visibility === "shared" ? t("preset.sharedWith", { role: p.shared_with_role ?? "" }) : t("preset.private")}
              {p.owner !== me.username ? ` · ${p.owner}` : ""}
            </option>
          ))}
        </select>
        <label className="y-label" htmlFor="y-prev">
          {t("run.copyFrom")}
        </label>
        <select
          id="y-prev"
          className="y-input y-grow"
          value=""
          data-testid="previous-run-select"
          onChange={(e) => {
            const r = prev.find((x) => x.dag_run_id === e.target.value);
            if (r) onFill(r.conf ?? {}, t("run.copySource", { run: r.dag_run_id }));
          }}
        >
          <option value="">{prev.length ? t("run.copyChoose", { n: prev.length }) : t("run.copyNone")}</option>
          {prev.map((r) => (
            <option key={r.dag_run_id} value={r.dag_run_id}>
              {dateTime(r.run_after)} · {r.triggering_user_name ?? "—"} · {r.state}
            </option>
          ))}
        </select>
      </div>
      <details className="y-details" data-testid="save-preset">
        <summary>{t("preset.saveTitle")}</summary>
        <div className="y-row y-wrap">
          <input
            className="y-input y-grow"
            placeholder={t("preset.namePlaceholder")}
            aria-label={t("preset.name")}
            value={name}
            disabled={!canSave}
            onChange={(e) => setName(e.target.value)}
            data-testid="preset-name"
          />
          <select className="y-input" aria-label={t("preset.visibility")} value={share} onChange={(e) => setShare(e.target.value)} disabled={!canSave} data-testid="preset-share">
            <option value="">{t("preset.private")}</option>
            {(me.roles.length ? me.roles : ["Viewer", "User", "Op", "Admin"]).map((r) => (
              <option key={r} value={r}>
                {t("preset.sharedWith", { role: r })}
              </option>
            ))}
          </select>
          <button type="button" className="y-btn" onClick={() => void save()} disabled={!canSave} data-testid="preset-save" title={canSave ? undefined : t("perm.noPreset")}>
            {t("preset.save")}
          </button>
        </div>
        <FieldError text={nameError} testId="preset-name-error" />
        <ErrorBox error={saveError} />
        <DisabledNote show={me.loaded && !canSave} text={t("perm.noPreset")} testId="preset-permission" />
        {saved ? <p className="y-note">{saved}</p> : null}
        {schema.properties && Object.values(schema.properties).some((p) => p["x-ylai-secret"]) ? <p className="y-muted y-small">{t("preset.secretNote")}</p> : null}
      </details>
      <PresetManager presets={items} schema={schema} conf={conf} onChanged={presets.refresh} />
    </div>
  );
}

/** The run's live view: task states, streaming logs, then its outputs. */
function Follow({ following }: { following: Following }) {
  const { t } = useI18n();
  const { dagId, runId, traceId } = following;
  const [ended, setEnded] = useState<string | null | undefined>(undefined);
  const [results, setResults] = useState<{ task_id: string; value: unknown }[] | null>(null);
  const [resultError, setResultError] = useState<unknown>(null);

  const onEnd = (state: string | null) => {
    setEnded(state);
    const run = { dag_id: dagId, dag_run_id: runId };
    data(airflow.GET("/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/xcomEntries", { params: { path: { ...run, task_id: "~" }, query: { xcom_key: "return_value", limit: 50 } } }))
      .then((list) =>
        Promise.all(
          list.xcom_entries
            .filter((x) => x.key === "return_value")
            .map((x) =>
              data(
                airflow.GET("/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/xcomEntries/{xcom_key}", {
                  params: { path: { ...run, task_id: x.task_id, xcom_key: "return_value" }, query: { deserialize: true, map_index: x.map_index >= 0 ? x.map_index : undefined } },
                }),
              ).then((v) => ({ task_id: x.task_id, value: v.value })),
            ),
        ),
      )
      .then(setResults, setResultError);
  };

  return (
    <Card title={t("run.progress")} testId="follow">
      <p className="y-small">
        <code data-testid="followed-run">{runId}</code> · <Link to={`dags/${encodeURIComponent(dagId)}/runs/${encodeURIComponent(runId)}`}>{t("overview.openRun")}</Link>{" "}
        <TraceLink dagId={dagId} runId={runId} traceId={traceId} />
      </p>
      <ApprovalNote dagId={dagId} runId={runId} />
      <RunScriptVersion dagId={dagId} runId={runId} ended={ended !== undefined} />
      <LogViewer dagId={dagId} runId={runId} onEnd={onEnd} />
      {ended !== undefined ? (
        <div className="y-result" data-testid="run-result">
          <h3 className="y-card-title">
            {t("run.result")} <StateBadge state={ended} />
          </h3>
          <ErrorBox error={resultError} />
          {results === null && !resultError ? <Loading /> : null}
          {results && results.length === 0 ? <p className="y-muted">{t("run.noOutputs")}</p> : null}
          {results?.map((r) => <Outputs key={r.task_id} taskId={r.task_id} value={r.value} />)}
        </div>
      ) : null}
    </Card>
  );
}

function Outputs({ taskId, value }: { taskId: string; value: unknown }) {
  const { t } = useI18n();
  const outputs = value && typeof value === "object" && "outputs" in value ? (value as { outputs: unknown }).outputs : null;
  return (
    <div className="y-output" data-testid={`output-${taskId}`}>
      <div className="y-small">
        <code>{taskId}</code>
      </div>
      {outputs && typeof outputs === "object" ? (
        <table className="y-table y-table-compact">
          <tbody>
            {Object.entries(outputs as Record<string, unknown>).map(([k, v]) => (
              <tr key={k}>
                <th>{k}</th>
                <td className="y-mono">{typeof v === "string" ? v : JSON.stringify(v)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <details className="y-details">
        <summary>{t("run.rawResult")}</summary>
        <Json value={value} />
      </details>
    </div>
  );
}
