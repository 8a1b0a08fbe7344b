/*
 * The pipeline studio: a visual editor of a pipeline spec (canvas, palette, inspector, settings,
 * YAML), its validation as you edit, save, and runs followed on the canvas.
 *
 * Test hooks (stable, for the e2e test):
 *   list (index.tsx): pipelines-search, pipeline-<name> (link), source-<name>, pipeline-new
 *   palette-search, palette-item-<script>        the palette and its scripts (draggable), palette-add-<script> ("+")
 *   studio-canvas                                the canvas (drop target); nodes are xyflow's
 *                                                `.react-flow__node[data-id=<node>]`, inside them
 *                                                studio-node-<id>, node-problem-<id>, node-state-<id>
 *   inspector, inspector-id, inspector-param-<name>, binding-<name> (the param's source select:
 *   "" default, "literal", "param:<p>", "from:<node>.<output>"), a literal's input is the run
 *   form's field-<name> inside inspector-param-<name>, inspector-problem-<name>,
 *   inspector-after-<node> (runs-after checkboxes), inspector-retries, inspector-timeout
 *   studio-canvas-tab, studio-yaml-tab, studio-settings-tab, studio-yaml (textarea), studio-yaml-error
 *   settings-<field> (name, title, owner, schedule, tags, retries, description, alerts),
 *   settings-problem-<field>, settings-param-<name>, settings-new-param, settings-add-param,
 *   studio-versions, version-<n>, restore-<n>, studio-delete (database pipelines, settings tab)
 *   studio-name (a new pipeline's name, also settings-name), studio-save, studio-comment, studio-save-copy, studio-copy-name, studio-download, studio-run,
 *   studio-saved, studio-save-error, studio-run-dialog (its params: field-<name>), studio-run-note,
 *   studio-run-start, studio-run-state (data-state = the run's), studio-run-node (a clicked node's
 *   outputs: studio-node-outputs, and log-viewer), studio-undo, studio-redo, studio-layout,
 *   studio-notice (e.g. a refused cycle), studio-problems, studio-valid, studio-readonly;
 *   studio-page has data-readonly="true" for a read-only editor
 */
import { useCallback, useEffect, useMemo, useRef, useState, type DragEvent, type KeyboardEvent } from "react";
import {
  Background,
  Controls,
  MarkerType,
  MiniMap,
  ReactFlow,
  ReactFlowProvider,
  applyEdgeChanges,
  applyNodeChanges,
  useReactFlow,
  type Connection,
  type Edge,
  type EdgeChange,
  type Node,
  type NodeChange,
} from "@xyflow/react";
import { ApprovalNote } from "../../components/ApprovalNote";
import { TraceLink } from "../../components/TraceLink";
import { DisabledNote, ErrorBox, FieldError, Loading, PageHeader, StateBadge } from "../../components/ui";
import { useDark, useI18n } from "../../i18n";
import { useStudioText, type StudioKey } from "./i18n";
import { ylaiUrl } from "../../api/client";
import { qs } from "../../lib/api";
import { usePoll } from "../../lib/hooks";
import { useDagRights, useMe } from "../../lib/me";
import { Link, pagePath, useNav } from "../../lib/nav";
import type { Schema } from "../../lib/schema";
import {
  addNode,
  autoLayout,
  copyNodes,
  createHistory,
  graphToSpec,
  pasteNodes,
  push,
  redo,
  removeNodes,
  renameNode,
  setParam,
  specToGraph,
  specToYaml,
  undo,
  wouldCreateCycle,
  yamlToSpec,
  type Clipboard,
  type History,
  type Layout,
  type NodeSpec,
  type PipelineSpec,
  type Problem,
  type ScriptInfo,
  type StudioEdgeData,
} from "../../lib/pipeline";
import { createPipeline, getPipeline, listScripts, saveVersion, validateSpec, type PipelineDetail } from "./api";
import { Inspector } from "./Inspector";
import { RunDialog, RunNode, useRunStates, type Following } from "./RunPanel";
import { Settings } from "./Settings";
import { Versions } from "./Versions";
import { NODE_TYPES, type NodeData, type StudioNodeType } from "./StudioNode";
import { injectStudioStyles } from "./studioStyles";

export const SCRIPT_MIME = "application/x-ylai-script";
const EMPTY: PipelineSpec = { name: "", title: "", description: "", params: {}, nodes: {}, layout: {} };

let clipboard: Clipboard | null = null;

/** Add an ordering edge source → target (a depends_on of target), unless one exists already. */
export function connectNodes(spec: PipelineSpec, source: string, target: string): PipelineSpec {
  const { edges } = specToGraph(spec);
  if (edges.some((e) => e.source === source && e.target === target)) return spec;
  const node = spec.nodes[target];
  return { ...spec, nodes: { ...spec.nodes, [target]: { ...node, depends_on: [...(node.depends_on ?? []), source] } } };
}

/** Remove every edge source → target (and so the bindings and depends_on that make it). */
export function disconnectNodes(spec: PipelineSpec, source: string, target: string): PipelineSpec {
  const g = specToGraph(spec);
  return graphToSpec(spec, g.nodes, g.edges.filter((e) => !(e.source === source && e.target === target)));
}

/** Every node placed by dagre, from its measured size where known. */
export function layoutOf(spec: PipelineSpec, measured: Map<string, { width?: number; height?: number } | undefined> = new Map()): Layout {
  const g = specToGraph(spec);
  const nodes = g.nodes.map((n) => ({ ...n, measured: measured.get(n.id) }));
  return Object.fromEntries(autoLayout(nodes, g.edges).map((n) => [n.id, n.position]));
}

/** Positions for the nodes the layout lacks (all of them laid out when none has one). */
export function withLayout(spec: PipelineSpec): PipelineSpec {
  const ids = Object.keys(spec.nodes);
  const layout = spec.layout ?? {};
  const missing = ids.filter((id) => !layout[id]);
  if (!missing.length) return spec;
  const auto = layoutOf(spec);
  if (missing.length === ids.length) return { ...spec, layout: auto };
  // Some placed: put the new ones below everything, in the automatic layout's columns.
  const bottom = Math.max(0, ...ids.filter((id) => layout[id]).map((id) => layout[id].y)) + 120;
  const next = { ...layout };
  for (const id of missing) next[id] = { x: auto[id].x, y: auto[id].y + bottom };
  return { ...spec, layout: next };
}

function toInfo(s: { name: string; title: string; tags: string[]; owner: string; params_schema: Record<string, unknown>; outputs: Record<string, { type: string; description?: string | null }> }): ScriptInfo {
  return { name: s.name, title: s.title, tags: s.tags, owner: s.owner, params_schema: s.params_schema as Schema, outputs: s.outputs };
}

/** The page: an existing pipeline (`name`) or a new one. */
export default function Studio({ name }: { name: string | null }) {
  injectStudioStyles();
  const detail = usePoll((signal) => (name ? getPipeline(name, signal) : Promise.resolve(null)), [name]);
  const { t } = useI18n();
  if (name && !detail.data) {
    return (
      <div data-testid="studio-page">
        <PageHeader title={t("pipelines.title")} />
        {detail.error ? <ErrorBox error={detail.error} /> : <Loading />}
      </div>
    );
  }
  return (
    <ReactFlowProvider>
      <Editor detail={detail.data ?? null} />
    </ReactFlowProvider>
  );
}

type Tab = "canvas" | "yaml" | "settings";

function Editor({ detail }: { detail: PipelineDetail | null }) {
  const i18n = useI18n();
  const st = useStudioText();
  const { t, tx, duration } = i18n;
  const nav = useNav();
  const me = useMe();
  const dark = useDark();
  const rf = useReactFlow();
  const isNew = !detail;
  const repository = detail?.source === "repository";

  const initial = useMemo<PipelineSpec>(() => {
    if (!detail) return EMPTY;
    const spec = { ...(detail.spec as unknown as PipelineSpec), layout: detail.layout as Layout };
    for (const [id, n] of Object.entries(spec.nodes ?? {})) if (!n.params) spec.nodes[id] = { ...n, params: {} };
    return withLayout(spec);
  }, [detail]);
  // React Flow's own labels (controls, minimap, keyboard help) are English unless given.
  const ariaLabels = useMemo(() => {
    const dirs: Record<string, StudioKey> = { up: "dirUp", down: "dirDown", left: "dirLeft", right: "dirRight" };
    return {
      "node.a11yDescription.default": st("rfNodeHelp"),
      "node.a11yDescription.keyboardDisabled": st("rfNodeHelpKeyboard"),
      "node.a11yDescription.ariaLiveMessage": ({ direction, x, y }: { direction: string; x: number; y: number }) =>
        st("rfNodeMoved", { direction: dirs[direction] ? st(dirs[direction]) : direction, x, y }),
      "edge.a11yDescription.default": st("rfEdgeHelp"),
      "controls.ariaLabel": st("rfControls"),
      "controls.zoomIn.ariaLabel": st("rfZoomIn"),
      "controls.zoomOut.ariaLabel": st("rfZoomOut"),
      "controls.fitView.ariaLabel": st("rfFitView"),
      "controls.interactive.ariaLabel": st("rfInteractive"),
      "minimap.ariaLabel": st("rfMinimap"),
      "handle.ariaLabel": st("rfHandle"),
    };
  }, [st]);
  const [hist, setHist] = useState<History<PipelineSpec>>(() => createHistory(initial));
  const spec = hist.present;
  const [saved, setSaved] = useState<PipelineSpec>(initial);
  const dirty = spec !== saved;

  const scriptsPoll = usePoll((signal) => listScripts(signal), []);
  const scripts = useMemo(() => new Map((scriptsPoll.data?.items ?? []).map((s) => [s.name, toInfo(s)])), [scriptsPoll.data]);

  // Permissions: a Viewer reads; creating needs "create", a new version "edit"; repository files are read-only here.
  const canCreate = me.can("pipelines", "create");
  const canEdit = me.can("pipelines", "edit");
  const mayWrite = isNew ? canCreate : canEdit;
  const readOnly = !me.loaded || repository || !mayWrite;
  const reason = !me.loaded ? t("common.loading") : repository ? st("readOnlyRepo") : !mayWrite ? t(isNew ? "perm.noPipelineCreate" : "perm.noPipelineEdit") : "";
  const rights = useDagRights(detail?.dag_id);
  const canRun = !!detail && !!rights?.run;

  const [tab, setTab] = useState<Tab>("canvas");
  const [notice, setNotice] = useState<string | null>(null);
  const commit = useCallback((next: PipelineSpec) => setHist((h) => push(h, next)), []);
  const doUndo = useCallback(() => setHist(undo), []);
  const doRedo = useCallback(() => setHist(redo), []);

  // --- validation as you edit (debounced; POST is refused to a Viewer, who gets none) ---
  const [problems, setProblems] = useState<Problem[]>([]);
  const [paramsSchema, setParamsSchema] = useState<Schema | null>((detail?.params_schema as Schema | undefined) ?? null);
  // A run starts the saved version: its params, not those of unsaved edits.
  const [savedSchema, setSavedSchema] = useState<Schema | null>((detail?.params_schema as Schema | undefined) ?? null);
  const canValidate = me.loaded && canCreate;
  useEffect(() => {
    if (!canValidate) return undefined;
    const ctl = new AbortController();
    const id = window.setTimeout(() => {
      validateSpec(spec, ctl.signal).then(
        (r) => {
          if (ctl.signal.aborted) return;
          setProblems(r.problems);
          if (r.params_schema) setParamsSchema(r.params_schema as Schema);
        },
        () => undefined,
      );
    }, 400);
    return () => {
      window.clearTimeout(id);
      ctl.abort();
    };
  }, [spec, canValidate]);
  const problemsByNode = useMemo(() => {
    const out: Record<string, string[]> = {};
    for (const p of problems) if (p.node) (out[p.node] ??= []).push(p.field ? `${p.field}: ${p.reason}` : p.reason);
    return out;
  }, [problems]);

  // --- runs ---
  const [runOpen, setRunOpen] = useState(false);
  const [following, setFollowing] = useState<Following | null>(null);
  const run = useRunStates(following);
  const [openNode, setOpenNode] = useState<string | null>(null);

  // --- the canvas: React Flow's nodes follow the spec; drags stay local until they end ---
  const graph = useMemo(() => specToGraph(spec), [spec]);
  const [rfNodes, setRfNodes] = useState<StudioNodeType[]>([]);
  const [rfEdges, setRfEdges] = useState<Edge<StudioEdgeData>[]>([]);
  const toSelect = useRef<Set<string> | null>(null);
  useEffect(() => {
    setRfNodes((prev) => {
      const old = new Map(prev.map((n) => [n.id, n]));
      const pick = toSelect.current;
      toSelect.current = null;
      return graph.nodes.map((n) => {
        const o = old.get(n.id);
        const script = scripts.get(n.data.script);
        const ti = run.tasks[n.id];
        const data: NodeData = {
          ...n.data,
          problems: problemsByNode[n.id] ?? [],
          title: script?.title,
          unknownScript: scriptsPoll.data ? !script : false,
          state: following ? (ti?.state ?? null) : undefined,
          durationSeconds: ti?.duration ?? null,
        };
        return { ...n, type: "script" as const, data, selected: pick ? pick.has(n.id) : (o?.selected ?? false), measured: o?.measured, draggable: !readOnly };
      });
    });
  }, [graph, problemsByNode, scripts, scriptsPoll.data, run.tasks, following, readOnly]);
  useEffect(() => {
    setRfEdges((prev) => {
      const old = new Map(prev.map((e) => [e.id, e]));
      return graph.edges.map((e) => {
        const data = e.data!;
        return {
          ...e,
          selected: old.get(e.id)?.selected ?? false,
          label: data.bindings.length ? data.bindings.join(", ") : undefined,
          style: data.bindings.length ? undefined : { strokeDasharray: "5 4" },
          markerEnd: { type: MarkerType.ArrowClosed },
          deletable: !readOnly,
        };
      });
    });
  }, [graph, readOnly]);
  const selected = useMemo(() => rfNodes.filter((n) => n.selected).map((n) => n.id), [rfNodes]);

  const onNodesChange = useCallback((changes: NodeChange<StudioNodeType>[]) => {
    setRfNodes((nds) => applyNodeChanges(changes.filter((c) => c.type !== "remove"), nds));
  }, []);
  const onEdgesChange = useCallback((changes: EdgeChange<Edge<StudioEdgeData>>[]) => {
    setRfEdges((eds) => applyEdgeChanges(changes.filter((c) => c.type !== "remove"), eds));
  }, []);
  const onDelete = useCallback(
    ({ nodes, edges }: { nodes: Node[]; edges: Edge[] }) => {
      if (readOnly) return;
      let next = spec;
      if (edges.length) {
        const gone = new Set(edges.map((e) => e.id));
        const g = specToGraph(next);
        next = graphToSpec(next, g.nodes, g.edges.filter((e) => !gone.has(e.id)));
      }
      if (nodes.length) next = removeNodes(next, nodes.map((n) => n.id));
      commit(next);
    },
    [spec, readOnly, commit],
  );
  const onNodeDragStop = useCallback(
    (_e: unknown, _n: Node, nodes: Node[]) => {
      const layout = { ...(spec.layout ?? {}) };
      let moved = false;
      for (const n of nodes) {
        const at = { x: Math.round(n.position.x), y: Math.round(n.position.y) };
        if (layout[n.id]?.x !== at.x || layout[n.id]?.y !== at.y) moved = true;
        layout[n.id] = at;
      }
      if (moved) commit({ ...spec, layout });
    },
    [spec, commit],
  );
  const cycleNotice = useCallback((source: string, target: string) => setNotice(st("cycleRefused", { source, target })), [t]);
  const isValidConnection = useCallback((c: Connection | Edge) => !wouldCreateCycle(graph.edges, c.source, c.target), [graph]);
  const onConnect = useCallback(
    (c: Connection) => {
      if (readOnly) return;
      if (wouldCreateCycle(graph.edges, c.source, c.target)) {
        cycleNotice(c.source, c.target);
        return;
      }
      setNotice(null);
      commit(connectNodes(spec, c.source, c.target));
    },
    [graph, spec, readOnly, commit, cycleNotice],
  );
  const onConnectEnd = useCallback(
    (_e: unknown, state: { fromNode?: { id: string } | null; toNode?: { id: string } | null; fromHandle?: { type?: string } | null }) => {
      const from = state.fromNode?.id;
      const to = state.toNode?.id;
      if (!from || !to) return;
      const [s, tg] = state.fromHandle?.type === "target" ? [to, from] : [from, to];
      if (wouldCreateCycle(graph.edges, s, tg)) cycleNotice(s, tg);
    },
    [graph, cycleNotice],
  );

  const addScript = useCallback(
    (script: string, position?: { x: number; y: number }) => {
      if (readOnly) return;
      const layout = spec.layout ?? {};
      const at = position ?? { x: 40 + (Object.keys(layout).length % 4) * 240, y: 40 + Math.floor(Object.keys(layout).length / 4) * 110 };
      const r = addNode(spec, script, at);
      toSelect.current = new Set([r.nodeId]);
      commit(r.spec);
    },
    [spec, readOnly, commit],
  );
  const onDragOver = (e: DragEvent) => {
    e.preventDefault();
    if (e.dataTransfer) e.dataTransfer.dropEffect = readOnly ? "none" : "move";
  };
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    const script = e.dataTransfer?.getData(SCRIPT_MIME);
    if (!script || readOnly) return;
    addScript(script, rf.screenToFlowPosition({ x: e.clientX, y: e.clientY }));
  };

  const onKeyDown = (e: KeyboardEvent) => {
    const el = e.target as HTMLElement;
    if (el.closest("input, textarea, select, [contenteditable=true]")) return;
    const mod = e.ctrlKey || e.metaKey;
    if (!mod) return;
    const key = e.key.toLowerCase();
    if (key === "z" && !readOnly) {
      e.preventDefault();
      if (e.shiftKey) doRedo();
      else doUndo();
    } else if (key === "y" && !readOnly) {
      e.preventDefault();
      doRedo();
    } else if (key === "c" && selected.length) {
      clipboard = copyNodes(spec, selected);
      setNotice(st("copied", { n: selected.length }));
    } else if (key === "v" && clipboard && !readOnly) {
      e.preventDefault();
      const r = pasteNodes(spec, clipboard);
      // The next paste lands beside this one.
      clipboard = { ...clipboard, layout: Object.fromEntries(Object.entries(clipboard.layout).map(([k, p]) => [k, { x: p.x + 40, y: p.y + 40 }])) };
      toSelect.current = new Set(r.ids);
      commit(r.spec);
    }
  };

  const autoLayout = () => {
    commit({ ...spec, layout: layoutOf(spec, new Map(rfNodes.map((n) => [n.id, n.measured]))) });
    window.setTimeout(() => void rf.fitView({ padding: 0.2 }), 50);
  };

  // --- YAML tab: either side updates the other ---
  const [yamlText, setYamlText] = useState(() => specToYaml(spec));
  const [yamlProblem, setYamlProblem] = useState<{ error: string; line: number | null } | null>(null);
  const fromText = useRef<PipelineSpec | null>(null);
  useEffect(() => {
    if (spec === fromText.current) return;
    setYamlText(specToYaml(spec));
    setYamlProblem(null);
  }, [spec]);
  const onYaml = (text: string) => {
    setYamlText(text);
    const r = yamlToSpec(text);
    if ("error" in r) {
      setYamlProblem(r);
      return;
    }
    setYamlProblem(null);
    fromText.current = r.spec;
    commit(r.spec);
  };
  const openTab = (next: Tab) => {
    if (next === "canvas") {
      const laid = withLayout(spec);
      if (laid !== spec) commit(laid);
    }
    setTab(next);
  };

  // --- save ---
  const [comment, setComment] = useState("");
  const [copyName, setCopyName] = useState(() => (detail ? `${detail.name}_copy` : ""));
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<unknown>(null);
  const [savedNote, setSavedNote] = useState<string | null>(null);
  const save = async (asCopy: boolean) => {
    setSaving(true);
    setSaveError(null);
    setSavedNote(null);
    try {
      if (isNew || asCopy) {
        const body = asCopy ? { ...spec, name: copyName } : spec;
        const out = await createPipeline(body, comment);
        nav.go(pagePath("pipelines", qs({ name: out.name })));
        return;
      }
      const out = await saveVersion(detail!.name, spec, comment);
      setSaved(spec);
      if (paramsSchema) setSavedSchema(paramsSchema);
      setComment("");
      setSavedNote(st("savedVersion", { version: out.current_version }));
    } catch (err) {
      setSaveError(err);
    } finally {
      setSaving(false);
    }
  };
  const download = () => {
    const blob = new Blob([specToYaml(spec)], { type: "application/yaml" });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `${spec.name || "pipeline"}.yaml`;
    a.click();
    window.setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  };

  const single = selected.length === 1 ? selected[0] : null;
  // Kept while only positions move (a drag re-renders the editor at every step).
  const inspector = useMemo(() => {
    if (!single || !spec.nodes[single]) return null;
    const upstream = new Set(graph.edges.filter((e) => e.target === single).map((e) => e.source));
    return (
      <Inspector
        spec={spec}
        nodeId={single}
        scripts={scripts}
        problems={problems}
        readOnly={readOnly}
        upstream={upstream}
        onParam={(p, v) => commit(setParam(spec, single, p, v))}
        onNode={(patch) => {
          const node = { ...spec.nodes[single], ...patch };
          for (const k of Object.keys(patch) as (keyof NodeSpec)[]) if (patch[k] === undefined) delete node[k];
          commit({ ...spec, nodes: { ...spec.nodes, [single]: node } });
        }}
        onRename={(id) => {
          toSelect.current = new Set([id]);
          commit(renameNode(spec, single, id));
        }}
        onAfter={(other, on) => {
          if (!on) commit(disconnectNodes(spec, other, single));
          else if (wouldCreateCycle(graph.edges, other, single)) cycleNotice(other, single);
          else {
            setNotice(null);
            commit(connectNodes(spec, other, single));
          }
        }}
        onDelete={() => commit(removeNodes(spec, [single]))}
      />
    );
  }, [single, spec, graph, scripts, problems, readOnly, commit, cycleNotice]);
  const pipelineProblems = problems.filter((p) => p.node === null);
  const unnamed = isNew && !spec.name.trim();
  const saveDisabled = readOnly || saving || (!isNew && !dirty) || unnamed;
  const saveTitle = readOnly ? reason : !isNew && !dirty ? st("noChanges") : unnamed ? st("nameFirst") : undefined;

  return (
    <div data-testid="studio-page" data-readonly={readOnly ? "true" : "false"}>
      <PageHeader
        title={detail ? detail.title || detail.name : st("newTitle")}
        subtitle={detail ? `${detail.name} · ${detail.source === "repository" ? t("pipelines.sourceRepository") : t("pipelines.sourceDatabase")}` : st("newSubtitle")}
        actions={
          <Link to={pagePath("pipelines")} className="y-btn" testId="studio-back">
            {t("common.back")}
          </Link>
        }
      />
      <DisabledNote show={me.loaded && readOnly} text={reason} testId="studio-readonly" />
      <div className="y-studio-bar">
        <div className="y-seg" role="tablist">
          {(["canvas", "yaml", "settings"] as Tab[]).map((k) => (
            <button key={k} type="button" role="tab" aria-selected={tab === k} className={`y-btn ${tab === k ? "y-btn-on" : ""}`} onClick={() => openTab(k)} data-testid={`studio-${k}-tab`}>
              {st(`tab.${k}` as StudioKey)}
            </button>
          ))}
        </div>
        <button type="button" className="y-btn" onClick={doUndo} disabled={readOnly || !hist.past.length} title={readOnly ? reason : st("undoHint")} data-testid="studio-undo">
          {st("undo")}
        </button>
        <button type="button" className="y-btn" onClick={doRedo} disabled={readOnly || !hist.future.length} title={readOnly ? reason : st("redoHint")} data-testid="studio-redo">
          {st("redo")}
        </button>
        <button type="button" className="y-btn" onClick={autoLayout} disabled={readOnly || !graph.nodes.length} title={readOnly ? reason : undefined} data-testid="studio-layout">
          {st("autoLayout")}
        </button>
        <span className="y-push" />
        {problems.length ? (
          <details className="y-details" data-testid="studio-problems">
            <summary className="y-tone-bad">{st("problems", { n: problems.length })}</summary>
            <ul className="y-list y-small">
              {problems.map((p, i) => (
                <li key={i}>
                  {p.node ? <code>{p.node}</code> : null} {p.field ? <code>{p.field}</code> : null} {p.reason}
                </li>
              ))}
            </ul>
          </details>
        ) : canValidate && graph.nodes.length ? (
          <span className="y-tone-ok y-small" data-testid="studio-valid">
            {st("valid")}
          </span>
        ) : null}
        {repository ? (
          <>
            <input className="y-input" value={copyName} onChange={(e) => setCopyName(e.target.value)} aria-label={st("copyName")} disabled={!canCreate} data-testid="studio-copy-name" />
            <button type="button" className="y-btn y-btn-primary" disabled={!canCreate || saving || !copyName} title={canCreate ? undefined : t("perm.noPipelineCreate")} onClick={() => void save(true)} data-testid="studio-save-copy">
              {st("saveCopy")}
            </button>
          </>
        ) : (
          <>
            {isNew ? (
              <input
                className="y-input"
                value={spec.name}
                placeholder={st("namePlaceholder")}
                aria-label={st("name")}
                aria-invalid={problems.some((p) => p.node === null && p.field === "name")}
                disabled={readOnly}
                onChange={(e) => commit({ ...spec, name: e.target.value })}
                data-testid="studio-name"
              />
            ) : null}
            <input className="y-input" value={comment} placeholder={st("comment")} aria-label={st("comment")} onChange={(e) => setComment(e.target.value)} disabled={readOnly} data-testid="studio-comment" />
            <button type="button" className="y-btn y-btn-primary" disabled={saveDisabled} title={saveTitle} onClick={() => void save(false)} data-testid="studio-save">
              {isNew ? st("create") : st("saveVersion")}
            </button>
          </>
        )}
        {detail && !dirty ? (
          // Saved: the server's export, exactly what the repository loader reads.
          <a className="y-btn" href={ylaiUrl("/api/v1/pipelines/{name}/yaml", { name: detail.name })} download={`${detail.name}.yaml`} data-testid="studio-download">
            {st("download")}
          </a>
        ) : (
          <button type="button" className="y-btn" onClick={download} title={st("downloadDraft")} data-testid="studio-download">
            {st("download")}
          </button>
        )}
        <button
          type="button"
          className="y-btn"
          disabled={!canRun}
          title={!detail ? st("saveFirst") : !canRun ? t("perm.noRun") : dirty ? st("runsSaved") : undefined}
          onClick={() => setRunOpen(true)}
          data-testid="studio-run"
        >
          {st("run")}
        </button>
      </div>
      <ErrorBox error={saveError} testId="studio-save-error" />
      {saveError && typeof saveError === "object" && "details" in saveError
        ? (saveError as { details: { field: string; reason: string }[] }).details.map((d, i) => <FieldError key={i} text={`${d.field}: ${d.reason}`} />)
        : null}
      {savedNote ? (
        <p className="y-note" data-testid="studio-saved">
          {savedNote}
        </p>
      ) : null}
      {runOpen && detail ? (
        <RunDialog
          name={detail.name}
          dagId={detail.dag_id}
          schema={savedSchema ?? { type: "object", properties: {} }}
          onStarted={(f) => {
            setFollowing(f);
            setRunOpen(false);
          }}
          onClose={() => setRunOpen(false)}
        />
      ) : null}
      {following ? (
        <div className="y-row y-small" data-testid="studio-run-state" data-state={run.runState ?? ""}>
          {st("following")} <code>{following.runId}</code> <StateBadge state={run.runState} />
          <Link to={`dags/${encodeURIComponent(following.dagId)}/runs/${encodeURIComponent(following.runId)}`}>{t("overview.openRun")}</Link>
          <TraceLink dagId={following.dagId} runId={following.runId} traceId={following.traceId} />
          <span className="y-muted">{st("clickNode")}</span>
        </div>
      ) : null}
      {following ? (
        <ApprovalNote dagId={following.dagId} runId={following.runId} />
      ) : null}
      <ErrorBox error={run.error} testId="studio-run-error" />

      {tab === "canvas" ? (
        <div className="y-studio">
          <Palette scripts={[...scripts.values()]} loading={scriptsPoll.loading && !scriptsPoll.data} error={scriptsPoll.error} readOnly={readOnly} reason={reason} onAdd={(s) => addScript(s)} />
          <div className="y-studio-canvas" data-testid="studio-canvas" tabIndex={0} onKeyDown={onKeyDown} onDragOver={onDragOver} onDrop={onDrop} aria-label={st("canvas")}>
            {notice ? (
              <div className="y-note y-studio-notice" role="status" data-testid="studio-notice">
                {notice}{" "}
                <button type="button" className="y-btn y-btn-small" onClick={() => setNotice(null)}>
                  {st("close")}
                </button>
              </div>
            ) : null}
            <ReactFlow<StudioNodeType, Edge<StudioEdgeData>>
              nodes={rfNodes}
              edges={rfEdges}
              nodeTypes={NODE_TYPES}
              onNodesChange={onNodesChange}
              onEdgesChange={onEdgesChange}
              onDelete={onDelete}
              onConnect={onConnect}
              onConnectEnd={onConnectEnd}
              isValidConnection={isValidConnection}
              onNodeDragStop={onNodeDragStop}
              onNodeClick={(_e, n) => following && setOpenNode(n.id)}
              nodesDraggable={!readOnly}
              nodesConnectable={!readOnly}
              deleteKeyCode={readOnly ? null : ["Delete", "Backspace"]}
              multiSelectionKeyCode={["Meta", "Control"]}
              snapToGrid
              snapGrid={[16, 16]}
              fitView
              fitViewOptions={{ padding: 0.2 }}
              colorMode={dark ? "dark" : "light"}
              proOptions={{ hideAttribution: true }}
              minZoom={0.1}
              ariaLabelConfig={ariaLabels}
            >
              <Background gap={16} />
              <MiniMap pannable zoomable />
              <Controls showInteractive={false} />
            </ReactFlow>
          </div>
          <div className="y-studio-panel">
            {openNode && following ? (
              <RunNode following={following} nodeId={openNode} task={run.tasks[openNode]} onClose={() => setOpenNode(null)} />
            ) : inspector ? (
              inspector
            ) : (
              <div data-testid="inspector-empty">
                <p className="y-muted">{selected.length > 1 ? st("manySelected", { n: selected.length }) : st("selectHint")}</p>
                {following && Object.keys(run.tasks).length ? (
                  <table className="y-table y-table-compact" data-testid="studio-run-tasks">
                    <tbody>
                      {Object.entries(run.tasks).map(([id, ti]) => (
                        <tr key={id}>
                          <td>
                            <code>{id}</code>
                          </td>
                          <td>{ti.state ? tx(`state.${ti.state}`, ti.state) : "—"}</td>
                          <td>{duration(ti.duration)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                ) : null}
                {pipelineProblems.length ? (
                  <ul className="y-list y-small y-tone-bad">
                    {pipelineProblems.map((p, i) => (
                      <li key={i}>
                        <code>{p.field}</code> {p.reason}
                      </li>
                    ))}
                  </ul>
                ) : null}
              </div>
            )}
          </div>
        </div>
      ) : null}
      {tab === "yaml" ? (
        <div className="y-studio-panel">
          <textarea
            className="y-input y-textarea y-studio-yaml"
            value={yamlText}
            readOnly={readOnly}
            spellCheck={false}
            aria-label={st("tab.yaml")}
            aria-invalid={!!yamlProblem}
            onChange={(e) => onYaml(e.target.value)}
            data-testid="studio-yaml"
          />
          {yamlProblem ? (
            <FieldError text={yamlProblem.line ? st("yamlError", { line: yamlProblem.line, message: yamlProblem.error }) : yamlProblem.error} testId="studio-yaml-error" />
          ) : null}
        </div>
      ) : null}
      {tab === "settings" ? (
        <>
          <Settings spec={spec} isNew={isNew} readOnly={readOnly} problems={problems} onChange={commit} />
          {detail?.source === "database" ? <Versions name={detail.name} dirty={dirty} /> : null}
        </>
      ) : null}
    </div>
  );
}

/** The scripts to drag onto the canvas, searchable by name, title, tag and owner. */
function Palette({ scripts, loading, error, readOnly, reason, onAdd }: { scripts: ScriptInfo[]; loading: boolean; error: unknown; readOnly: boolean; reason: string; onAdd: (script: string) => void }) {
  const st = useStudioText();
  const [q, setQ] = useState("");
  const needle = q.trim().toLowerCase();
  const shown = scripts.filter((s) => !needle || [s.name, s.title, s.owner, ...s.tags].some((x) => x?.toLowerCase().includes(needle)));
  return (
    <div className="y-studio-panel" data-testid="palette">
      <h2 className="y-card-title">{st("palette")}</h2>
      <input className="y-input" style={{ width: "100%", marginBottom: 6 }} value={q} placeholder={st("paletteSearch")} aria-label={st("paletteSearch")} onChange={(e) => setQ(e.target.value)} data-testid="palette-search" />
      <ErrorBox error={error} />
      {loading ? <Loading /> : null}
      {shown.map((s) => (
        <div
          key={s.name}
          className="y-palette-item"
          draggable={!readOnly}
          aria-disabled={readOnly}
          title={readOnly ? reason : st("dragHint")}
          onDragStart={(e) => {
            e.dataTransfer.setData(SCRIPT_MIME, s.name);
            e.dataTransfer.effectAllowed = "move";
          }}
          data-testid={`palette-item-${s.name}`}
        >
          <div className="y-grow">
            <div>{s.title || s.name}</div>
            <div className="y-muted y-small">
              <code>{s.name}</code> {s.tags.map((x) => (
                <span key={x} className="y-chip">
                  {x}
                </span>
              ))}
            </div>
          </div>
          <button type="button" className="y-btn y-btn-small" disabled={readOnly} onClick={() => onAdd(s.name)} aria-label={st("addNode", { name: s.name })} data-testid={`palette-add-${s.name}`}>
            +
          </button>
        </div>
      ))}
      {!loading && !shown.length ? <p className="y-muted y-small">{st("paletteEmpty")}</p> : null}
    </div>
  );
}
