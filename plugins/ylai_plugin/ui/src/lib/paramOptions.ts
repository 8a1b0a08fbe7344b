// Live options of a params form (issue 20): a param whose schema has "x-ylai-options" takes its
// choices from GET /ylai/api/v1/forms/{dag_id}/options/{param}, with the values of the params it
// depends on as query parameters. The form fetches them when it opens and again, debounced, when a
// parent changes; a chosen value the new list no longer offers is cleared with a notice.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { data, ylai, type Schemas } from "../api/client";
import { ApiError } from "./api";
import type { Schema } from "./schema";

/** A param's "x-ylai-options": where its choices come from and which params they depend on. */
export interface OptionsSpec {
  source: string;
  depends_on: string[];
}

export interface Option {
  value: unknown;
  label: string;
}

/** What a live field shows: waiting for its parents, loading, its choices, or why there are none. */
export type OptionsState =
  | { status: "waiting"; missing: string[] }
  | { status: "loading" }
  | { status: "ready"; options: Option[]; truncated: boolean; key: string }
  | { status: "error"; reason: string; retryAfter: number | null };

/** A value the fresh list no longer offers, cleared from the form. */
export interface ClearedNotice {
  values: unknown[];
}

/** After a parent changes, the wait before asking again (typing in a parent asks once). */
export const DEBOUNCE_MS = 300;

export function optionsSpec(schema: Schema): OptionsSpec | null {
  const raw = (schema as Record<string, unknown>)["x-ylai-options"];
  if (!raw || typeof raw !== "object") return null;
  const spec = raw as Record<string, unknown>;
  const deps = Array.isArray(spec.depends_on) ? spec.depends_on.filter((d): d is string => typeof d === "string") : [];
  return { source: typeof spec.source === "string" ? spec.source : "", depends_on: deps };
}

/** Whether a parent has a value to ask with (an empty text or list is none). */
export function hasValue(v: unknown): boolean {
  if (v === undefined || v === null || v === "") return false;
  return !(Array.isArray(v) && v.length === 0);
}

/** The parents' values as query parameters: texts as they are, lists repeated, anything else as JSON. */
export function dependencyQuery(spec: OptionsSpec, values: Record<string, unknown>): Record<string, string | string[]> {
  const text = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));
  const query: Record<string, string | string[]> = {};
  for (const name of spec.depends_on) {
    const v = values[name];
    if (hasValue(v)) query[name] = Array.isArray(v) ? v.map(text) : text(v);
  }
  return query;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The chosen values (one, or a list's items) that ``options`` does not offer. */
export function notOffered(value: unknown, options: Option[]): unknown[] {
  if (!hasValue(value)) return [];
  const chosen = Array.isArray(value) ? value : [value];
  return chosen.filter((v) => !options.some((o) => same(o.value, v)));
}

/** Why the options could not be had, as the server said it (a 503 names the param before its reason). */
export function failureOf(err: unknown, param: string): { reason: string; retryAfter: number | null } {
  if (err instanceof ApiError) {
    const problem = err.details.find((d) => d.field === param || d.field.endsWith(`.${param}`)) ?? err.details[0];
    const reason = problem?.reason || err.message.replace(new RegExp(`^${param.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: `), "");
    return { reason, retryAfter: err.retryAfter };
  }
  return { reason: err instanceof Error ? err.message : String(err), retryAfter: null };
}

export type OptionsAnswer = Schemas["OptionsAnswer"];

type OptionsPath = { dag_id: string; param: string };

export async function fetchOptions(dagId: string, param: string, query: Record<string, string | string[]>, signal: AbortSignal): Promise<OptionsAnswer> {
  // The query names the form's other params, which differ per DAG: the OpenAPI document cannot
  // list them, so its type has no query; openapi-fetch sends ``params.query`` all the same.
  const params = { path: { dag_id: dagId, param }, query } as { path: OptionsPath };
  return data(ylai.GET("/api/v1/forms/{dag_id}/options/{param}", { params, signal }));
}

export interface ParamOptions {
  /** Per live param (those with "x-ylai-options"); empty without a DAG to ask about. */
  states: Record<string, OptionsState>;
  /** Per param, the values last cleared because the list no longer offered them. */
  notices: Record<string, ClearedNotice>;
  /** Ask for a param's options again at once (after an error). */
  retry: (name: string) => void;
  /** The user chose anew: the field's notice has done its job. */
  dismiss: (name: string) => void;
}

/**
 * The live options of ``schema``'s params for ``dagId``, kept in step with ``values``: asked for at
 * once when the form opens (or a retry), after ``DEBOUNCE_MS`` when a parent changes; a parent
 * without a value leaves the field waiting. A ready list that no longer offers the chosen value
 * clears it through ``onChange`` (a list keeps the items still offered) and records a notice.
 */
export function useParamOptions(dagId: string | undefined, schema: Schema, values: Record<string, unknown>, onChange: (name: string, value: unknown) => void): ParamOptions {
  const specs = useMemo(() => {
    if (!dagId) return [] as [string, OptionsSpec][];
    return Object.entries(schema.properties ?? {}).flatMap(([name, prop]) => {
      const spec = optionsSpec(prop);
      return spec ? [[name, spec] as [string, OptionsSpec]] : [];
    });
  }, [dagId, schema]);

  const [states, setStates] = useState<Record<string, OptionsState>>({});
  const [notices, setNotices] = useState<Record<string, ClearedNotice>>({});
  const [retries, setRetries] = useState<Record<string, number>>({});
  const asked = useRef<Record<string, string>>({});
  const immediate = useRef<Set<string>>(new Set());
  const pending = useRef<Record<string, { timer?: number; ctl?: AbortController }>>({});

  // What each field's list depends on: the DAG, its parents' values and its retries.
  const keys = useMemo(() => {
    const out: Record<string, { key: string; query: Record<string, string | string[]>; missing: string[] }> = {};
    for (const [name, spec] of specs) {
      const query = dependencyQuery(spec, values);
      const missing = spec.depends_on.filter((d) => !hasValue(values[d]));
      out[name] = { key: JSON.stringify([dagId, query, missing, retries[name] ?? 0]), query, missing };
    }
    return out;
  }, [dagId, specs, values, retries]);
  const keysText = JSON.stringify(Object.fromEntries(Object.entries(keys).map(([n, k]) => [n, k.key])));

  useEffect(() => {
    if (!dagId) return;
    for (const [name] of specs) {
      const { key, query, missing } = keys[name];
      if (asked.current[name] === key) continue;
      const first = !(name in asked.current) || immediate.current.has(name);
      asked.current[name] = key;
      immediate.current.delete(name);
      const slot = (pending.current[name] ??= {});
      window.clearTimeout(slot.timer);
      slot.ctl?.abort();
      const set = (state: OptionsState) => setStates((s) => ({ ...s, [name]: state }));
      if (missing.length) {
        set({ status: "waiting", missing });
        continue;
      }
      // Loading at once, not after the wait: the old list must not be picked from meanwhile.
      set({ status: "loading" });
      const start = () => {
        const ctl = new AbortController();
        slot.ctl = ctl;
        fetchOptions(dagId, name, query, ctl.signal).then(
          (answer) => {
            if (ctl.signal.aborted || asked.current[name] !== key) return;
            set({ status: "ready", options: answer.options, truncated: answer.truncated, key });
          },
          (err: unknown) => {
            if (ctl.signal.aborted || asked.current[name] !== key) return;
            set({ status: "error", ...failureOf(err, name) });
          },
        );
      };
      if (first) start();
      else slot.timer = window.setTimeout(start, DEBOUNCE_MS);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [dagId, keysText]);

  useEffect(
    () => () => {
      for (const slot of Object.values(pending.current)) {
        window.clearTimeout(slot.timer);
        slot.ctl?.abort();
      }
    },
    [],
  );

  // A ready list (for the parents' current values) that no longer offers the chosen value clears it.
  // A cut list too: the server accepts only the options it lists, not those beyond the cut (docs/forms.md).
  useEffect(() => {
    for (const [name] of specs) {
      const state = states[name];
      if (state?.status !== "ready" || state.key !== keys[name]?.key) continue;
      const value = values[name];
      const gone = notOffered(value, state.options);
      if (!gone.length) continue;
      const kept = Array.isArray(value) ? value.filter((v) => !gone.some((g) => same(g, v))) : [];
      onChange(name, kept.length ? kept : undefined);
      setNotices((n) => ({ ...n, [name]: { values: gone } }));
    }
  }, [specs, states, keys, values, onChange]);

  const retry = useCallback((name: string) => {
    immediate.current.add(name);
    setRetries((r) => ({ ...r, [name]: (r[name] ?? 0) + 1 }));
  }, []);
  const dismiss = useCallback((name: string) => {
    setNotices((n) => {
      if (!(name in n)) return n;
      const next = { ...n };
      delete next[name];
      return next;
    });
  }, []);

  return { states, notices, retry, dismiss };
}
