// All calls are relative to document.baseURI (Airflow's <base href>), same origin: the
// browser sends Airflow's `_token` cookie, so no token handling happens here.

export interface FieldProblem {
  field: string;
  reason: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: FieldProblem[];

  constructor(status: number, code: string, message: string, details: FieldProblem[] = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export function resolveUrl(path: string): string {
  return new URL(path.replace(/^\/+/, ""), document.baseURI).toString();
}

function asProblems(details: unknown): FieldProblem[] {
  if (!Array.isArray(details)) return [];
  const out: FieldProblem[] = [];
  for (const d of details) {
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
      return new ApiError(resp.status, String(e.code ?? "error"), String(e.message ?? resp.statusText), asProblems(e.details));
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

/** Airflow answers a bad param with "Invalid input for param NAME: reason". */
export function paramProblem(message: string): FieldProblem[] {
  const m = /param ([A-Za-z0-9_.-]+): ([\s\S]*)/.exec(message);
  if (!m) return [];
  return [{ field: `params.${m[1]}`, reason: m[2].split("\n\n")[0].trim() }];
}

export async function request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch(resolveUrl(path), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
    signal,
  });
  if (!resp.ok) throw await errorFrom(resp);
  if (resp.status === 204) return undefined as T;
  return (await resp.json()) as T;
}

export const get = <T>(path: string, signal?: AbortSignal) => request<T>("GET", path, undefined, signal);
export const post = <T>(path: string, body: unknown) => request<T>("POST", path, body);
export const patch = <T>(path: string, body: unknown) => request<T>("PATCH", path, body);
export const put = <T>(path: string, body: unknown) => request<T>("PUT", path, body);
export const del = (path: string) => request<void>("DELETE", path);

export function qs(params: Record<string, string | number | boolean | undefined | null>): string {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") s.set(k, String(v));
  }
  const text = s.toString();
  return text ? `?${text}` : "";
}

export const enc = encodeURIComponent;
