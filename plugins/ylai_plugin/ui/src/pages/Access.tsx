import { useEffect, useState } from "react";
import { data, ylai, type Schemas } from "../api/client";
import { usePoll } from "../lib/hooks";
import { useMe } from "../lib/me";
import { useI18n, type I18n } from "../i18n";
import { Card, DisabledNote, ErrorBox, Loading, PageHeader } from "../components/ui";

type Matrix = Schemas["AccessMatrixOut"];
type RoleRow = Schemas["RoleAccessOut"];
/** One role's grants being edited: resource -> actions. */
export type Grants = Record<string, string[]>;

/** The role FAB keeps whole (the server refuses revocations from it). */
export const ADMIN_ROLE = "Admin";

/** The short key of a FAB resource, as /me names it: "ylai Tasks" is "tasks". */
export const resourceKey = (resource: string) => resource.replace(/^ylai /, "").toLowerCase().replace(/ /g, "_");

/** A resource as people read it; a resource without a translation keeps its FAB name. */
const resourceLabel = (i: I18n, resource: string) => i.tx(`access.res.${resourceKey(resource)}`, resource);
const actionLabel = (i: I18n, action: string) => i.tx(`access.action.${action}`, action);

/** ``grants`` with ``action`` on ``resource`` switched on or off, actions kept in ``order``. */
export function toggle(grants: Grants, resource: string, action: string, on: boolean, order: readonly string[]): Grants {
  const now = new Set(grants[resource] ?? []);
  if (on) now.add(action);
  else now.delete(action);
  return { ...grants, [resource]: order.filter((a) => now.has(a)) };
}

/** Whether two rows of grants differ (same resources, actions in the same order). */
export function differs(a: Grants, b: Grants): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].some((k) => (a[k] ?? []).join() !== (b[k] ?? []).join());
}

function SecurityLinks({ links }: { links: Matrix["links"] }) {
  const { t } = useI18n();
  if (!links.length) return null;
  return (
    <p className="y-muted" data-testid="access-security-links">
      {t("access.securityLinks")}{" "}
      {links.map((link, n) => (
        <span key={link.href}>
          {n ? " · " : ""}
          <a href={link.href} target="_top" data-testid={`access-link-${link.text.toLowerCase()}`}>
            {link.text}
          </a>
        </span>
      ))}
    </p>
  );
}

function RoleCard({ row, resources, actions, onSaved }: { row: RoleRow; resources: string[]; actions: string[]; onSaved: () => void }) {
  const i = useI18n();
  const { t } = i;
  const [draft, setDraft] = useState<Grants>(row.permissions);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState<string | null>(null);
  // A refetched row (after a save, or someone else's change) replaces the draft.
  useEffect(() => setDraft(row.permissions), [row.permissions]);
  const locked = row.name === ADMIN_ROLE;
  const dirty = differs(draft, row.permissions);
  const id = row.name.replace(/[^A-Za-z0-9_-]/g, "_");

  async function save() {
    setBusy(true);
    setError(null);
    setSaved(null);
    try {
      const change = await data(ylai.PUT("/api/v1/access/{role}", { params: { path: { role: row.name } }, body: { permissions: draft } }));
      setSaved(t("access.saved", { granted: change.granted.length, revoked: change.revoked.length }));
      onSaved();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    // A role's name is data, not text of ours: translate="no" keeps it out of translation (and its checks).
    <Card title={<span translate="no">{row.name}</span>} testId={`access-role-${id}`}>
      <p className="y-small" data-testid={`access-users-${id}`}>
        <strong>{t("access.users", { n: row.user_count })}</strong>
        {": "}
        {row.users.length ? row.users.join(", ") : <span className="y-muted">{t("access.noUsers")}</span>}
      </p>
      <table className="y-table" data-testid={`access-matrix-${id}`}>
        <thead>
          <tr>
            <th>{t("access.resource")}</th>
            {actions.map((a) => (
              <th key={a}>{actionLabel(i, a)}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {resources.map((r) => (
            <tr key={r}>
              <td title={r}>{resourceLabel(i, r)}</td>
              {actions.map((a) => (
                <td key={a}>
                  <input
                    type="checkbox"
                    aria-label={`${row.name}: ${actionLabel(i, a)} ${resourceLabel(i, r)}`}
                    data-testid={`grant-${id}-${resourceKey(r)}-${a}`}
                    checked={(draft[r] ?? []).includes(a)}
                    disabled={locked || busy}
                    onChange={(e) => setDraft(toggle(draft, r, a, e.currentTarget.checked, actions))}
                  />
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      <DisabledNote show={locked} text={t("access.adminLocked")} testId={`access-locked-${id}`} />
      {locked ? null : (
        <div className="y-actions">
          <button type="button" className="y-btn y-btn-primary" disabled={!dirty || busy} onClick={() => void save()} data-testid={`access-save-${id}`}>
            {t("access.save")}
          </button>
          <button type="button" className="y-btn" disabled={!dirty || busy} onClick={() => setDraft(row.permissions)} data-testid={`access-undo-${id}`}>
            {t("access.undo")}
          </button>
          {dirty ? <span className="y-small y-tone-warn">{t("access.unsaved")}</span> : null}
          {saved && !dirty ? (
            <span className="y-small y-tone-ok" data-testid={`access-saved-${id}`}>
              {saved}
            </span>
          ) : null}
        </div>
      )}
      {error ? <ErrorBox error={error} testId={`access-error-${id}`} /> : null}
    </Card>
  );
}

function AdminMatrix() {
  const matrix = usePoll((signal) => data(ylai.GET("/api/v1/access", { signal })), []);
  if (matrix.error) return <ErrorBox error={matrix.error} testId="access-error" />;
  if (!matrix.data) return <Loading />;
  const { resources, actions, roles, links } = matrix.data;
  return (
    <>
      <SecurityLinks links={links} />
      {roles.map((row) => (
        <RoleCard key={row.name} row={row} resources={resources} actions={actions} onSaved={matrix.refresh} />
      ))}
    </>
  );
}

/** What a non-admin sees: their own roles and permissions, from /me. */
function OwnPermissions() {
  const i = useI18n();
  const { t } = i;
  const me = useMe();
  if (!me.loaded) return <Loading />;
  const keys = Object.keys(me.permissions);
  return (
    <Card title={t("access.mine")} testId="access-mine">
      <p className="y-small" data-testid="access-my-roles">
        {t("access.myRoles", { roles: me.roles.join(", ") || t("access.none") })}
      </p>
      <table className="y-table">
        <thead>
          <tr>
            <th>{t("access.resource")}</th>
            <th>{t("access.action.can_read")}</th>
            <th>{t("access.action.can_create")}</th>
            <th>{t("access.action.can_edit")}</th>
            <th>{t("access.action.can_delete")}</th>
          </tr>
        </thead>
        <tbody>
          {keys.map((key) => (
            <tr key={key} data-testid={`mine-${key}`}>
              <td>{i.tx(`access.res.${key}`, key)}</td>
              {(["read", "create", "edit", "delete"] as const).map((a) => (
                <td key={a} data-testid={`mine-${key}-${a}`}>
                  {me.permissions[key]?.includes(a) ? "✓" : "—"}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      <p className="y-muted">{t("access.readOnly")}</p>
    </Card>
  );
}

export function Access() {
  const { t } = useI18n();
  const me = useMe();
  return (
    <div data-testid="page-access">
      <PageHeader title={t("access.title")} subtitle={t("access.subtitle")} />
      {!me.loaded ? <Loading /> : me.mayManageAccess ? <AdminMatrix /> : <OwnPermissions />}
    </div>
  );
}
