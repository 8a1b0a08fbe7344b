import { useEffect, useState } from "react";
import { data, ylai } from "../api/client";
import { useI18n } from "../i18n";
import { useMe } from "../lib/me";

/** The trace backend's page of ``traceId``: ``{trace_id}`` of ``[ylai] trace_url_template`` replaced; null without a template. */
export function traceUrl(template: string | null | undefined, traceId: string): string | null {
  if (!template || !template.includes("{trace_id}")) return null;
  return template.split("{trace_id}").join(encodeURIComponent(traceId));
}

/**
 * A run's trace id (the request's trace for runs started through ylai), linked to the trace
 * backend when ``/me`` names a ``trace_url_template``. Nothing for a run that was not traced.
 * ``traceId`` undefined: read from ``GET /runs/{dag_id}/{run_id}`` (runs not started here).
 */
export function TraceLink({ dagId, runId, traceId }: { dagId: string; runId: string; traceId?: string | null }) {
  const { t } = useI18n();
  const me = useMe();
  const [fetched, setFetched] = useState<string | null>(null);
  useEffect(() => {
    if (traceId !== undefined) return undefined;
    let live = true;
    data(ylai.GET("/api/v1/runs/{dag_id}/{run_id}", { params: { path: { dag_id: dagId, run_id: runId } } })).then(
      (run) => live && setFetched(run.trace_id ?? null),
      () => undefined, // no trace link is no loss: the run's page works without it
    );
    return () => {
      live = false;
    };
  }, [dagId, runId, traceId]);
  const id = traceId ?? fetched;
  if (!id) return null;
  const href = traceUrl(me.traceUrlTemplate, id);
  return (
    <span className="y-small" data-testid="run-trace">
      {t("run.trace")}{" "}
      {href ? (
        <a href={href} target="_blank" rel="noreferrer" title={t("run.traceOpen")} data-testid="run-trace-link">
          <code>{id}</code>
        </a>
      ) : (
        <code title={t("run.traceNoLink")}>{id}</code>
      )}
    </span>
  );
}
