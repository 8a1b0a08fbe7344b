import { useMemo, useState } from "react";
import type { EChartsCoreOption } from "echarts/core";
import { enc, get, qs } from "../lib/api";
import { useDebounced, usePoll } from "../lib/hooks";
import { Link, pagePath, useNav } from "../lib/nav";
import { mainType, type Schema } from "../lib/schema";
import type { Page, Script, ScriptDetail } from "../lib/types";
import { ExportButtons } from "../components/ExportButtons";
import { useI18n } from "../i18n";
import { Chart } from "../components/Chart";
import { Card, DisabledNote, Empty, ErrorBox, Loading, PageHeader, StateBadge, Stat, PermittedLink } from "../components/ui";
import { useMe } from "../lib/me";
import { ScriptCreate } from "./ScriptCreate";

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
  const list = usePoll((signal) => get<Page<Script>>(`ylai/api/v1/scripts${qs({ q: query, runtime, tag, limit: 500 })}`, signal), [query, runtime, tag]);
  const all = usePoll((signal) => get<Page<Script>>("ylai/api/v1/scripts?limit=500&fields=name,tags", signal), []);
  const tags = useMemo(() => [...new Set((all.data?.items ?? []).flatMap((s) => s.tags ?? []))].sort(), [all.data]);
  const items = list.data?.items ?? [];
  const me = useMe();
  const canCreate = me.can("scripts", "create");

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
          {["python", "bash", "executable"].map((r) => (
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
      {list.error ? <ErrorBox error={list.error} /> : null}
      {list.loading && !list.data ? <Loading /> : null}
      {list.data && items.length === 0 ? <Empty>{q || runtime || tag ? t("scripts.noMatch") : t("scripts.none")}</Empty> : null}
      {items.length ? (
        <div className="y-table-wrap">
          <table className="y-table" data-testid="scripts-table">
            <thead>
              <tr>
                <th>{t("col.name")}</th>
                <th>{t("col.owner")}</th>
                <th>{t("col.tags")}</th>
                <th>{t("col.runtime")}</th>
                <th>{t("col.successRate")}</th>
                <th>{t("col.lastRun")}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {items.map((s) => (
                <tr key={s.name}>
                  <td>
                    <Link to={pagePath("scripts", qs({ name: s.name }))} testId={`script-${s.name}`}>
                      {s.title || s.name}
                    </Link>
                    <div className="y-muted y-small">
                      <code>{s.name}</code> {s.description}
                    </div>
                  </td>
                  <td>{s.owner}</td>
                  <td>
                    {s.tags.map((x) => (
                      <span key={x} className="y-chip">
                        {x}
                      </span>
                    ))}
                  </td>
                  <td>{s.runtime}</td>
                  <td>{i.percent(s.stats.success_rate)}</td>
                  <td>{s.stats.last_run_state ? <StateBadge state={s.stats.last_run_state} /> : <span className="y-muted">{t("scripts.never")}</span>}</td>
                  <td>
                    <Link to={pagePath("run", qs({ dag_id: s.dag_id }))} className="y-btn y-btn-small">
                      {t("run.run")}
                    </Link>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
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
  const detail = usePoll((signal) => get<ScriptDetail>(`ylai/api/v1/scripts/${enc(name)}?runs=30`, signal), [name], 15_000);
  const s = detail.data;
  const props = Object.entries(s?.params_schema.properties ?? {});
  const required = new Set(s?.params_schema.required ?? []);
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
                  <Link to={`dags/${enc(s.dag_id)}`}>{s.dag_id}</Link>
                </dd>
                <dt>{t("col.tags")}</dt>
                <dd>{s.tags.join(", ") || "—"}</dd>
              </dl>
              {s.sensitive ? <p className="y-note">{t("scripts.sensitive")}</p> : null}
            </Card>
            <Card title={t("scripts.params")} testId="script-params">
              {props.length === 0 ? <p className="y-muted">{t("form.noParams")}</p> : null}
              {props.length ? (
                <table className="y-table y-table-compact">
                  <thead>
                    <tr>
                      <th>{t("col.name")}</th>
                      <th>{t("col.type")}</th>
                      <th>{t("col.default")}</th>
                      <th>{t("col.constraints")}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {props.map(([k, p]) => (
                      <tr key={k}>
                        <td>
                          <code>{k}</code>
                          {required.has(k) ? <span className="y-required"> *</span> : null}
                          {p.description ? <div className="y-muted y-small">{p.description}</div> : null}
                        </td>
                        <td>{describeType(p)}</td>
                        <td className="y-mono">{p["x-ylai-secret"] ? "***" : p.default === undefined ? "—" : JSON.stringify(p.default)}</td>
                        <td className="y-small">{constraints(p)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
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
                <div className="y-table-wrap">
                  <table className="y-table y-table-compact">
                    <thead>
                      <tr>
                        <th>{t("col.started")}</th>
                        <th>{t("col.state")}</th>
                        <th>{t("col.duration")}</th>
                        <th>{t("col.exitCode")}</th>
                        <th>{t("col.peakRss")}</th>
                        <th>{t("col.cpu")}</th>
                        <th />
                      </tr>
                    </thead>
                    <tbody>
                      {runs.map((r) => (
                        <tr key={r.run_id}>
                          <td className="y-nowrap" title={r.run_id}>
                            {i.dateTime(r.start_date)}
                          </td>
                          <td>
                            <StateBadge state={r.state} />
                          </td>
                          <td>{i.duration(r.duration_seconds)}</td>
                          <td>{r.exit_code ?? "—"}</td>
                          <td>{i.bytes(r.peak_rss_bytes)}</td>
                          <td>{r.cpu_seconds === null || r.cpu_seconds === undefined ? "—" : i.duration(r.cpu_seconds)}</td>
                          <td className="y-nowrap">
                            <Link to={pagePath("run", qs({ dag_id: s.dag_id, run_id: r.run_id }))}>{t("overview.logs")}</Link>
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              ) : null}
            </Card>
          </div>
        </div>
      ) : null}
    </div>
  );
}
