// ylai's generated DAG ids are "<kind>__<name>" (ylai_operators.naming owns the scheme). ylai's API
// answers `kind` and `name` beside every dag_id it returns, and the pages use those. Airflow's own
// API (/api/v2/dags, dagRuns) answers ids only: this module is the one place of the UI that reads
// them, so that no page slices an id.

import { dagKindValues } from "../../generated/ylai";
import type { Schemas } from "../api/client";

/** The kinds of DAG ylai generates: the API's DagKind enum (ylai_operators.naming.DagKind). */
export type DagKind = Schemas["DagKind"];
export const DAG_KINDS: readonly DagKind[] = dagKindValues;

const SEPARATOR = "_".repeat(2);
const prefix = (kind: DagKind) => `${kind}${SEPARATOR}`;

/** Kind and name of a DAG id that ylai generated; null for any other DAG (a user's own). */
export function parseDagId(dagId: string): { kind: DagKind; name: string } | null {
  for (const kind of DAG_KINDS) {
    if (dagId.startsWith(prefix(kind)) && dagId.length > prefix(kind).length) return { kind, name: dagId.slice(prefix(kind).length) };
  }
  return null;
}

/** Airflow's ``dag_id_prefix_pattern`` for the DAGs of these kinds (their prefixes joined by "|"). */
export const prefixPattern = (kinds: readonly DagKind[]) => kinds.map(prefix).join("|");

/** "script", "pipeline" or "dag" (any DAG ylai did not generate from a script or a pipeline). */
export function targetKind(dagId: string): "script" | "pipeline" | "dag" {
  const kind = parseDagId(dagId)?.kind;
  return kind === "script" || kind === "pipeline" ? kind : "dag";
}

/** A DAG as the pages name it: a script's or a pipeline's own name, any other DAG's id. */
export const shortName = (dagId: string) => (targetKind(dagId) === "dag" ? dagId : (parseDagId(dagId)?.name ?? dagId));
