import { useEffect, useState } from "react";
import { airflow, data } from "../../api/client";
import { ParamForm } from "../../components/ParamForm";
import { LogViewer } from "../../components/LogViewer";
import { Card, ErrorBox, Json, StateBadge } from "../../components/ui";
import { useI18n } from "../../i18n";
import { useStudioText } from "./i18n";
import { ApiError } from "../../lib/api";
import { useParamForm } from "../../lib/paramForm";
import type { Schema } from "../../lib/schema";
import { runPipeline } from "./api";

export interface Following {
  dagId: string;
  runId: string;
  /** The run's trace id (POST /pipelines/{name}/run answers it); null when it was not traced. */
  traceId?: string | null;
}

export interface TaskState {
  state: string | null;
  duration: number | null;
}

const ENDED = new Set(["success", "failed"]);

/** Airflow's task instances of a run, every 2 s until the run ends: node id → state and duration. */
export function useRunStates(following: Following | null): { tasks: Record<string, TaskState>; runState: string | null; error: unknown } {
  const [tasks, setTasks] = useState<Record<string, TaskState>>({});
  const [runState, setRunState] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    if (!following) return undefined;
    let live = true;
    let timer: number | undefined;
    setTasks({});
    setRunState(null);
    const path = { dag_id: following.dagId, dag_run_id: following.runId };
    const tick = async () => {
      try {
        const [run, tis] = await Promise.all([
          data(airflow.GET("/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}", { params: { path } })),
          data(airflow.GET("/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances", { params: { path, query: { limit: 500 } } })),
        ]);
        if (!live) return;
        setError(null);
        setRunState(run.state ?? null);
        setTasks(Object.fromEntries(tis.task_instances.map((ti) => [ti.task_id, { state: ti.state ?? null, duration: ti.duration ?? null }])));
        if (ENDED.has(String(run.state))) return;
      } catch (err) {
        if (!live) return;
        setError(err);
      }
      timer = window.setTimeout(() => void tick(), 2000);
    };
    void tick();
    return () => {
      live = false;
      window.clearTimeout(timer);
    };
  }, [following]);
  return { tasks, runState, error };
}

/** The run form: the pipeline's params (the Run page's generated form), then POST /pipelines/{name}/run. */
export function RunDialog({ name, dagId, schema, onStarted, onClose }: { name: string; dagId: string; schema: Schema; onStarted: (f: Following) => void; onClose: () => void }) {
  const { t } = useI18n();
  const st = useStudioText();
  const form = useParamForm(schema);
  const [note, setNote] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const start = async () => {
    form.setAttempted(true);
    if (Object.keys(form.problems).length) return;
    setBusy(true);
    setError(null);
    try {
      const run = await runPipeline(name, form.conf, note);
      onStarted({ dagId: run.dag_id, runId: run.run_id, traceId: run.trace_id ?? null });
    } catch (err) {
      const fields: Record<string, string> = {};
      if (err instanceof ApiError) for (const d of err.details) fields[d.field.replace(/^(body\.)?params\./, "")] = d.reason;
      form.setServerErrors(fields);
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card title={st("runTitle", { name })} testId="studio-run-dialog">
      <ParamForm schema={schema} values={form.values} onChange={form.change} errors={form.errors} idPrefix="run" dagId={dagId} />
      <div className="y-field">
        <label className="y-label" htmlFor="y-run-note">
          {st("runNote")}
        </label>
        <input id="y-run-note" className="y-input" value={note} onChange={(e) => setNote(e.target.value)} data-testid="studio-run-note" />
      </div>
      <ErrorBox error={error} />
      <div className="y-row">
        <button type="button" className="y-btn y-btn-primary" disabled={busy} onClick={() => void start()} data-testid="studio-run-start">
          {st("runStart")}
        </button>
        <button type="button" className="y-btn" onClick={onClose}>
          {t("common.cancel")}
        </button>
      </div>
    </Card>
  );
}

/** A node of a followed run: its state, its outputs (the task's XCom) and the run's logs. */
export function RunNode({ following, nodeId, task, onClose }: { following: Following; nodeId: string; task: TaskState | undefined; onClose: () => void }) {
  const { t, duration } = useI18n();
  const st = useStudioText();
  const [outputs, setOutputs] = useState<unknown>(undefined);
  const ended = task?.state === "success" || task?.state === "failed";
  useEffect(() => {
    if (!ended) return undefined;
    let live = true;
    data(
      airflow.GET("/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/xcomEntries/{xcom_key}", {
        params: { path: { dag_id: following.dagId, dag_run_id: following.runId, task_id: nodeId, xcom_key: "return_value" }, query: { deserialize: true } },
      }),
    ).then(
      (x) => live && setOutputs(x.value),
      () => live && setOutputs(null),
    );
    return () => {
      live = false;
    };
  }, [ended, following, nodeId]);
  const outs = outputs && typeof outputs === "object" && "outputs" in outputs ? (outputs as { outputs: Record<string, unknown> }).outputs : null;
  return (
    <Card
      title={
        <>
          <code>{nodeId}</code> <StateBadge state={task?.state} /> <span className="y-muted y-small">{task?.duration != null ? duration(task.duration) : ""}</span>
          <button type="button" className="y-btn y-btn-small y-push" onClick={onClose}>
            {st("close")}
          </button>
        </>
      }
      testId="studio-run-node"
    >
      {outs ? (
        <table className="y-table y-table-compact" data-testid="studio-node-outputs">
          <tbody>
            {Object.entries(outs).map(([k, v]) => (
              <tr key={k}>
                <th>{k}</th>
                <td className="y-mono">{typeof v === "string" ? v : JSON.stringify(v)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : outputs !== undefined && outputs !== null ? (
        <Json value={outputs} />
      ) : (
        <p className="y-muted y-small">{ended ? t("run.noOutputs") : st("outputsLater")}</p>
      )}
      <LogViewer dagId={following.dagId} runId={following.runId} taskId={nodeId} />
    </Card>
  );
}
