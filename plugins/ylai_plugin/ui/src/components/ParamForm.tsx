import { useEffect, useState } from "react";
import { optionsSpec, useParamOptions, type ClearedNotice, type OptionsState } from "../lib/paramOptions";
import { isoToLocalInput, localInputToIso, mainType, nullable, type Problem, type Schema } from "../lib/schema";
import { useI18n, type Key } from "../i18n";
import { Combobox, type Choice } from "./Combobox";
import { FieldError } from "./ui";

export type Values = Record<string, unknown>;

export interface ParamFormProps {
  schema: Schema;
  values: Values;
  /** A value changed; ``problem`` is set when the input cannot be parsed (bad JSON, not a number). */
  onChange: (name: string, value: unknown, problem?: Problem | null) => void;
  /** Translated messages per field (client validation and server answers). */
  errors: Record<string, string>;
  disabled?: boolean;
  idPrefix?: string;
  /**
   * The DAG the form starts: params with "x-ylai-options" take their choices live from it
   * (GET /forms/{dag_id}/options/{param}). Without it they are plain fields.
   */
  dagId?: string;
}

/** Static choices beyond this many get a searchable select instead of a plain one (or checkboxes). */
export const LONG_LIST = 12;

export function isSecret(schema: Schema): boolean {
  return schema["x-ylai-secret"] === true;
}

export function problemText(t: (k: Key, p?: Record<string, string | number>) => string, p: Problem): string {
  return t(`validation.${p.code}` as Key, p.params);
}

function optionLabel(schema: Schema, v: unknown): string {
  const key = String(v);
  return schema.values_display?.[key] ?? key;
}

function asChoices(schema: Schema, values: unknown[]): Choice[] {
  return values.map((v) => ({ value: v, label: optionLabel(schema, v) }));
}

function choices(schema: Schema): unknown[] | null {
  const items = schema.items;
  if (items?.enum) return items.enum;
  if (schema.examples && Array.isArray(schema.examples)) return schema.examples;
  return null;
}

/** Text fields whose content must be parsed: numbers, JSON, one array item per line. */
function TextParsed({
  id,
  value,
  format,
  parse,
  multiline,
  disabled,
  onChange,
  inputType,
  inputProps,
  testId,
  invalid,
}: {
  id: string;
  value: unknown;
  format: (v: unknown) => string;
  parse: (text: string) => { value: unknown; problem?: Problem | null };
  multiline?: boolean;
  disabled?: boolean;
  onChange: (v: unknown, p?: Problem | null) => void;
  inputType?: string;
  inputProps?: Record<string, unknown>;
  testId: string;
  invalid: boolean;
}) {
  const [text, setText] = useState(() => format(value));
  useEffect(() => {
    // Follow values set from outside (a preset, a previous run) unless they came from this text.
    const parsed = parse(text);
    if (JSON.stringify(parsed.value) !== JSON.stringify(value) && !parsed.problem) setText(format(value));
    if (value === undefined && parsed.problem) setText("");
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [value]);
  const change = (t: string) => {
    setText(t);
    const parsed = parse(t);
    onChange(parsed.value, parsed.problem ?? null);
  };
  const common = { id, disabled, "aria-invalid": invalid, "data-testid": testId, ...inputProps };
  return multiline ? (
    <textarea className="y-input y-textarea y-mono" rows={5} value={text} onChange={(e) => change(e.target.value)} {...common} />
  ) : (
    <input className="y-input" type={inputType ?? "text"} value={text} onChange={(e) => change(e.target.value)} {...common} />
  );
}

/** A live field's list as the form knows it, plus what it says about it. */
interface Live {
  state: OptionsState | undefined;
  notice: ClearedNotice | undefined;
  /** The titles of the params it depends on, by name. */
  parents: Record<string, string>;
  retry: () => void;
}

/** The status lines of a live field: waiting for a parent, loading, a cut list, a source's error, a cleared value. */
function LiveStatus({ id, name, title, live }: { id: string; name: string; title: string; live: Live }) {
  const { t } = useI18n();
  const { state, notice } = live;
  const show = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));
  return (
    <div id={id} className="y-live-status">
      {state?.status === "waiting" ? (
        <div className="y-help" data-testid={`options-waiting-${name}`}>
          {t("form.optionsWaiting", { names: state.missing.map((m) => live.parents[m] ?? m).join(", ") })}
        </div>
      ) : null}
      {!state || state.status === "loading" ? (
        <div className="y-help" role="status" data-testid={`options-loading-${name}`}>
          {t("form.optionsLoading")}
        </div>
      ) : null}
      {state?.status === "ready" && state.truncated ? (
        <div className="y-help" data-testid={`options-truncated-${name}`}>
          {t("form.optionsTruncated", { n: state.options.length })}
        </div>
      ) : null}
      {state?.status === "error" ? (
        <div className="y-row y-wrap y-options-error">
          <div className="y-field-error" role="alert" data-testid={`options-error-${name}`}>
            {t("form.optionsError", { reason: state.reason.replace(/[.。]\s*$/, "") })}
            {state.retryAfter ? ` ${t("form.optionsRetryAfter", { seconds: state.retryAfter })}` : ""}
          </div>
          <button type="button" className="y-btn y-btn-small" onClick={live.retry} data-testid={`options-retry-${name}`}>
            {t("form.optionsRetry")}
          </button>
        </div>
      ) : null}
      {notice ? (
        <p className="y-note" role="status" data-testid={`options-notice-${name}`}>
          {t("form.optionsCleared", { value: notice.values.map(show).join(", "), field: title })}
        </p>
      ) : null}
    </div>
  );
}

function Field({ name, schema, value, onChange, error, disabled, required, id, live }: {
  name: string;
  schema: Schema;
  value: unknown;
  onChange: (v: unknown, p?: Problem | null) => void;
  error?: string;
  disabled?: boolean;
  required: boolean;
  id: string;
  live?: Live;
}) {
  const { t } = useI18n();
  const type = mainType(schema);
  const canNull = nullable(schema);
  const empty = canNull ? null : undefined;
  const testId = `field-${name}`;
  const invalid = !!error;
  // What every text-parsed input of this field shares (onChange is passed where the value is parsed).
  const parsedProps = { id, value, testId, invalid, disabled };
  let input;
  const combo = { id, testId, invalid, labelId: `${id}-label` };

  if (live) {
    const state = live.state;
    input = (
      <Combobox
        {...combo}
        multiple={type === "array"}
        choices={state?.status === "ready" ? state.options : []}
        value={value}
        describedBy={`${id}-live`}
        disabled={disabled || state?.status !== "ready"}
        onChange={(v) => onChange(v === undefined ? empty : v)}
      />
    );
  } else if (schema.enum && schema.enum.filter((v) => v !== null).length > LONG_LIST) {
    const options = schema.enum.filter((v) => v !== null);
    input = <Combobox {...combo} choices={asChoices(schema, options)} value={value} disabled={disabled} onChange={(v) => onChange(v === undefined ? empty : v)} />;
  } else if (schema.enum) {
    const options = schema.enum.filter((v) => v !== null);
    const index = options.findIndex((v) => JSON.stringify(v) === JSON.stringify(value));
    input = (
      <select
        id={id}
        className="y-input"
        value={index < 0 ? "" : String(index)}
        disabled={disabled}
        aria-invalid={invalid}
        data-testid={testId}
        onChange={(e) => onChange(e.target.value === "" ? empty : options[Number(e.target.value)])}
      >
        <option value="">{schema.default !== undefined ? t("form.useDefault") : t("form.choose")}</option>
        {options.map((v, i) => (
          <option key={String(v)} value={String(i)}>
            {optionLabel(schema, v)}
          </option>
        ))}
      </select>
    );
  } else if (type === "boolean") {
    input = (
      <label className="y-switch">
        <input
          id={id}
          type="checkbox"
          role="switch"
          checked={value === true}
          disabled={disabled}
          data-testid={testId}
          onChange={(e) => onChange(e.target.checked)}
        />
        <span>{value === true ? t("form.on") : t("form.off")}</span>
      </label>
    );
  } else if (type === "integer" || type === "number") {
    input = (
      <TextParsed
        {...parsedProps}
        inputType="number"
        inputProps={{ min: schema.minimum, max: schema.maximum, step: type === "integer" ? 1 : "any" }}
        format={(v) => (typeof v === "number" ? String(v) : "")}
        parse={(text) => {
          if (text.trim() === "") return { value: empty };
          const n = Number(text);
          return Number.isNaN(n) ? { value: n, problem: { code: "notANumber" } } : { value: n };
        }}
        onChange={onChange}
      />
    );
  } else if (type === "array") {
    const opts = choices(schema);
    if (opts && opts.length > LONG_LIST) {
      input = <Combobox {...combo} multiple choices={asChoices(schema, opts)} value={value} disabled={disabled} onChange={(v) => onChange(v === undefined ? empty : v)} />;
    } else if (opts) {
      const selected = Array.isArray(value) ? value : [];
      input = (
        <div className="y-multi" role="group" aria-labelledby={`${id}-label`} data-testid={testId}>
          {opts.map((o) => {
            const on = selected.some((s) => JSON.stringify(s) === JSON.stringify(o));
            return (
              <label key={String(o)} className="y-check">
                <input
                  type="checkbox"
                  checked={on}
                  disabled={disabled}
                  onChange={() => onChange(on ? selected.filter((s) => JSON.stringify(s) !== JSON.stringify(o)) : [...selected, o])}
                />
                <span>{optionLabel(schema, o)}</span>
              </label>
            );
          })}
        </div>
      );
    } else {
      const itemType = schema.items ? mainType(schema.items) : "string";
      input = (
        <TextParsed
          {...parsedProps}
          multiline
          format={(v) => (Array.isArray(v) ? v.map((x) => (typeof x === "string" ? x : JSON.stringify(x))).join("\n") : "")}
          parse={(text) => {
            const lines = text.split("\n").map((l) => l.trim()).filter(Boolean);
            if (!lines.length) return { value: empty };
            if (itemType === "integer" || itemType === "number") {
              const nums = lines.map(Number);
              return nums.some(Number.isNaN) ? { value: nums, problem: { code: "notANumber" } } : { value: nums };
            }
            return { value: lines };
          }}
          onChange={onChange}
        />
      );
    }
  } else if (type === "string" && schema.format === "date") {
    input = (
      <input
        id={id}
        className="y-input"
        type="date"
        value={typeof value === "string" ? value.slice(0, 10) : ""}
        disabled={disabled}
        aria-invalid={invalid}
        data-testid={testId}
        onChange={(e) => onChange(e.target.value || empty)}
      />
    );
  } else if (type === "string" && schema.format === "date-time") {
    input = (
      <input
        id={id}
        className="y-input"
        type="datetime-local"
        step={1}
        value={isoToLocalInput(value)}
        disabled={disabled}
        aria-invalid={invalid}
        data-testid={testId}
        onChange={(e) => onChange(localInputToIso(e.target.value) ?? empty)}
      />
    );
  } else if (type === "string") {
    const common = {
      id,
      className: "y-input",
      value: typeof value === "string" ? value : "",
      disabled,
      "aria-invalid": invalid,
      "data-testid": testId,
      placeholder: typeof schema.default === "string" && !isSecret(schema) ? schema.default : undefined,
    };
    input =
      schema.format === "multiline" ? (
        <textarea {...common} className="y-input y-textarea" rows={4} onChange={(e) => onChange(e.target.value === "" ? empty : e.target.value)} />
      ) : (
        <input
          {...common}
          type={isSecret(schema) ? "password" : "text"}
          autoComplete={isSecret(schema) ? "new-password" : "off"}
          onChange={(e) => onChange(e.target.value === "" ? empty : e.target.value)}
        />
      );
  } else {
    // object, or any JSON value: a JSON editor
    input = (
      <TextParsed
        {...parsedProps}
        multiline
        format={(v) => (v === undefined ? "" : JSON.stringify(v, null, 2))}
        parse={(text) => {
          if (text.trim() === "") return { value: empty };
          try {
            const parsed: unknown = JSON.parse(text);
            return { value: parsed };
          } catch {
            return { value: undefined, problem: { code: "json" } };
          }
        }}
        onChange={onChange}
      />
    );
  }

  return (
    <div className={`y-field ${invalid ? "y-field-invalid" : ""}`}>
      <label id={`${id}-label`} htmlFor={id} className="y-label">
        {schema.title ?? name}
        {required ? <span className="y-required" aria-label={t("form.required")}> *</span> : null}
        {isSecret(schema) ? <span className="y-chip">{t("form.secret")}</span> : null}
        {schema.title && schema.title !== name ? <code className="y-muted y-small"> {name}</code> : null}
      </label>
      {input}
      {live ? <LiveStatus id={`${id}-live`} name={name} title={schema.title ?? name} live={live} /> : null}
      {schema.description ? <div className="y-help">{schema.description}</div> : null}
      {schema.default !== undefined && !isSecret(schema) && typeof schema.default !== "object" ? (
        <div className="y-help">{t("form.default", { value: String(schema.default) })}</div>
      ) : null}
      <FieldError text={error} testId={`error-${name}`} />
    </div>
  );
}

/** A form generated from an object JSON schema (a script's params_schema or a DAG's params). */
export function ParamForm({ schema, values, onChange, errors, disabled, idPrefix = "p", dagId }: ParamFormProps) {
  const { t } = useI18n();
  const live = useParamOptions(dagId, schema, values, onChange);
  const props = Object.entries(schema.properties ?? {});
  if (!props.length) return <p className="y-muted" data-testid="no-params">{t("form.noParams")}</p>;
  const required = new Set(schema.required ?? []);
  const liveOf = (name: string, prop: Schema): Live | undefined => {
    const spec = optionsSpec(prop);
    if (!spec) return undefined;
    const parents = Object.fromEntries(spec.depends_on.map((d) => [d, schema.properties?.[d]?.title ?? d]));
    return { state: live.states[name], notice: live.notices[name], parents, retry: () => live.retry(name) };
  };
  return (
    <div className="y-form-grid" data-testid="param-form">
      {props.map(([name, prop]) => (
        <Field
          key={name}
          id={`${idPrefix}-${name}`}
          name={name}
          schema={prop}
          value={values[name]}
          required={required.has(name) && prop.default === undefined}
          error={errors[name]}
          disabled={disabled}
          live={dagId ? liveOf(name, prop) : undefined}
          onChange={(v, p) => {
            live.dismiss(name);
            onChange(name, v, p);
          }}
        />
      ))}
    </div>
  );
}

/** Values worth putting in a form from a preset or a previous run: masked secrets are dropped. */
export function loadableValues(schema: Schema, values: Record<string, unknown> | null | undefined): { values: Values; skippedSecrets: string[] } {
  const out: Values = {};
  const skipped: string[] = [];
  const props = schema.properties ?? {};
  for (const [k, v] of Object.entries(values ?? {})) {
    if (!(k in props)) continue;
    if (v === "***") {
      skipped.push(k);
      continue;
    }
    out[k] = v;
  }
  return { values: out, skippedSecrets: skipped };
}
