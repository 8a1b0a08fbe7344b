// The Pipelines page: the list of pipelines, and the studio (the editor) for one of them or a new
// one. The studio (React Flow, dagre, yaml) is loaded on demand: the list and the other pages do
// not carry it. See Studio.tsx for the editor and its test hooks.
import { lazy, Suspense, useState, type ComponentType } from "react";
import { resolveUrl, qs } from "../../lib/api";
import { useDebounced, usePoll } from "../../lib/hooks";
import { useMe } from "../../lib/me";
import { Link, pagePath, useNav } from "../../lib/nav";
import { useI18n } from "../../i18n";
import { ListPage, type Column } from "../../components/DataTable";
import { Loading, PageHeader, PermittedLink, StateBadge } from "../../components/ui";
import { listPipelines, type PipelineOut } from "./api";

type StudioModule = { default: ComponentType<{ name: string | null }> };

/**
 * The studio's code. Inside Airflow's UI the pages are one UMD file, which cannot split: there the
 * studio is its own file (dist/studio.umd.cjs, vite.studio.config.ts) that shares this bundle's
 * modules through globalThis.YlaiShared. The standalone view's ES build splits it off by itself.
 */
export function loadStudio(): Promise<StudioModule> {
  if (import.meta.env.YLAI_STUDIO === "umd") {
    return import(/* @vite-ignore */ resolveUrl("ylai/static/studio.umd.cjs")).then(() => ({ default: (globalThis as unknown as { YlaiStudio: StudioModule }).YlaiStudio.default }));
  }
  return import("./Studio");
}

let loading: Promise<StudioModule> | null = null;
const Studio = lazy(() => {
  loading ??= loadStudio().catch((err: unknown) => {
    loading = null;
    throw err;
  });
  return loading;
});

export function Pipelines() {
  const nav = useNav();
  const name = nav.search.get("name");
  if (name || nav.search.get("new")) {
    return (
      <Suspense fallback={<Loading />}>
        <Studio name={name} />
      </Suspense>
    );
  }
  return <PipelineList />;
}

function PipelineList() {
  const { t, dateTime } = useI18n();
  const me = useMe();
  const [q, setQ] = useState("");
  const query = useDebounced(q, 250);
  const list = usePoll((signal) => listPipelines(query, signal), [query]);
  const canCreate = me.can("pipelines", "create");
  const columns: Column<PipelineOut>[] = [
    {
      header: t("col.name"),
      cell: (p) => (
        <>
          <Link to={pagePath("pipelines", qs({ name: p.name }))} testId={`pipeline-${p.name}`}>
            {p.title || p.name}
          </Link>
          <div className="y-muted y-small">
            <code>{p.name}</code> {p.description}
          </div>
        </>
      ),
    },
    {
      header: t("pipelines.source"),
      cell: (p) => (
        <span className="y-chip" data-testid={`source-${p.name}`}>
          {p.source === "repository" ? t("pipelines.sourceRepository") : t("pipelines.sourceDatabase")}
        </span>
      ),
    },
    { header: t("pipelines.nodes"), cell: (p) => p.node_count, className: "y-nowrap" },
    { header: t("col.owner"), cell: (p) => p.owner },
    {
      header: t("col.tags"),
      cell: (p) =>
        p.tags.map((x) => (
          <span key={x} className="y-chip">
            {x}
          </span>
        )),
    },
    {
      header: t("col.lastRun"),
      cell: (p) =>
        p.last_run_state || p.last_run_at ? (
          <>
            <StateBadge state={p.last_run_state} /> <span className="y-muted y-small">{dateTime(p.last_run_at)}</span>
          </>
        ) : (
          <span className="y-muted">—</span>
        ),
    },
  ];
  return (
    <div data-testid="page-pipelines">
      <PageHeader
        title={t("pipelines.title")}
        subtitle={t("pipelines.subtitle")}
        actions={
          <PermittedLink allowed={canCreate} to={pagePath("pipelines", "?new=1")} className="y-btn y-btn-primary" testId="pipeline-new" reason={t("perm.noPipelineCreate")}>
            {t("pipelines.new")}
          </PermittedLink>
        }
      />
      <div className="y-row y-filters">
        <input className="y-input y-grow" value={q} placeholder={t("pipelines.search")} aria-label={t("pipelines.search")} onChange={(e) => setQ(e.target.value)} data-testid="pipelines-search" />
      </div>
      <ListPage list={list} rows={list.data?.items ?? []} columns={columns} rowKey={(p) => p.name} testId="pipelines-table" empty={t("pipelines.none")} emptyTestId="pipelines-empty" />
    </div>
  );
}
