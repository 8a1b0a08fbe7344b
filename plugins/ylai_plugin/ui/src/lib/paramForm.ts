import { useCallback, useMemo, useState } from "react";
import { useI18n } from "../i18n";
import { problemText, type Values } from "../components/ParamForm";
import { confOf, validateParams, type Problem, type Schema } from "./schema";

export interface ParamFormState {
  values: Values;
  /** The conf the values make (what a run or a task would send). */
  conf: Record<string, unknown>;
  /** Every client-side problem, shown or not yet. */
  problems: Record<string, Problem>;
  /** The messages to show next to the fields: client problems once shown, then the server's. */
  errors: Record<string, string>;
  /** Names of the params the user changed (or a fill loaded). */
  touched: ReadonlySet<string>;
  attempted: boolean;
  setAttempted: (v: boolean) => void;
  setServerErrors: (errors: Record<string, string>) => void;
  /** ParamForm's onChange. */
  change: (name: string, value: unknown, problem?: Problem | null) => void;
  /** Replace the values (a preset, a previous run, a stored task); ``touched`` names the ones to check at once. */
  load: (values: Values, touched?: Iterable<string>) => void;
  /** Back to an empty form. */
  reset: () => void;
}

/**
 * The state of a params form (Run, the task editor): values, the client's checks against the schema,
 * parse problems from the inputs and the server's field errors.
 *
 * ``show``: "field" shows a field's problems once that field was touched; "form" shows them all
 * once any field was touched. Both show everything after a first attempt to submit.
 */
export function useParamForm(schema: Schema | null, show: "field" | "form" = "field"): ParamFormState {
  const { t } = useI18n();
  const [values, setValues] = useState<Values>({});
  const [parseProblems, setParseProblems] = useState<Record<string, Problem>>({});
  const [touched, setTouched] = useState<ReadonlySet<string>>(new Set());
  const [attempted, setAttempted] = useState(false);
  const [serverErrors, setServerErrors] = useState<Record<string, string>>({});

  const problems = useMemo(() => (schema ? { ...validateParams(schema, values), ...parseProblems } : {}), [schema, values, parseProblems]);
  const errors: Record<string, string> = {};
  for (const [name, p] of Object.entries(problems)) {
    if (attempted || (show === "form" ? touched.size > 0 : touched.has(name))) errors[name] = problemText(t, p);
  }
  for (const [name, text] of Object.entries(serverErrors)) errors[name] ??= text;

  const change = useCallback((name: string, value: unknown, problem?: Problem | null) => {
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
  }, []);

  const load = useCallback((loaded: Values, names: Iterable<string> = []) => {
    setValues(loaded);
    setParseProblems({});
    setServerErrors({});
    setTouched(new Set(names));
  }, []);

  const reset = useCallback(() => {
    load({});
    setAttempted(false);
  }, [load]);

  return { values, conf: confOf(values), problems, errors, touched, attempted, setAttempted, setServerErrors, change, load, reset };
}
