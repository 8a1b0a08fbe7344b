import { useMemo, useState } from "react";
import type { EChartsCoreOption } from "echarts/core";
import { qs } from "../lib/api";
import { data, partialData, ylai } from "../api/client";
import { pathsApiV1ScriptsGetParametersQueryRuntimeAnyOf0Values as RUNTIMES } from "../../generated/ylai";
import type { Script } from "../api/models";
import { useDebounced, usePoll } from "../lib/hooks";
import { Link, pagePath, useNav } from "../lib/nav";
import { mainType, type Schema } from "../lib/schema";
import { ExportButtons } from "../components/ExportButtons";
import { useI18n } from "../i18n";
import { Chart } from "../components/Chart";
import { Card, DisabledNote, Empty, ErrorBox, Loading, PageHeader, StateBadge, Stat, PermittedLink } from "../components/ui";
import { DataTable, ListPage, type Column } from "../components/DataTable";
import { useMe } from "../lib/me";
import { ScriptCreate } from "./ScriptCreate";
import { ScriptVersions, versionLabel } from "../components/ScriptVersions";

type Runtime = NonNullable<(typeof RUNTIMES)[number]>;

export function Scripts() {
  const nav = useNav();
  const name = nav.search.get("name");
  if (nav.search.get("new")) return <ScriptCreate />;
  return name ? <ScriptView name={name} created={nav.search.get("created") === "1"} /> : <ScriptList />;
}

function ScriptList() {
  const i = useI18n();
  const { t } = i;
  const [q, setQ] = useState("");
  const [runtime, setRuntime] = useState("");
  const [tag, setTag] = useState("");
  const query = useDebounced(q, 250);
  const list = usePoll((signal) => data(ylai.GET("/api/v1/scripts", { params: { query: { q: query, runtime: (runtime || undefined) as Runtime | undefined, tag, limit: 500 } }, signal })), [query, runtime, tag]);
  const all = usePoll((signal) => partialData(ylai.GET("/api/v1/scripts", { params: { query: { limit: 500, fields: "name,tags" } }, signal })), []);
  const tags = useMemo(() => [...new Set((all.data?.items ?? []).flatMap((s) => (s.tags as string[] | undefined) ?? []))].sort(), [all.data]);
  const items = list.data?.items ?? [];
  const me = useMe();
  const canCreate = me.can("scripts", "create");
  const columns: Column<Script>[] = [
    {
      header: t("col.name"),
      cell: (s) => (
        <>
          <Link to={pagePath("scripts", qs({ name: s.name }))} testId={`script-${s.name}`}>
            {s.title || s.name}
          </Link>
          <div className="y-muted y-small">
            <code>{s.name}</code> {s.description}
          </div>
        </>
      ),
    },
    { header: t("col.owner"), cell: (s) => s.owner },
    {
      header: t("col.tags"),
      cell: (s) =>
        s.tags.map((x) => (
          <span key={x} className="y-chip">
            {x}
          </span>
        )),
    },
    { header: t("col.runtime"), cell: (s) => s.runtime },
    { header: t("col.successRate"), cell: (s) => i.percent(s.stats.success_rate) },
    { header: t("col.lastRun"), cell: (s) => (s.stats.last_run_state ? <StateBadge state={s.stats.last_run_state} /> : <span className="y-muted">{t("scripts.never")}</span>) },
    {
      header: null,
      cell: (s) => (
        <Link to={pagePath("run", qs({ dag_id: s.dag_id }))} className="y-btn y-btn-small">
          {t("run.run")}
        </Link>
      ),
    },
  ];

  return (
    <div data-testid="page-scripts">
      <PageHeader
        title={t("scripts.title")}
        subtitle={t("scripts.subtitle")}
        actions={
          <PermittedLink allowed={canCreate} to={pagePath("scripts", "?new=1")} className="y-btn y-btn-primary" testId="script-new" reason={t("perm.noScriptCreate")}>
            {t("scriptNew.button")}
          </PermittedLink>
        }
      />
      <DisabledNote show={me.loaded && !canCreate} text={t("perm.noScriptCreate")} testId="script-permission" />
      <div className="y-row y-wrap y-filters">
        <input className="y-input y-grow" type="search" placeholder={t("scripts.search")} aria-label={t("scripts.search")} value={q} onChange={(e) => setQ(e.target.value)} data-testid="script-search" />
        <select className="y-input" aria-label={t("scripts.runtime")} value={runtime} onChange={(e) => setRuntime(e.target.value)} data-testid="runtime-filter">
          <option value="">{t("scripts.allRuntimes")}</option>
          {RUNTIMES.map((r) => r && (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
        <select className="y-input" aria-label={t("scripts.tag")} value={tag} onChange={(e) => setTag(e.target.value)} data-testid="tag-filter">
          <option value="">{t("scripts.allTags")}</option>
          {tags.map((x) => (
            <option key={x} value={x}>
              {x}
            </option>
          ))}
        </select>
        <div className="y-push">
          <ExportButtons kind="scripts" testId="export-scripts" />
        </div>
      </div>
      <ListPage list={list} rows={items} columns={columns} rowKey={(s) => s.name} testId="scripts-table" empty={q || runtime || tag ? t("scripts.noMatch") : t("scripts.none")} />
    </div>
  );
}

export function describeType(schema: Schema): string {
  const type = mainType(schema) ?? "any";
  if (schema.enum) return `enum`;
  if (type === "array" && schema.items) return `array<${mainType(schema.items) ?? "any"}>`;
  return schema.format ? `${type} (${schema.format})` : type;
}

function constraints(s: Schema): string {
  const parts: string[] = [];
  if (s.minimum !== undefined) parts.push(`≥ ${s.minimum}`);
  if (s.maximum !== undefined) parts.push(`≤ ${s.maximum}`);
  if (s.minLength !== undefined) parts.push(`len ≥ ${s.minLength}`);
  if (s.maxLength !== undefined) parts.push(`len ≤ ${s.maxLength}`);
  if (s.pattern) parts.push(`/${s.pattern}/`);
  if (s.enum) parts.push(s.enum.filter((v) => v !== null).map((v) => s.values_display?.[String(v)] ?? String(v)).join(" | "));
  if (s.items?.enum) parts.push(s.items.enum.map(String).join(" | "));
  return parts.join(", ");
}

function ScriptView({ name, created }: { name: string; created: boolean }) {
  const i = useI18n();
  const { t } = i;
  const detail = usePoll((signal) => data(ylai.GET("/api/v1/scripts/{name}", { params: { path: { name }, query: { runs: 30 } }, signal })), [name], 15_000);
  const s = detail.data;
  const paramsSchema = s?.params_schema as Schema | undefined;
  const props = Object.entries(paramsSchema?.properties ?? {});
  const required = new Set(paramsSchema?.required ?? []);
  const runs = s?.recent_runs ?? [];
  const option: EChartsCoreOption | null = useMemo(() => {
    if (!runs.length) return null;
    const ordered = [...runs].reverse();
    return {
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 8, right: 8, top: 32, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: ordered.map((r) => i.dateTime(r.start_date)), axisLabel: { show: false } },
      yAxis: [
        { type: "value", name: t("monitor.seconds") },
        { type: "value", name: "MiB", splitLine: { show: false } },
      ],
      series: [
        { name: t("col.duration"), type: "bar", data: ordered.map((r) => r.duration_seconds) },
        { name: t("col.peakRss"), type: "line", yAxisIndex: 1, data: ordered.map((r) => (r.peak_rss_bytes ? Math.round(r.peak_rss_bytes / 1048576) : null)) },
      ],
    };
  }, [runs, i, t]);

  return (
    <div data-testid="page-scripts">
      <PageHeader
        title={s?.title || name}
        subtitle={s?.description}
        actions={
          <>
            <Link to={pagePath("scripts")} className="y-btn">
              {t("common.back")}
            </Link>
            {s ? (
              <Link to={pagePath("run", qs({ dag_id: s.dag_id }))} className="y-btn y-btn-primary" testId="script-run">
                {t("run.run")}
              </Link>
            ) : null}
          </>
        }
      />
      {created ? (
        <p className="y-note" data-testid="script-created">
          {t("scriptNew.created", { name })}
        </p>
      ) : null}
      {detail.error ? <ErrorBox error={detail.error} /> : null}
      {!s && !detail.error ? <Loading /> : null}
      {s ? (
        <div className="y-split" data-testid="script-detail">
          <div className="y-col">
            <Card title={t("scripts.about")}>
              <dl className="y-dl">
                <dt>{t("col.owner")}</dt>
                <dd>{s.owner}</dd>
                <dt>{t("col.runtime")}</dt>
                <dd>{s.runtime}{s.version ? ` · v${s.version}` : ""}</dd>
                <dt>{t("scripts.timeout")}</dt>
                <dd>{i.duration(s.timeout_seconds)}</dd>
                <dt>{t("scripts.retries")}</dt>
                <dd>{s.retries}</dd>
                <dt>DAG</dt>
                <dd>
                  <Link to={`dags/${encodeURIComponent(s.dag_id)}`}>{s.dag_id}</Link>
                </dd>
                <dt>{t("col.tags")}</dt>
                <dd>{s.tags.join(", ") || "—"}</dd>
              </dl>
              {s.sensitive ? <p className="y-note">{t("scripts.sensitive")}</p> : null}
            </Card>
            <Card title={t("scripts.params")} testId="script-params">
              {props.length === 0 ? <p className="y-muted">{t("form.noParams")}</p> : null}
              {props.length ? (
                <DataTable
                  compact
                  rows={props}
                  rowKey={([k]) => k}
                  columns={[
                    {
                      header: t("col.name"),
                      cell: ([k, p]) => (
                        <>
                          <code>{k}</code>
                          {required.has(k) ? <span className="y-required"> *</span> : null}
                          {p.description ? <div className="y-muted y-small">{p.description}</div> : null}
                        </>
                      ),
                    },
                    { header: t("col.type"), cell: ([, p]) => describeType(p) },
                    { header: t("col.default"), className: "y-mono", cell: ([, p]) => (p["x-ylai-secret"] ? "***" : p.default === undefined ? "—" : JSON.stringify(p.default)) },
                    { header: t("col.constraints"), className: "y-small", cell: ([, p]) => constraints(p) },
                  ]}
                />
              ) : null}
            </Card>
            <Card title={t("scripts.outputs")}>
              {Object.keys(s.outputs).length === 0 ? <p className="y-muted">{t("scripts.noOutputs")}</p> : null}
              <ul className="y-list">
                {Object.entries(s.outputs).map(([k, o]) => (
                  <li key={k}>
                    <code>{k}</code> <span className="y-muted">{o.type}</span> {o.description}
                  </li>
                ))}
              </ul>
            </Card>
          </div>
          <div className="y-col">
            <Card title={t("scripts.stats")} testId="script-stats">
              <div className="y-stats">
                <Stat label={t("col.successRate")} value={i.percent(s.stats.success_rate)} />
                <Stat label={t("state.success")} value={i.number(s.stats.succeeded)} tone="ok" />
                <Stat label={t("state.failed")} value={i.number(s.stats.failed)} tone="bad" />
              </div>
              {option ? <Chart option={option} height={200} label={t("scripts.resourceChart")} /> : null}
            </Card>
            <Card title={t("scripts.recentRuns")} testId="script-runs">
              <ExportButtons kind="runs" filters={{ script: [s.name] }} testId="export-script-runs" />
              {runs.length === 0 ? <Empty>{t("scripts.noRuns")}</Empty> : null}
              {runs.length ? (
                <DataTable
                  compact
                  rows={runs}
                  rowKey={(r) => r.run_id}
                  columns={[
                    { header: t("col.started"), className: "y-nowrap", title: (r) => r.run_id, cell: (r) => i.dateTime(r.start_date) },
                    { header: t("col.state"), cell: (r) => <StateBadge state={r.state} /> },
                    { header: t("col.duration"), cell: (r) => i.duration(r.duration_seconds) },
                    { header: t("col.version"), className: "y-mono y-small", cell: (r) => versionLabel(r.script_version) },
                    { header: t("col.exitCode"), cell: (r) => r.exit_code ?? "—" },
                    { header: t("col.peakRss"), cell: (r) => i.bytes(r.peak_rss_bytes) },
                    { header: t("col.cpu"), cell: (r) => (r.cpu_seconds === null || r.cpu_seconds === undefined ? "—" : i.duration(r.cpu_seconds)) },
                    { header: null, className: "y-nowrap", cell: (r) => <Link to={pagePath("run", qs({ dag_id: s.dag_id, run_id: r.run_id }))}>{t("overview.logs")}</Link> },
                  ]}
                />
              ) : null}
            </Card>
          </div>
        </div>
      ) : null}
      {s?.source === "database" ? <ScriptVersions name={name} onRestored={detail.refresh} /> : null}
      {s?.source === "repository" ? (
        <p className="y-muted y-small" data-testid="versions-repository">
          {t("versions.repository")}
        </p>
      ) : null}
    </div>
  );
}
