import { vi } from "vitest";

export interface Call {
  method: string;
  path: string;
  search: URLSearchParams;
  body: unknown;
}

export type Handler = (call: Call) => { status?: number; body?: unknown; headers?: Record<string, string> } | undefined;

/**
 * A fake server behind ``fetch``: every request is recorded in ``calls`` and answered by the
 * first handler that returns something (404 otherwise).
 */
export function fakeServer(...handlers: Handler[]): { calls: Call[] } {
  const calls: Call[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: string | Request, init?: RequestInit) => {
      // The typed client (src/api/client.ts) sends Request objects; plain fetch calls send (url, init).
      const request = typeof input === "string" ? null : input;
      const url = new URL(request ? request.url : (input as string));
      const text = request ? await request.text() : init?.body;
      const call: Call = {
        method: (request?.method ?? init?.method ?? "GET").toUpperCase(),
        path: url.pathname,
        search: url.searchParams,
        body: typeof text === "string" && text ? JSON.parse(text) : undefined,
      };
      calls.push(call);
      for (const h of handlers) {
        const answer = h(call);
        if (answer) {
          const status = answer.status ?? 200;
          return new Response(status === 204 ? null : JSON.stringify(answer.body ?? {}), { status, headers: { "Content-Type": "application/json", ...answer.headers } });
        }
      }
      return new Response(JSON.stringify({ error: { code: "not_found", message: "Not Found" } }), { status: 404, headers: { "Content-Type": "application/json" } });
    }),
  );
  return { calls };
}

/** GET /ylai/api/v1/me with these permissions. */
export function meHandler(permissions: Record<string, string[]>, roles = ["User"], username = "ursula"): Handler {
  return (c) => (c.path.endsWith("/ylai/api/v1/me") ? { body: { username, roles, permissions, dags: {} } } : undefined);
}

export function ensureBase(): void {
  if (!document.querySelector("base")) {
    const base = document.createElement("base");
    base.href = `${window.location.origin}/`;
    document.head.appendChild(base);
  }
}
