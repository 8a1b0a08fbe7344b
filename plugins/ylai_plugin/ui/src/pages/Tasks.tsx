import { useEffect, useState } from "react";
import { data, ylai, type Schemas } from "../api/client";
import { taskOutKindValues as TASK_KINDS } from "../../generated/ylai";
import type { RunOut, Task } from "../api/models";
import { ApiError, qs } from "../lib/api";
import { useDebounced, usePoll } from "../lib/hooks";
import { useDagRights, useMe } from "../lib/me";
import { Link, pagePath, useNav } from "../lib/nav";
import { useParamForm } from "../lib/paramForm";
import { useRunTargets, useTargetSchema } from "../lib/runTargets";
import { ExportButtons } from "../components/ExportButtons";
import { useI18n } from "../i18n";
import { ParamForm, loadableValues } from "../components/ParamForm";
import { DataTable, ListPage, type Column } from "../components/DataTable";
import { versionLabel } from "../components/ScriptVersions";
import { Card, DisabledNote, Empty, ErrorBox, FieldError, Json, Loading, PageHeader, StateBadge, PermittedLink } from "../components/ui";
import { fieldErrors } from "./Run";
import { NO_APPROVAL, TaskApprovalFields, approvalBody, approvalDraft, approvalSummary, type ApprovalDraft } from "./TaskApproval";

export const TASK_NAME = /^[A-Za-z0-9][A-Za-z0-9 _.-]{0,127}$/;

export function Tasks() {
  const nav = useNav();
  const id = nav.search.get("id");
  if (nav.search.get("new")) return <TaskEditor />;
  if (id && nav.search.get("edit")) return <TaskEditor id={Number(id)} />;
  if (id) return <TaskView id={Number(id)} />;
  return <TaskList />;
}

function TaskList() {
  const i = useI18n();
  const { t, tx } = i;
  const me = useMe();
  const [q, setQ] = useState("");
  const [kind, setKind] = useState("");
  const query = useDebounced(q, 250);
  const list = usePoll((signal) => data(ylai.GET("/api/v1/tasks", { params: { query: { q: query, kind: (kind || undefined) as Kind | undefined, limit: 200 } }, signal })), [query, kind], 15_000);
  const items = list.data?.items ?? [];
  const canCreate = me.can("tasks", "create");
  const columns: Column<Task>[] = [
    {
      header: t("col.name"),
      cell: (task) => (
        <>
          <Link to={pagePath("tasks", qs({ id: task.id }))} testId={`task-${task.id}`}>
            {task.name}
          </Link>
          {task.description ? <div className="y-muted y-small">{task.description}</div> : null}
        </>
      ),
    },
    { header: t("col.kind"), cell: (task) => tx(`kind.${task.kind}`, task.kind) },
    { header: t("col.target"), cell: (task) => <code>{task.dag_id}</code> },
    { header: t("col.schedule"), cell: (task) => (task.schedule ? <code>{task.schedule}</code> : <span className="y-muted">{t("tasks.manual")}</span>) },
    { header: t("col.owner"), cell: (task) => task.created_by },
    { header: t("col.lastRun"), cell: (task) => (task.last_run ? <StateBadge state={task.last_run.state} /> : <span className="y-muted">{t("scripts.never")}</span>) },
  ];
  return (
    <div data-testid="page-tasks">
      <PageHeader
        title={t("tasks.title")}
        subtitle={t("tasks.subtitle")}
        actions={
          <PermittedLink allowed={canCreate} to={pagePath("tasks", "?new=1")} className="y-btn y-btn-primary" testId="task-new" reason={t("perm.noTaskCreate")}>
            {t("tasks.new")}
          </PermittedLink>
        }
      />
      <DisabledNote show={me.loaded && !canCreate} text={t("perm.noTaskCreate")} />
      <div className="y-row y-wrap y-filters">
        <input className="y-input y-grow" type="search" placeholder={t("tasks.search")} aria-label={t("tasks.search")} value={q} onChange={(e) => setQ(e.target.value)} data-testid="task-search" />
        <select className="y-input" aria-label={t("tasks.kind")} value={kind} onChange={(e) => setKind(e.target.value)} data-testid="kind-filter">
          <option value="">{t("tasks.allKinds")}</option>
          <KindOptions />
        </select>
        <div className="y-push">
          <ExportButtons kind="tasks" testId="export-tasks" />
        </div>
      </div>
      <ListPage list={list} rows={items} columns={columns} rowKey={(task) => task.id} testId="tasks-table" empty={q || kind ? t("tasks.noMatch") : t("tasks.none")} />
    </div>
  );
}

type Kind = Task["kind"];

/** The kinds a task can run, in the API's order. */
function KindOptions() {
  const { tx } = useI18n();
  return (
    <>
      {TASK_KINDS.map((k) => (
        <option key={k} value={k}>
          {tx(`kind.${k}`, k)}
        </option>
      ))}
    </>
  );
}

function TaskView({ id }: { id: number }) {
  const i = useI18n();
  const { t, tx } = i;
  const nav = useNav();
  const me = useMe();
  const task = usePoll((signal) => data(ylai.GET("/api/v1/tasks/{task_id}", { params: { path: { task_id: id } }, signal })), [id], 10_000);
  const runs = usePoll((signal) => data(ylai.GET("/api/v1/tasks/{task_id}/runs", { params: { path: { task_id: id }, query: { limit: 10 } }, signal })), [id], 10_000);
  const [actionError, setActionError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const x = task.data;
  const rights = useDagRights(x?.dag_id);
  const canRun = me.can("tasks", "create") && (rights?.run ?? false);
  const canEdit = me.can("tasks", "edit");
  const canDelete = me.can("tasks", "delete");

  const run = async () => {
    setActionError(null);
    setBusy(true);
    try {
      const r = await data(ylai.POST("/api/v1/tasks/{task_id}/run", { params: { path: { task_id: id } }, body: {} }));
      nav.go(pagePath("run", qs({ dag_id: r.dag_id, run_id: r.run_id })));
    } catch (err) {
      setActionError(err);
    } finally {
      setBusy(false);
    }
  };
  const remove = async () => {
    if (!window.confirm(t("tasks.confirmDelete", { name: x?.name ?? "" }))) return;
    try {
      await ylai.DELETE("/api/v1/tasks/{task_id}", { params: { path: { task_id: id } } });
      nav.go(pagePath("tasks"));
    } catch (err) {
      setActionError(err);
    }
  };

  const runColumns: Column<RunOut>[] = [
    { className: "y-nowrap", cell: (r) => i.dateTime(r.start_date ?? r.queued_at) },
    { cell: (r) => <StateBadge state={r.state} /> },
    { cell: (r) => i.duration(r.duration_seconds) },
    { cell: (r) => <Link to={pagePath("run", qs({ dag_id: r.dag_id, run_id: r.run_id }))}>{t("overview.logs")}</Link> },
  ];

  return (
    <div data-testid="page-tasks">
      <PageHeader
        title={x?.name ?? t("tasks.title")}
        subtitle={x?.description}
        actions={
          <>
            <Link to={pagePath("tasks")} className="y-btn">
              {t("common.back")}
            </Link>
            <button type="button" className="y-btn y-btn-primary" onClick={() => void run()} disabled={!x || busy || !canRun} title={canRun ? undefined : t("perm.noRun")} data-testid="task-run">
              {t("run.run")}
            </button>
            <PermittedLink allowed={canEdit} to={pagePath("tasks", qs({ id, edit: 1 }))} className="y-btn" testId="task-edit" reason={t("perm.noTaskEdit")}>
              {t("common.edit")}
            </PermittedLink>
            <button type="button" className="y-btn y-btn-danger" onClick={() => void remove()} disabled={!x || !canDelete} title={canDelete ? undefined : t("perm.noTaskDelete")} data-testid="task-delete">
              {t("common.delete")}
            </button>
          </>
        }
      />
      <DisabledNote show={(rights !== undefined && !canRun) || (me.loaded && !canEdit)} text={!canEdit ? t("perm.noTaskEdit") : t("perm.noRun")} />
      <ErrorBox error={actionError} testId="task-action-error" />
      {task.error ? <ErrorBox error={task.error} /> : null}
      {!x && !task.error ? <Loading /> : null}
      {x ? (
        <div className="y-split" data-testid="task-detail">
          <div className="y-col">
            <Card title={t("tasks.about")}>
              <dl className="y-dl">
                <dt>{t("col.kind")}</dt>
                <dd>{tx(`kind.${x.kind}`, x.kind)}</dd>
                <dt>{t("col.target")}</dt>
                <dd>
                  <Link to={`dags/${encodeURIComponent(x.dag_id)}`}>{x.dag_id}</Link>
                </dd>
                <dt>{t("col.schedule")}</dt>
                <dd>{x.schedule ? <code>{x.schedule}</code> : t("tasks.manual")}</dd>
                <dt>{t("tasks.approval.title")}</dt>
                <dd data-testid="task-approval-summary">{x.approval ? approvalSummary(x.approval) : t("tasks.approval.none")}</dd>
                <dt>{t("col.owner")}</dt>
                <dd>{x.created_by}</dd>
                <dt>{t("tasks.updated")}</dt>
                <dd>{i.dateTime(x.updated_at)}</dd>
              </dl>
            </Card>
            <Card title={t("run.params")}>
              <Json value={x.params} testId="task-params" />
            </Card>
          </div>
          <div className="y-col">
            <Card title={t("tasks.lastRun")} testId="task-last-run">
              {x.last_run ? (
                <>
                  <dl className="y-dl">
                    <dt>{t("col.state")}</dt>
                    <dd>
                      <StateBadge state={x.last_run.state} />
                    </dd>
                    <dt>{t("col.started")}</dt>
                    <dd>{i.dateTime(x.last_run.start_date)}</dd>
                    <dt>{t("col.duration")}</dt>
                    <dd>{i.duration(x.last_run.duration_seconds)}</dd>
                    <dt>{t("col.by")}</dt>
                    <dd>{x.last_run.triggered_by ?? "—"}</dd>
                    {x.last_run.script_version ? (
                      <>
                        <dt>{t("col.version")}</dt>
                        <dd className="y-mono" data-testid="task-run-version">
                          {versionLabel(x.last_run.script_version)}
                        </dd>
                      </>
                    ) : null}
                  </dl>
                  <p>
                    <Link to={pagePath("run", qs({ dag_id: x.last_run.dag_id, run_id: x.last_run.run_id }))}>{t("overview.logs")}</Link>
                    {" · "}
                    <Link to={`dags/${encodeURIComponent(x.last_run.dag_id)}/runs/${encodeURIComponent(x.last_run.run_id)}`}>{t("overview.openRun")}</Link>
                  </p>
                  {x.last_run.result !== null && x.last_run.result !== undefined ? (
                    <details className="y-details" open>
                      <summary>{t("run.result")}</summary>
                      <Json value={x.last_run.result} testId="task-result" />
                    </details>
                  ) : null}
                </>
              ) : (
                <Empty>{t("tasks.noRuns")}</Empty>
              )}
            </Card>
            <Card title={t("scripts.recentRuns")}>
              {runs.data?.items.length ? (
                <DataTable compact rows={runs.data.items} rowKey={(r) => r.run_id} columns={runColumns} />
              ) : (
                <p className="y-muted">{t("tasks.noRuns")}</p>
              )}
            </Card>
          </div>
        </div>
      ) : null}
    </div>
  );
}

/** Create (no id) or edit a task; the server's field errors are shown next to the fields. */
function TaskEditor({ id }: { id?: number }) {
  const { t } = useI18n();
  const nav = useNav();
  const me = useMe();
  const editing = id !== undefined;
  const existing = usePoll((signal) => (editing ? data(ylai.GET("/api/v1/tasks/{task_id}", { params: { path: { task_id: id } }, signal })) : Promise.resolve(null)), [id]);
  const choices = useRunTargets();
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [kind, setKind] = useState<Kind>("script");
  const [target, setTarget] = useState("");
  const [schedule, setSchedule] = useState("");
  const [approval, setApproval] = useState<ApprovalDraft>(NO_APPROVAL);
  const [serverFields, setServerFields] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [skipped, setSkipped] = useState<string[]>([]);

  // A new task names its target by kind and name; the DAG id is the one the API lists for it.
  const pipelines = choices.data?.pipelines ?? [];
  const dags = choices.data?.others ?? [];
  const scripts = choices.data?.scripts ?? [];
  const chosen = kind === "script" ? scripts.find((s) => s.name === target)?.dag_id : kind === "pipeline" ? pipelines.find((p) => p.name === target)?.dag_id : target;
  const dagId = editing ? (existing.data?.dag_id ?? "") : target ? (chosen ?? "") : "";
  const script = scripts.find((s) => s.dag_id === dagId);
  const { schema, details } = useTargetSchema(dagId, script);
  const form = useParamForm(schema, "form");
  const { attempted, problems: paramProblems, errors: paramErrors } = form;

  useEffect(() => {
    const x = existing.data;
    if (!x) return;
    setName(x.name);
    setDescription(x.description ?? "");
    setSchedule(x.schedule ?? "");
    setApproval(approvalDraft(x.approval));
    setKind(x.kind);
  }, [existing.data]);
  useEffect(() => {
    if (!schema) return;
    if (editing && existing.data) {
      const loaded = loadableValues(schema, existing.data.params);
      form.load(loaded.values);
      setSkipped(loaded.skippedSecrets);
    } else if (!editing) {
      form.load({});
      setSkipped([]);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [schema, editing, existing.data]);

  const nameProblem = !name.trim() ? t("validation.required") : TASK_NAME.test(name) ? null : t("tasks.nameRule");
  const targetProblem = !editing && !dagId ? t("validation.required") : null;
  const canSave = editing ? me.can("tasks", "edit") : me.can("tasks", "create");

  const save = async () => {
    form.setAttempted(true);
    setError(null);
    setServerFields({});
    form.setServerErrors({});
    if (nameProblem || targetProblem || Object.keys(paramProblems).length) return;
    setBusy(true);
    const body: Schemas["TaskIn"] = { name: name.trim(), description, schedule: schedule.trim() || null };
    // Sent when asked for, or to drop the one the task has (null).
    if (approval.on || existing.data?.approval) body.approval = approvalBody(approval);
    if (!editing || form.touched.size || !skipped.length) body.params = form.conf;
    try {
      let saved: Task;
      if (editing) {
        saved = await data(ylai.PATCH("/api/v1/tasks/{task_id}", { params: { path: { task_id: id } }, body }));
      } else {
        saved = await data(ylai.POST("/api/v1/tasks", { body: { ...body, [kind === "dag" ? "dag_id" : kind]: target } }));
      }
      nav.go(pagePath("tasks", qs({ id: saved.id })));
    } catch (err) {
      if (err instanceof ApiError && err.details.length) {
        const { fields, rest } = fieldErrors(err.details, Object.keys(schema?.properties ?? {}));
        form.setServerErrors(fields);
        const top: Record<string, string> = {};
        const others = [];
        for (const d of rest) {
          const f = d.field.replace(/^body\./, "");
          if (["name", "description", "schedule", "script", "pipeline", "dag_id"].includes(f)) top[f === "pipeline" || f === "dag_id" ? "script" : f] = d.reason;
          else if (f === "approval" || f.startsWith("approval.")) top[f.split(".").slice(0, 2).join(".")] = d.reason;
          else others.push(d);
        }
        setServerFields(top);
        if (others.length || (!Object.keys(top).length && !Object.keys(fields).length)) setError(err);
      } else {
        setError(err);
      }
    } finally {
      setBusy(false);
    }
  };


  return (
    <div data-testid="page-tasks">
      <PageHeader
        title={editing ? t("tasks.editTitle", { name: existing.data?.name ?? "" }) : t("tasks.newTitle")}
        actions={
          <Link to={editing ? pagePath("tasks", qs({ id })) : pagePath("tasks")} className="y-btn">
            {t("common.cancel")}
          </Link>
        }
      />
      {existing.error ? <ErrorBox error={existing.error} /> : null}
      <DisabledNote show={me.loaded && !canSave} text={editing ? t("perm.noTaskEdit") : t("perm.noTaskCreate")} />
      <form
        noValidate
        className="y-split"
        data-testid="task-form"
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <div className="y-col">
          <Card title={t("tasks.about")}>
            <div className="y-field">
              <label className="y-label" htmlFor="t-name">
                {t("col.name")} <span className="y-required">*</span>
              </label>
              <input id="t-name" className="y-input" value={name} onChange={(e) => setName(e.target.value)} aria-invalid={!!((attempted && nameProblem) || serverFields.name)} data-testid="task-name" />
              <FieldError text={serverFields.name ?? (attempted ? nameProblem : null)} testId="task-name-error" />
            </div>
            <div className="y-field">
              <label className="y-label" htmlFor="t-desc">
                {t("tasks.description")}
              </label>
              <textarea id="t-desc" className="y-input y-textarea" rows={2} value={description} onChange={(e) => setDescription(e.target.value)} data-testid="task-description" />
              <FieldError text={serverFields.description} />
            </div>
            {!editing ? (
              <div className="y-field">
                <label className="y-label" htmlFor="t-target">
                  {t("col.target")} <span className="y-required">*</span>
                </label>
                <div className="y-row">
                  <select className="y-input" aria-label={t("col.kind")} value={kind} onChange={(e) => { setKind(e.target.value as Kind); setTarget(""); }} data-testid="task-kind">
                    <KindOptions />
                  </select>
                  <select id="t-target" className="y-input y-grow" value={target} onChange={(e) => setTarget(e.target.value)} data-testid="task-target">
                    <option value="">{t("run.pickPlaceholder")}</option>
                    {kind === "script" ? scripts.map((s) => <option key={s.name} value={s.name}>{s.title && s.title !== s.name ? `${s.title} (${s.name})` : s.name}</option>) : null}
                    {kind === "pipeline" ? pipelines.map((d) => <option key={d.dag_id} value={d.name}>{d.name}</option>) : null}
                    {kind === "dag" ? dags.map((d) => <option key={d.dag_id} value={d.dag_id}>{d.dag_id}</option>) : null}
                  </select>
                </div>
                <FieldError text={serverFields.script ?? (attempted ? targetProblem : null)} testId="task-target-error" />
              </div>
            ) : (
              <p className="y-muted">
                {t("col.target")}: <code>{dagId}</code>
              </p>
            )}
            <div className="y-field">
              <label className="y-label" htmlFor="t-schedule">
                {t("col.schedule")}
              </label>
              <input id="t-schedule" className="y-input y-mono" placeholder={t("tasks.schedulePlaceholder")} value={schedule} onChange={(e) => setSchedule(e.target.value)} aria-invalid={!!serverFields.schedule} data-testid="task-schedule" />
              <div className="y-help">{t("tasks.scheduleHelp")}</div>
              <FieldError text={serverFields.schedule} testId="task-schedule-error" />
            </div>
            <TaskApprovalFields draft={approval} onChange={setApproval} errors={serverFields} />
          </Card>
        </div>
        <div className="y-col">
          <Card title={t("run.params")}>
            {!dagId ? <p className="y-muted">{t("run.pickFirst")}</p> : null}
            {dagId && !schema ? details.error ? <ErrorBox error={details.error} /> : <Loading /> : null}
            {skipped.length ? <p className="y-note">{t("tasks.secretsKept", { names: skipped.join(", ") })}</p> : null}
            {schema ? <ParamForm schema={schema} values={form.values} onChange={form.change} errors={paramErrors} idPrefix="tp" dagId={dagId} /> : null}
            <ErrorBox error={error} testId="task-save-error" />
            <div className="y-row">
              <button type="submit" className="y-btn y-btn-primary" disabled={busy || !canSave} data-testid="task-save">
                {busy ? t("common.saving") : t("common.save")}
              </button>
            </div>
          </Card>
        </div>
      </form>
    </div>
  );
}
