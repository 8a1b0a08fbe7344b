// Which dependency ylai's API last said is down (a 503 whose envelope names it), shared by every
// call: src/api/client.ts reports each answer here, the banner in the shell (OutageBanner) shows it.

/** A 503 of ylai's API: `details.dependency` ("metadata_db", "broker", "cache", or null after a timeout). */
export interface Outage {
  dependency: string | null;
  /** The server's sentence, already in the page's language (Accept-Language). */
  message: string;
  /** Seconds the server asked to wait (Retry-After). */
  retryAfter: number;
}

type Listener = (outage: Outage | null) => void;

let current: Outage | null = null;
const listeners = new Set<Listener>();

function publish(next: Outage | null): void {
  current = next;
  for (const listener of listeners) listener(next);
}

/** The outage the last answer reported (null when the last answer was fine). */
export function currentOutage(): Outage | null {
  return current;
}

export function reportOutage(outage: Outage): void {
  const same = current && current.dependency === outage.dependency && current.message === outage.message && current.retryAfter === outage.retryAfter;
  if (!same) publish(outage);
}

/** A request succeeded: whatever was down answers again. */
export function reportRecovery(): void {
  if (current) publish(null);
}

export function subscribeOutage(listener: Listener): () => void {
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}

/**
 * The outage an error answer reports, or null: only ylai's 503 envelope with a `dependency` in its
 * details (a missing font or an unbuilt Swagger UI is a 503 too, but nothing to wait for).
 */
export function outageFrom(status: number, body: unknown, retryAfter: string | null): Outage | null {
  if (status !== 503 || !body || typeof body !== "object") return null;
  const error = (body as Record<string, unknown>).error;
  if (!error || typeof error !== "object") return null;
  const { message, details } = error as Record<string, unknown>;
  if (!details || typeof details !== "object" || Array.isArray(details) || !("dependency" in details)) return null;
  const dependency = (details as Record<string, unknown>).dependency;
  const seconds = Number(retryAfter);
  return {
    dependency: typeof dependency === "string" ? dependency : null,
    message: typeof message === "string" ? message : "",
    retryAfter: Number.isFinite(seconds) && seconds > 0 ? seconds : 5,
  };
}
