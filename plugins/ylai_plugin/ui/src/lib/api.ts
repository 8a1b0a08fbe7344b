// What every call shares: URLs relative to document.baseURI (Airflow's <base href>) and the error
// envelope turned into an ApiError. The typed calls themselves are in src/api/client.ts.

export interface FieldProblem {
  field: string;
  reason: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: FieldProblem[];
  /** Seconds from the answer's Retry-After header (a 429, a 503), or null without one. */
  readonly retryAfter: number | null;

  constructor(status: number, code: string, message: string, details: FieldProblem[] = [], retryAfter: number | null = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfter = retryAfter;
  }
}

/** Retry-After in seconds (the HTTP-date form is not sent by ylai or Airflow); null if absent or not a number. */
function retryAfterOf(resp: Response): number | null {
  const raw = resp.headers?.get?.("Retry-After");
  const seconds = raw == null ? NaN : Number(raw);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : null;
}

export function resolveUrl(path: string): string {
  return new URL(path.replace(/^\/+/, ""), document.baseURI).toString();
}

function asProblems(details: unknown): FieldProblem[] {
  // One problem may come alone: a 503 names the field whose live options failed ({"field", "source", "reason"}).
  const single = !!details && typeof details === "object" && typeof (details as Record<string, unknown>).field === "string";
  if (!Array.isArray(details) && !single) return [];
  const out: FieldProblem[] = [];
  for (const d of Array.isArray(details) ? details : [details]) {
    if (d && typeof d === "object") {
      const rec = d as Record<string, unknown>;
      if (typeof rec.field === "string") {
        out.push({ field: rec.field, reason: String(rec.reason ?? "") });
      } else if (Array.isArray(rec.loc)) {
        // FastAPI's validation errors (Airflow's /api/v2): {"loc": [...], "msg": "..."}
        out.push({ field: rec.loc.map(String).join("."), reason: String(rec.msg ?? "") });
      }
    }
  }
  return out;
}

/** Turn any error answer (ylai's envelope or Airflow's {"detail": ...}) into an ApiError. */
export async function errorFrom(resp: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await resp.json();
  } catch {
    body = null;
  }
  if (body && typeof body === "object") {
    const rec = body as Record<string, unknown>;
    if (rec.error && typeof rec.error === "object") {
      const e = rec.error as Record<string, unknown>;
      return new ApiError(resp.status, String(e.code ?? "error"), String(e.message ?? resp.statusText), asProblems(e.details), retryAfterOf(resp));
    }
    if ("detail" in rec) {
      const detail = rec.detail;
      if (typeof detail === "string") {
        return new ApiError(resp.status, "error", detail, paramProblem(detail));
      }
      const problems = asProblems(detail);
      const message = problems.map((p) => `${p.field}: ${p.reason}`).join("; ") || resp.statusText;
      return new ApiError(resp.status, "invalid_input", message, problems);
    }
  }
  return new ApiError(resp.status, "error", resp.statusText || `HTTP ${resp.status}`);
}

/** After a failed save: field messages next to their fields; anything else (or no field the form knows) as one error. */
export function showFailure<F extends object>(err: unknown, fields: F | null, setFields: (f: F) => void, setError: (e: unknown) => void): void {
  if (fields) setFields(fields);
  if (!fields || !Object.keys(fields).length) setError(err);
}

/** Airflow answers a bad param with "Invalid input for param NAME: reason". */
export function paramProblem(message: string): FieldProblem[] {
  const m = /param ([A-Za-z0-9_.-]+): ([\s\S]*)/.exec(message);
  if (!m) return [];
  return [{ field: `params.${m[1]}`, reason: m[2].split("\n\n")[0].trim() }];
}

/** Query strings as the servers read them: empty values left out, lists repeated (`dag_id=a&dag_id=b`). */
export function queryString(query: Record<string, unknown> | undefined): string {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) {
    for (const item of Array.isArray(v) ? v : [v]) {
      if (item !== undefined && item !== null && item !== "") s.append(k, String(item));
    }
  }
  return s.toString();
}

/** "?a=1&b=2" for a link's query ("" when empty). */
export function qs(params: Record<string, string | number | boolean | undefined | null>): string {
  const text = queryString(params);
  return text ? `?${text}` : "";
}
