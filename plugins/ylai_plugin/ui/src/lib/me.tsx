import { createContext, useContext, useEffect, useState, type ReactNode } from "react";
import { data, ylai, type Schemas } from "../api/client";
import { ApiError } from "./api";

export type Resource = "tasks" | "scripts" | "presets" | "monitor" | "alerts" | "reports" | "pipelines" | "feedback" | "insights";
export type Action = "read" | "create" | "edit" | "delete";

export type DagRights = Schemas["DagRights"];

export interface Me {
  loaded: boolean;
  /** True when the server has no /me: everything is enabled and the server's 403 decides. */
  assumed: boolean;
  username: string | null;
  roles: string[];
  can: (resource: Resource, action: Action) => boolean;
  /** Every ylai resource (by its /me key) with the caller's actions on it. */
  permissions: Record<string, Action[]>;
  /** Whether the caller may read and change the access matrix (the Access page's checkboxes). */
  mayManageAccess: boolean;
  /** Link to a run's trace, ``{trace_id}`` standing for its id; null when none is configured. */
  traceUrlTemplate: string | null;
}

// Until /me answers nothing is allowed (no control flashes enabled for a Viewer); without a
// /me endpoint everything is, and the server's 403 decides.
const PENDING: Me = { loaded: false, assumed: false, username: null, roles: [], can: () => false, permissions: {}, mayManageAccess: false, traceUrlTemplate: null };
const FULL: Me = { loaded: true, assumed: true, username: null, roles: [], can: () => true, permissions: {}, mayManageAccess: false, traceUrlTemplate: null };

let cached: Promise<Me> | null = null;

export function loadMe(): Promise<Me> {
  cached ??= data(ylai.GET("/api/v1/me")).then(
    (me) => ({
      loaded: true,
      assumed: false,
      username: me.username,
      roles: me.roles ?? [],
      can: (r: Resource, a: Action) => ((me.permissions as Partial<Record<Resource, Action[]>>)?.[r] ?? []).includes(a),
      permissions: (me.permissions ?? {}) as Record<string, Action[]>,
      mayManageAccess: me.may_manage_access ?? false,
      traceUrlTemplate: me.trace_url_template ?? null,
    }),
    (err: unknown) => {
      if (err instanceof ApiError && err.status === 401) cached = null;
      return FULL;
    },
  );
  return cached;
}

export function resetMeCache(): void {
  cached = null;
  dagCache.clear();
}

const MeContext = createContext<Me>(PENDING);

export function MeProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<Me>(PENDING);
  useEffect(() => {
    let live = true;
    void loadMe().then((m) => live && setMe(m));
    return () => {
      live = false;
    };
  }, []);
  return <MeContext.Provider value={me}>{children}</MeContext.Provider>;
}

export const useMe = () => useContext(MeContext);

const ALL: DagRights = { read: true, run: true, logs: true };
const dagCache = new Map<string, Promise<DagRights>>();

/** What the caller may do with one DAG; undefined while unknown. Without /me: everything. */
export function useDagRights(dagId: string | null | undefined): DagRights | undefined {
  const me = useMe();
  const [rights, setRights] = useState<{ dagId: string; rights: DagRights } | null>(null);
  useEffect(() => {
    if (!dagId || !me.loaded || me.assumed) return undefined;
    let live = true;
    let pending = dagCache.get(dagId);
    if (!pending) {
      pending = data(ylai.GET("/api/v1/me", { params: { query: { dag_id: [dagId] } } })).then(
        (r) => r.dags?.[dagId] ?? { read: true, run: false, logs: false },
        () => ALL,
      );
      dagCache.set(dagId, pending);
    }
    void pending.then((r) => live && setRights({ dagId, rights: r }));
    return () => {
      live = false;
    };
  }, [dagId, me.loaded, me.assumed]);
  if (!dagId) return undefined;
  if (me.loaded && me.assumed) return ALL;
  return rights?.dagId === dagId ? rights.rights : undefined;
}
