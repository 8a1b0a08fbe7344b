import { useMemo } from "react";
import { airflow, data, ylai } from "../api/client";
import type { Dag, DagDetails, Script } from "../api/models";
import { parseDagId } from "./dagKinds";
import { usePoll, type Polled } from "./hooks";
import { schemaFromDagParams, type Schema } from "./schema";

export interface PipelineTarget {
  dag_id: string;
  name: string;
}

/** What a run or a task can start: scripts (ylai's API), pipelines and the other DAGs (Airflow's). */
export interface RunTargets {
  scripts: Script[];
  pipelines: PipelineTarget[];
  /** DAGs that are neither scripts, pipelines nor ylai's scheduled tasks. */
  others: Dag[];
}

async function loadTargets(signal: AbortSignal): Promise<RunTargets> {
  const [scripts, dags] = await Promise.all([
    data(ylai.GET("/api/v1/scripts", { params: { query: { limit: 500 } }, signal })),
    data(airflow.GET("/api/v2/dags", { params: { query: { limit: 500, exclude_stale: true, order_by: ["dag_id"] } }, signal })).catch(() => ({ dags: [] as Dag[] })),
  ]);
  const pipelines: PipelineTarget[] = [];
  const others: Dag[] = [];
  for (const d of dags.dags) {
    const parsed = parseDagId(d.dag_id);
    if (parsed?.kind === "pipeline") pipelines.push({ dag_id: d.dag_id, name: parsed.name });
    else if (parsed?.kind !== "script" && parsed?.kind !== "task") others.push(d);
  }
  return { scripts: scripts.items, pipelines, others };
}

/** The run targets, loaded once per page. */
export const useRunTargets = (): Polled<RunTargets> => usePoll(loadTargets, []);

/** Whether ``dagId`` is known among the targets (a run link may name a DAG the lists leave out). */
export function isKnownTarget(targets: RunTargets | undefined, dagId: string): boolean {
  if (!dagId || !targets) return !dagId;
  return targets.scripts.some((s) => s.dag_id === dagId) || targets.pipelines.some((p) => p.dag_id === dagId) || targets.others.some((d) => d.dag_id === dagId);
}

/**
 * The params schema of a target: a script's own (ylai's API, with its secrets), any other DAG's
 * from Airflow's DAG details. ``details`` is that call (null for scripts).
 */
export function useTargetSchema(dagId: string, script: Script | null | undefined): { schema: Schema | null; details: Polled<DagDetails | null> } {
  const isScript = parseDagId(dagId)?.kind === "script";
  const details = usePoll(
    (signal) => (dagId && !isScript ? data(airflow.GET("/api/v2/dags/{dag_id}/details", { params: { path: { dag_id: dagId } }, signal })) : Promise.resolve(null)),
    [dagId],
  );
  const schema = useMemo(() => {
    if (!dagId) return null;
    if (isScript) return script ? (script.params_schema as Schema) : null;
    return details.data ? schemaFromDagParams(details.data.params as Parameters<typeof schemaFromDagParams>[0]) : null;
  }, [dagId, isScript, script, details.data]);
  return { schema, details };
}
