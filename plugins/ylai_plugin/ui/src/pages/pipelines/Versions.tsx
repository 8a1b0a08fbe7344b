import { useState } from "react";
import { Card, ErrorBox, Loading } from "../../components/ui";
import { useI18n } from "../../i18n";
import { useStudioText } from "./i18n";
import { qs } from "../../lib/api";
import { usePoll } from "../../lib/hooks";
import { useMe } from "../../lib/me";
import { pagePath, useNav } from "../../lib/nav";
import { deletePipeline, listVersions, restoreVersion } from "./api";

/** A database pipeline's versions (restoring one makes a new version) and its deletion. */
export function Versions({ name, dirty }: { name: string; dirty: boolean }) {
  const { t, dateTime } = useI18n();
  const st = useStudioText();
  const me = useMe();
  const nav = useNav();
  const list = usePoll((signal) => listVersions(name, signal), [name]);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const canEdit = me.can("pipelines", "edit");
  const canDelete = me.can("pipelines", "delete");
  const restore = async (version: number) => {
    if (dirty && !window.confirm(st("restoreDiscards"))) return;
    setBusy(true);
    setError(null);
    try {
      const out = await restoreVersion(name, version, st("restoredFrom", { version }));
      nav.go(pagePath("pipelines", qs({ name, v: out.current_version })));
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  const remove = async () => {
    if (!window.confirm(st("deleteConfirm", { name }))) return;
    setBusy(true);
    setError(null);
    try {
      await deletePipeline(name);
      nav.go(pagePath("pipelines"));
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  const current = list.data?.current_version;
  return (
    <Card title={st("versions")} testId="studio-versions">
      <ErrorBox error={list.error ?? error} />
      {list.loading && !list.data ? <Loading /> : null}
      {list.data ? (
        <table className="y-table y-table-compact">
          <thead>
            <tr>
              <th>{st("version")}</th>
              <th>{st("comment")}</th>
              <th>{t("col.by")}</th>
              <th>{t("col.started")}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {[...list.data.versions].reverse().map((v) => (
              <tr key={v.version} data-testid={`version-${v.version}`}>
                <td>
                  {v.version}
                  {v.version === current ? <span className="y-chip">{st("current")}</span> : null}
                </td>
                <td>{v.comment}</td>
                <td>{v.created_by}</td>
                <td className="y-nowrap">{dateTime(v.created_at)}</td>
                <td>
                  {v.version !== current ? (
                    <button
                      type="button"
                      className="y-btn y-btn-small"
                      disabled={!canEdit || busy}
                      title={canEdit ? undefined : t("perm.noPipelineEdit")}
                      onClick={() => void restore(v.version)}
                      data-testid={`restore-${v.version}`}
                    >
                      {st("restore")}
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <div className="y-row" style={{ marginTop: 8 }}>
        <button type="button" className="y-btn y-btn-danger" disabled={!canDelete || busy} title={canDelete ? undefined : t("perm.noPipelineDelete")} onClick={() => void remove()} data-testid="studio-delete">
          {st("deletePipeline")}
        </button>
      </div>
    </Card>
  );
}
