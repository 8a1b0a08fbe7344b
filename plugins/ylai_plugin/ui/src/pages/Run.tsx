import { useEffect, useMemo, useState } from "react";
import { ApiError, enc, get, post, qs, type FieldProblem } from "../lib/api";
import { usePoll } from "../lib/hooks";
import { useDagRights, useMe } from "../lib/me";
import { Link, useNav } from "../lib/nav";
import { confOf, schemaFromDagParams, validateParams, type Problem, type Schema } from "../lib/schema";
import type { Dag, DagDetails, DagRunList, Page, Preset, RunOut, Script } from "../lib/types";
import { useI18n } from "../i18n";
import { LogViewer } from "../components/LogViewer";
import { ParamForm, loadableValues, problemText, type Values } from "../components/ParamForm";
import { PresetManager } from "../components/PresetManager";
import { Card, DisabledNote, Empty, ErrorBox, FieldError, Json, Loading, PageHeader, StateBadge } from "../components/ui";

export function scriptName(dagId: string): string | null {
  return dagId.startsWith("script__") ? dagId.slice("script__".length) : null;
}

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
}

async function loadTargets(signal: AbortSignal): Promise<{ scripts: Script[]; dags: Dag[] }> {
  const [scripts, dags] = await Promise.all([
    get<Page<Script>>("ylai/api/v1/scripts?limit=500", signal),
    get<{ dags: Dag[] }>("api/v2/dags?limit=500&exclude_stale=true&order_by=dag_id", signal).catch(() => ({ dags: [] as Dag[] })),
  ]);
  return { scripts: scripts.items, dags: dags.dags.filter((d) => !d.dag_id.startsWith("script__") && !d.dag_id.startsWith("task__")) };
}

export function Run() {
  const i = useI18n();
  const { t } = i;
  const nav = useNav();
  const [dagId, setDagId] = useState<string>(nav.search.get("dag_id") ?? "");
  const runParam = nav.search.get("run_id");
  const [following, setFollowing] = useState<Following | null>(runParam && dagId ? { dagId, runId: runParam } : null);
  const targets = usePoll(loadTargets, []);
  const script = targets.data?.scripts.find((s) => s.dag_id === dagId) ?? null;
  const details = usePoll(
    (signal) => (dagId && !scriptName(dagId) ? get<DagDetails>(`api/v2/dags/${enc(dagId)}/details`, signal) : Promise.resolve(null)),
    [dagId],
  );
  const schema: Schema | null = useMemo(() => {
    if (!dagId) return null;
    if (scriptName(dagId)) return script ? script.params_schema : null;
    return details.data ? schemaFromDagParams(details.data.params) : null;
  }, [dagId, script, details.data]);

  const [values, setValues] = useState<Values>({});
  const [parseProblems, setParseProblems] = useState<Record<string, Problem>>({});
  const [touched, setTouched] = useState<Set<string>>(new Set());
  const [attempted, setAttempted] = useState(false);
  const [serverErrors, setServerErrors] = useState<Record<string, string>>({});
  const [runError, setRunError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    setValues({});
    setParseProblems({});
    setTouched(new Set());
    setAttempted(false);
    setServerErrors({});
    setRunError(null);
    setNotice(null);
  }, [dagId]);

  const problems = useMemo(() => (schema ? { ...validateParams(schema, values), ...parseProblems } : {}), [schema, values, parseProblems]);
  const errors: Record<string, string> = {};
  for (const [name, p] of Object.entries(problems)) if (attempted || touched.has(name)) errors[name] = problemText(t, p);
  for (const [name, text] of Object.entries(serverErrors)) errors[name] ??= text;

  const conf = confOf(values);
  const rights = useDagRights(dagId);
  const canRun = rights?.run ?? false;

  const change = (name: string, value: unknown, problem?: Problem | null) => {
    setValues((v) => ({ ...v, [name]: value }));
    setParseProblems((p) => {
      const next = { ...p };
      if (problem) next[name] = problem;
      else delete next[name];
      return next;
    });
    setTouched((s) => new Set(s).add(name));
    setServerErrors((e) => {
      const next = { ...e };
      delete next[name];
      return next;
    });
  };

  const fill = (source: Record<string, unknown> | null | undefined, label: string) => {
    if (!schema) return;
    const { values: loaded, skippedSecrets } = loadableValues(schema, source);
    setValues(loaded);
    setParseProblems({});
    setServerErrors({});
    setTouched(new Set(Object.keys(loaded)));
    setNotice(skippedSecrets.length ? t("run.loadedSkipped", { source: label, names: skippedSecrets.join(", ") }) : t("run.loaded", { source: label }));
  };

  const launch = async () => {
    setAttempted(true);
    setRunError(null);
    setServerErrors({});
    if (!schema || Object.keys(problems).length) return;
    setBusy(true);
    try {
      const name = scriptName(dagId);
      let runId: string;
      if (name) {
        const run = await post<RunOut>(`ylai/api/v1/scripts/${enc(name)}/run`, { params: conf });
        runId = run.run_id;
      } else {
        const run = await post<{ dag_run_id: string }>(`api/v2/dags/${enc(dagId)}/dagRuns`, { logical_date: null, conf });
        runId = run.dag_run_id;
      }
      setFollowing({ dagId, runId });
    } catch (err) {
      if (err instanceof ApiError) {
        const { fields, rest } = fieldErrors(err.details, Object.keys(schema.properties ?? {}));
        setServerErrors(fields);
        if (!Object.keys(fields).length || rest.length) setRunError(err);
      } else {
        setRunError(err);
      }
    } finally {
      setBusy(false);
    }
  };

  const scripts = targets.data?.scripts ?? [];
  const pipelines = (targets.data?.dags ?? []).filter((d) => d.dag_id.startsWith("pipeline__"));
  const others = (targets.data?.dags ?? []).filter((d) => !d.dag_id.startsWith("pipeline__"));
  const known = !dagId || scripts.some((s) => s.dag_id === dagId) || (targets.data?.dags ?? []).some((d) => d.dag_id === dagId);

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
                      {d.dag_id.slice("pipeline__".length)}
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
                    <ParamForm schema={schema} values={values} onChange={change} errors={errors} />
                    <ErrorBox error={runError} testId="run-error" />
                    {attempted && Object.keys(problems).length ? <FieldError text={t("run.fixErrors")} testId="form-invalid" /> : null}
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
function Helpers({ dagId, schema, conf, onFill }: { dagId: string; schema: Schema; conf: Record<string, unknown>; onFill: (v: Record<string, unknown>, label: string) => void }) {
  const { t, dateTime } = useI18n();
  const me = useMe();
  const presets = usePoll((signal) => get<Page<Preset>>(`ylai/api/v1/presets${qs({ dag_id: dagId, limit: 200 })}`, signal), [dagId]);
  const runs = usePoll(
    (signal) => get<DagRunList>(`api/v2/dags/${enc(dagId)}/dagRuns${qs({ order_by: "-run_after", limit: 10 })}`, signal),
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
      const p = await post<Preset>("ylai/api/v1/presets", { name: name.trim(), dag_id: dagId, params: conf, shared_with_role: share || null });
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
            if (p) onFill(p.params, t("preset.source", { name: p.name }));
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

interface XcomList {
  xcom_entries: { task_id: string; key: string; map_index: number }[];
}

/** The run's live view: task states, streaming logs, then its outputs. */
function Follow({ following }: { following: Following }) {
  const { t } = useI18n();
  const { dagId, runId } = following;
  const [ended, setEnded] = useState<string | null | undefined>(undefined);
  const [results, setResults] = useState<{ task_id: string; value: unknown }[] | null>(null);
  const [resultError, setResultError] = useState<unknown>(null);

  const onEnd = (state: string | null) => {
    setEnded(state);
    const base = `api/v2/dags/${enc(dagId)}/dagRuns/${enc(runId)}/taskInstances`;
    get<XcomList>(`${base}/~/xcomEntries?xcom_key=return_value&limit=50`)
      .then((list) =>
        Promise.all(
          list.xcom_entries
            .filter((x) => x.key === "return_value")
            .map((x) =>
              get<{ value: unknown }>(`${base}/${enc(x.task_id)}/xcomEntries/return_value${qs({ deserialize: true, map_index: x.map_index >= 0 ? x.map_index : undefined })}`).then((v) => ({
                task_id: x.task_id,
                value: v.value,
              })),
            ),
        ),
      )
      .then(setResults, setResultError);
  };

  return (
    <Card title={t("run.progress")} testId="follow">
      <p className="y-small">
        <code data-testid="followed-run">{runId}</code> · <Link to={`dags/${enc(dagId)}/runs/${enc(runId)}`}>{t("overview.openRun")}</Link>
      </p>
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
