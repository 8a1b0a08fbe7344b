import { useEffect, useState } from "react";
import { data, queryString, ylai, ylaiUrl, type Schemas } from "../api/client";
import type { ExportFilterValues, ExportFormat, ExportJob, ExportKind } from "../api/models";
import { pathsApiV1ExportsKindGetParametersQueryFormatValues } from "../../generated/ylai";
import { ApiError } from "../lib/api";
import { useMe } from "../lib/me";
import { useI18n } from "../i18n";
import { ErrorBox } from "./ui";

export const FORMATS: readonly ExportFormat[] = pathsApiV1ExportsKindGetParametersQueryFormatValues;
export type Period = "7d" | "30d" | "thisMonth" | "lastMonth";
const PERIODS: Period[] = ["30d", "7d", "thisMonth", "lastMonth"];

const pad = (n: number) => String(n).padStart(2, "0");

/** The filters of a period, relative to ``now`` (months in UTC, like the server's ``month``). */
export function periodFilters(period: Period, now = new Date()): ExportFilterValues {
  if (period === "7d" || period === "30d") {
    const days = period === "7d" ? 7 : 30;
    return { since: new Date(now.getTime() - days * 86_400_000).toISOString() };
  }
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth(); // 0-based
  if (period === "thisMonth") return { month: `${y}-${pad(m + 1)}` };
  return m === 0 ? { month: `${y - 1}-12` } : { month: `${y}-${pad(m)}` };
}

/** ``?format=..&language=..&dag_id=a&dag_id=b`` for GET /exports/{kind}. */
export function exportQuery(format: ExportFormat, language: string, filters: ExportFilterValues): string {
  return `?${queryString({ format, language, ...filters })}`;
}

function fileNameOf(resp: Response, fallback: string): string {
  const cd = resp.headers.get("Content-Disposition") ?? "";
  const star = /filename\*=UTF-8''([^;]+)/i.exec(cd);
  if (star) return decodeURIComponent(star[1]);
  const plain = /filename="?([^";]+)"?/i.exec(cd);
  return plain ? plain[1] : fallback;
}

function saveAs(href: string, name?: string): void {
  const a = document.createElement("a");
  a.href = href;
  if (name !== undefined) a.download = name;
  a.rel = "noopener";
  a.style.display = "none";
  document.body.appendChild(a);
  a.click();
  a.remove();
}

/**
 * CSV / Excel / PDF of a list, in the UI's language. CSV streams straight to the browser's
 * download; Excel and PDF are fetched, and when they are too big for a direct download (413)
 * an export job runs with its progress shown, then a download link.
 */
export function ExportButtons({ kind, filters = {}, period: withPeriod = true, testId = "export" }: { kind: ExportKind; filters?: ExportFilterValues; period?: boolean; testId?: string }) {
  const { t, lang, number } = useI18n();
  const me = useMe();
  const [period, setPeriod] = useState<Period>("30d");
  const [busy, setBusy] = useState<ExportFormat | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [job, setJob] = useState<ExportJob | null>(null);
  const canRead = me.can("reports", "read");
  const canJob = me.can("reports", "create");
  const all: ExportFilterValues = { ...(withPeriod ? periodFilters(period) : {}), ...filters };
  const language = lang as Schemas["ExportJobIn"]["language"];
  const startJob = async (format: ExportFormat) => setJob(await data(ylai.POST("/api/v1/exports/jobs", { body: { kind, format, language, filters: all } })));

  const download = async (format: ExportFormat) => {
    setError(null);
    setJob(null);
    if (format === "csv") {
      // streamed by the browser, any size; the server names the file
      saveAs(ylaiUrl("/api/v1/exports/{kind}", { kind }, { format, language, ...all }));
      return;
    }
    setBusy(format);
    try {
      const { data: blob, response } = await ylai.GET("/api/v1/exports/{kind}", { params: { path: { kind }, query: { format, language, ...all } }, parseAs: "blob" });
      const href = URL.createObjectURL(blob as Blob);
      saveAs(href, fileNameOf(response, `${kind}.${format}`));
      window.setTimeout(() => URL.revokeObjectURL(href), 60_000);
    } catch (err) {
      if (err instanceof ApiError && err.status === 413 && canJob) await startJob(format).catch(setError);
      else setError(err);
    } finally {
      setBusy(null);
    }
  };

  const background = async (format: ExportFormat) => {
    setError(null);
    try {
      await startJob(format);
    } catch (err) {
      setError(err);
    }
  };

  // Follow a running job until it ends.
  const jobId = job?.id;
  const running = job ? job.state === "queued" || job.state === "running" : false;
  useEffect(() => {
    if (jobId === undefined || !running) return undefined;
    const id = window.setInterval(() => {
      data(ylai.GET("/api/v1/exports/jobs/{job_id}", { params: { path: { job_id: jobId } } })).then(setJob, (err: unknown) => {
        if (err instanceof ApiError) setError(err);
      });
    }, 1000);
    return () => window.clearInterval(id);
  }, [jobId, running]);

  const note = !me.loaded ? undefined : !canRead ? t("perm.noExport") : undefined;
  return (
    <div className="y-export" data-testid={testId}>
      <div className="y-row y-wrap">
        <span className="y-muted y-small">{t("export.label")}</span>
        {withPeriod ? (
          <select className="y-input y-input-small" aria-label={t("export.period")} value={period} onChange={(e) => setPeriod(e.target.value as Period)} data-testid={`${testId}-period`}>
            {PERIODS.map((p) => (
              <option key={p} value={p}>
                {t(`export.period.${p}` as "export.period.30d")}
              </option>
            ))}
          </select>
        ) : null}
        {FORMATS.map((f) => (
          <button key={f} type="button" className="y-btn y-btn-small" disabled={!canRead || busy !== null} title={note ?? t("export.hint", { format: t(`export.format.${f}` as "export.format.csv") })} onClick={() => void download(f)} data-testid={`${testId}-${f}`}>
            {busy === f ? t("export.preparing") : t(`export.format.${f}` as "export.format.csv")}
          </button>
        ))}
        {canJob ? (
          <button type="button" className="y-btn y-btn-small" disabled={running} title={t("export.backgroundHint")} onClick={() => void background("xlsx")} data-testid={`${testId}-job`}>
            {t("export.background")}
          </button>
        ) : null}
      </div>
      {me.loaded && !canRead ? <p className="y-muted y-small" data-testid={`${testId}-permission`}>{t("perm.noExport")}</p> : null}
      <ErrorBox error={error} testId={`${testId}-error`} />
      {job ? (
        <div className="y-note y-row y-wrap" data-testid={`${testId}-status`} data-state={job.state}>
          {job.state === "queued" || job.state === "running" ? (
            <>
              <span>{t("export.running", { format: t(`export.format.${job.format}` as "export.format.csv") })}</span>
              <progress max={1} value={job.progress ?? undefined} aria-label={t("export.progress")} />
              <span className="y-small y-muted">
                {job.rows_total !== null ? t("export.rows", { done: number(job.rows_done), total: number(job.rows_total) }) : t("export.counting")}
              </span>
            </>
          ) : null}
          {job.state === "success" ? (
            <>
              <span>{t("export.ready")}</span>
              <a className="y-btn y-btn-small y-btn-primary" href={ylaiUrl("/api/v1/exports/jobs/{job_id}/download", { job_id: job.id })} download={job.file_name ?? undefined} data-testid={`${testId}-download`}>
                {t("export.download", { name: job.file_name ?? `${job.kind}.${job.format}` })}
              </a>
            </>
          ) : null}
          {job.state === "failed" ? <span className="y-tone-bad">{t("export.failed", { error: job.error ?? "" })}</span> : null}
        </div>
      ) : null}
    </div>
  );
}
