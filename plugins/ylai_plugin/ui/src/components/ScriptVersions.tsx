// The versions of a database script: the list, a side-by-side diff of any two, "restore this
// version"; and the version a run ran (RunScriptVersion), for the Run page and the run lists.
import { useEffect, useState } from "react";
import { diffLines } from "diff";
import { data, ylai, type Schemas } from "../api/client";
import { usePoll } from "../lib/hooks";
import { useMe } from "../lib/me";
import { targetKind } from "../lib/dagKinds";
import { useI18n } from "../i18n";
import { Card, DisabledNote, ErrorBox, Loading } from "./ui";

type VersionRow = Schemas["ScriptVersionOut"];

/** One line of one side of the diff: its number in its version and its text. */
export interface Side {
  n: number;
  text: string;
}

/** One row of the side-by-side diff: the same line on both sides, or a line only on one (or changed). */
export interface DiffRow {
  kind: "same" | "removed" | "added" | "changed";
  left?: Side;
  right?: Side;
}

const lines = (value: string) => value.replace(/\n$/, "").split("\n");

/** The side-by-side rows of ``before`` → ``after`` (jsdiff's line diff; removed lines face the lines that replace them). */
export function sideBySide(before: string, after: string): DiffRow[] {
  const rows: DiffRow[] = [];
  let l = 1;
  let r = 1;
  let removed: Side[] = [];
  const flush = (added: Side[]) => {
    const n = Math.max(removed.length, added.length);
    for (let k = 0; k < n; k += 1) {
      const left = removed[k];
      const right = added[k];
      rows.push({ kind: left && right ? "changed" : left ? "removed" : "added", left, right });
    }
    removed = [];
  };
  for (const part of diffLines(before, after)) {
    const text = lines(part.value);
    if (part.removed) {
      removed = text.map((t) => ({ n: l++, text: t }));
    } else if (part.added) {
      flush(text.map((t) => ({ n: r++, text: t })));
    } else {
      flush([]);
      for (const t of text) rows.push({ kind: "same", left: { n: l++, text: t }, right: { n: r++, text: t } });
    }
  }
  flush([]);
  return rows;
}

/** "v3" for a database script's number, the digest (shortened) of a repository script's file. */
export function versionLabel(version: string | number | null | undefined): string {
  if (version === null || version === undefined || version === "") return "—";
  const text = String(version);
  return /^\d+$/.test(text) ? `v${text}` : text;
}

function DiffTable({ rows, testId }: { rows: DiffRow[]; testId: string }) {
  const { t } = useI18n();
  if (rows.every((row) => row.kind === "same")) return <p className="y-muted" data-testid={`${testId}-same`}>{t("versions.identical")}</p>;
  return (
    <table className="y-table y-table-compact y-diff" data-testid={testId}>
      <tbody>
        {rows.map((row, k) => (
          <tr key={k} className={`y-diff-${row.kind}`} data-kind={row.kind}>
            <td className="y-muted y-small y-nowrap">{row.left?.n ?? ""}</td>
            <td className="y-mono y-diff-left" style={row.left && row.kind !== "same" ? { background: "rgba(220, 38, 38, 0.12)" } : undefined}>
              <pre style={PRE}>{row.left?.text ?? ""}</pre>
            </td>
            <td className="y-muted y-small y-nowrap">{row.right?.n ?? ""}</td>
            <td className="y-mono y-diff-right" style={row.right && row.kind !== "same" ? { background: "rgba(22, 163, 74, 0.12)" } : undefined}>
              <pre style={PRE}>{row.right?.text ?? ""}</pre>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function useVersion(name: string, version: number | null) {
  return usePoll((signal) => (version ? data(ylai.GET("/api/v1/scripts/{name}/versions/{version}", { params: { path: { name, version } }, signal })) : Promise.resolve(null)), [name, version]);
}

const PRE = { margin: 0, whiteSpace: "pre-wrap", wordBreak: "break-all" } as const;
const manifestText = (m: unknown) => JSON.stringify(m ?? {}, null, 2);

/** The Versions panel of a database script's page. */
export function ScriptVersions({ name, onRestored }: { name: string; onRestored: () => void }) {
  const i = useI18n();
  const { t } = i;
  const me = useMe();
  const canRestore = me.can("scripts", "edit");
  const list = usePoll((signal) => data(ylai.GET("/api/v1/scripts/{name}/versions", { params: { path: { name }, query: { limit: 500 } }, signal })), [name]);
  const items: VersionRow[] = list.data?.items ?? [];
  const [left, setLeft] = useState<number | null>(null);
  const [right, setRight] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);

  // Compare the two newest versions until the user picks others (versions are never deleted).
  useEffect(() => {
    if (!items.length) return;
    if (right === null) setRight(items[0].version);
    if (left === null) setLeft(items[Math.min(1, items.length - 1)].version);
  }, [items, left, right]);

  const before = useVersion(name, left);
  const after = useVersion(name, right);

  const restore = async (version: number) => {
    setError(null);
    setDone(null);
    if (!window.confirm(t("versions.confirmRestore", { version }))) return;
    setBusy(true);
    try {
      const out = await data(ylai.POST("/api/v1/scripts/{name}/versions/{version}/restore", { params: { path: { name, version } }, body: {} }));
      setDone(t("versions.restored", { version, current: out.current_version }));
      setRight(out.current_version);
      setLeft(version);
      list.refresh();
      onRestored();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const pick = (label: string, value: number | null, set: (v: number) => void, testId: string) => (
    <label className="y-row y-small">
      {label}
      <select className="y-input" value={value ?? ""} onChange={(e) => set(Number(e.target.value))} data-testid={testId}>
        {items.map((v) => (
          <option key={v.version} value={v.version}>
            {versionLabel(v.version)} · {v.comment || i.dateTime(v.created_at)}
          </option>
        ))}
      </select>
    </label>
  );

  return (
    <Card title={t("versions.title")} testId="script-versions">
      {list.error ? <ErrorBox error={list.error} /> : null}
      {!list.data && !list.error ? <Loading /> : null}
      <DisabledNote show={me.loaded && !canRestore} text={t("perm.noScriptEdit")} testId="versions-permission" />
      {done ? (
        <p className="y-note" data-testid="version-restored">
          {done}
        </p>
      ) : null}
      <ErrorBox error={error} testId="version-restore-error" />
      {items.length ? (
        <table className="y-table y-table-compact" data-testid="versions-table">
          <thead>
            <tr>
              <th>{t("versions.version")}</th>
              <th>{t("versions.comment")}</th>
              <th>{t("versions.author")}</th>
              <th>{t("versions.created")}</th>
              <th>{t("versions.digest")}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {items.map((v) => (
              <tr key={v.version} data-testid={`version-${v.version}`}>
                <td className="y-nowrap">
                  {versionLabel(v.version)} {v.current ? <span className="y-chip">{t("versions.current")}</span> : null}
                </td>
                <td>{v.comment || "—"}</td>
                <td>{v.created_by}</td>
                <td className="y-nowrap">{i.dateTime(v.created_at)}</td>
                <td className="y-mono y-small" title={t("versions.size", { size: i.bytes(v.size_bytes) })}>
                  {v.digest}
                </td>
                <td className="y-nowrap">
                  {v.current ? null : (
                    <button type="button" className="y-btn y-btn-small" disabled={busy || !canRestore} title={canRestore ? undefined : t("perm.noScriptEdit")} onClick={() => void restore(v.version)} data-testid={`version-restore-${v.version}`}>
                      {t("versions.restore")}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {items.length > 1 ? (
        <div data-testid="version-diff">
          <div className="y-row y-wrap">
            {pick(t("versions.from"), left, setLeft, "diff-left")}
            {pick(t("versions.to"), right, setRight, "diff-right")}
          </div>
          {before.error || after.error ? <ErrorBox error={before.error ?? after.error} /> : null}
          {before.data && after.data ? (
            <>
              <h4 className="y-small">{t("versions.script")}</h4>
              <DiffTable rows={sideBySide(before.data.content, after.data.content)} testId="diff-content" />
              <h4 className="y-small">{t("versions.manifest")}</h4>
              <DiffTable rows={sideBySide(manifestText(before.data.manifest), manifestText(after.data.manifest))} testId="diff-manifest" />
            </>
          ) : (
            <Loading />
          )}
        </div>
      ) : null}
    </Card>
  );
}

/** Which version of the script a run ran (script runs only), once its script task has started. */
export function RunScriptVersion({ dagId, runId, ended }: { dagId: string; runId: string; ended: boolean }) {
  const { t } = useI18n();
  const isScript = targetKind(dagId) === "script";
  const run = usePoll(
    (signal) => (isScript ? data(ylai.GET("/api/v1/runs/{dag_id}/{run_id}", { params: { path: { dag_id: dagId, run_id: runId } }, signal })) : Promise.resolve(null)),
    [dagId, runId, ended],
    isScript && !ended ? 3_000 : 0,
  );
  const version = run.data?.script_version;
  if (!isScript || !version) return null;
  return (
    <p className="y-small" data-testid="run-script-version">
      {t("versions.ran")} <code>{versionLabel(version)}</code>
    </p>
  );
}
