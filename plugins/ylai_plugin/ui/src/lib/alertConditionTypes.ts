// The shape of generated/alertConditions.ts: one entry per alert condition type of ylai's registry,
// written by scripts/gen-api.mjs from the condition modules' params schemas and x-ylai-ui hints.

/** One param of a condition: its JSON Schema (type, default, constraints) and its form hints. */
export interface ConditionField {
  name: string;
  type: string;
  required: boolean;
  nullable: boolean;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  enum?: string[];
  pattern?: string;
  format?: string;
  /** i18n keys: the field's label, its help, the message of a failed pattern, enum value -> label. */
  label: string;
  help?: string;
  error?: string;
  options?: Record<string, string>;
  /** The form's value when the schema has no default. */
  initial?: unknown;
  /** How a summary shows a number: a duration in seconds or minutes. */
  unit?: "seconds" | "minutes";
  input?: string;
  hidden?: boolean;
}

/** A choice between groups of fields (exactly one group is sent), kept in the form under its name. */
export interface ConditionModes {
  name: string;
  label: string;
  options: { value: string; label: string; fields: string[]; summary: string }[];
}

export interface ConditionSpec {
  type: string;
  title: string;
  labels: { label: string; help: string; summary: string };
  fields: ConditionField[];
  modes?: ConditionModes;
  /** The summary's i18n key by the value of a field. */
  summary?: { field: string; keys: Record<string, string> };
  /** The condition that "Add a condition" adds. */
  add_default?: boolean;
}
