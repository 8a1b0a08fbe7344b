// Typed calls to ylai's API and to the parts of Airflow's /api/v2 the pages use: openapi-fetch over
// the types that `npm run gen:api` generates from the OpenAPI documents (generated/*.ts).
//
// Every call is relative to document.baseURI (Airflow's <base href>) and same origin, so the
// browser sends Airflow's `_token` cookie: no token handling happens here. Any error answer
// (ylai's envelope or Airflow's {"detail": ...}) rejects the call with an ApiError. Each call
// asks for the pages' current language (Accept-Language), so ylai's error messages and
// reasons come in the language the user reads the page in, not the browser's.
import createClient, { type Middleware } from "openapi-fetch";
import type { components as AirflowComponents, paths as AirflowPaths } from "../../generated/airflow";
import { SERVER_URL, type components, type paths } from "../../generated/ylai";
import { detectLang } from "../i18n";
import { errorFrom, queryString, resolveUrl } from "../lib/api";
import { currentOutage, outageFrom, reportOutage, reportRecovery } from "../lib/outage";

export { queryString };

/** The schemas of ylai's API (`Schemas["TaskOut"]`). */
export type Schemas = components["schemas"];
/** The schemas of Airflow's /api/v2 (`AirflowSchemas["DAGRunResponse"]`). */
export type AirflowSchemas = AirflowComponents["schemas"];
export type YlaiPath = keyof paths;

/** A Request whose relative URL ("ylai/api/v1/me") resolves against Airflow's base URL, not the host root. */
class BaseRelativeRequest extends Request {
  constructor(input: RequestInfo | URL, init?: RequestInit) {
    super(typeof input === "string" ? resolveUrl(input) : input, init);
  }
}

const envelope: Middleware = {
  onRequest({ request }) {
    request.headers.set("Accept", "application/json");
    // Read at each call: the user may switch languages while the page stays open.
    request.headers.set("Accept-Language", detectLang());
    return request;
  },
  async onResponse({ response }) {
    if (!response.ok) throw await errorFrom(response);
    return response;
  },
};

/**
 * Tells the outage banner (src/components/OutageBanner.tsx) what each answer of ylai's API says:
 * a 503 naming a dependency reports it, a success clears it. A /health answer clears it only if
 * the dependency it named is no longer unhealthy there. Registered after `envelope`, so it sees
 * each answer first (openapi-fetch runs onResponse in reverse order); it reads copies of the body.
 */
const outageWatch: Middleware = {
  async onResponse({ request, response }) {
    const body = async () => response.clone().json().catch(() => null);
    if (!response.ok) {
      const outage = outageFrom(response.status, await body(), response.headers.get("Retry-After"));
      if (outage) reportOutage(outage);
      return response;
    }
    const outage = currentOutage();
    if (!outage) return response;
    if (outage.dependency && new URL(request.url).pathname.endsWith("/api/v1/health")) {
      const health = (await body()) as Record<string, { status?: string } | undefined> | null;
      if (health?.[outage.dependency]?.status === "unhealthy") return response;
    }
    reportRecovery();
    return response;
  },
};

type Query = Record<string, unknown>;

function client<P extends {}>(baseUrl: string) {
  const c = createClient<P>({
    baseUrl,
    credentials: "same-origin",
    Request: BaseRelativeRequest,
    // Looked up at each call, so tests can stand a fake server behind fetch.
    fetch: (request) => globalThis.fetch(request),
    querySerializer: queryString,
  });
  c.use(envelope);
  return c;
}

/**
 * Tells ylai's usage statistics that a call comes from its pages (runs, presets, exports and saves
 * from the UI against the same from the API); calls without it count as the API's.
 */
const uiSource: Middleware = {
  onRequest({ request }) {
    request.headers.set("X-Ylai-Source", "ui");
    return request;
  },
};

/** ylai's API at its document's server URL ("/ylai"), relative to Airflow's base URL. */
export const ylai = client<paths>(SERVER_URL.replace(/^\/+/, ""));
ylai.use(outageWatch, uiSource);
/** Airflow's own API (/api/v2/...), relative to Airflow's base URL. */
export const airflow = client<AirflowPaths>("");

type Partial = Schemas["PartialPage"];
/** A list answer without the "partial page" the document also allows: that one comes only with `fields`. */
type Whole<T> = T extends Partial ? (Partial extends T ? never : T) : T;

/** The data of a successful call (a failed one has already thrown its ApiError). */
export async function data<T>(call: Promise<{ data?: T }>): Promise<Whole<T>> {
  return (await call).data as Whole<T>;
}

/** The data of a list call that asks for some `fields` only: items with those keys. */
export async function partialData(call: Promise<{ data?: unknown }>): Promise<Partial> {
  return (await call).data as Partial;
}

/** The URL of a ylai route for the browser itself (an EventSource, a download link): path params filled in, plus a query. */
export function ylaiUrl(path: YlaiPath, params: Record<string, string | number> = {}, query?: Query): string {
  const filled = path.replace(/\{(\w+)\}/g, (_, k: string) => encodeURIComponent(String(params[k])));
  const qs = queryString(query);
  return resolveUrl(`${SERVER_URL}${filled}${qs ? `?${qs}` : ""}`);
}
