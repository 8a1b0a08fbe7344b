import { createContext, useContext, type MouseEvent, type ReactNode } from "react";
import { resolveUrl } from "./api";

export const PAGES = ["overview", "run", "monitor", "scripts", "tasks", "alerts"] as const;
export type PageId = (typeof PAGES)[number];

/**
 * Airflow routes react_apps to <base>/plugin/<url_route>; our routes are ylai-<page>.
 * Any base path prefix (an [api] base_url such as /airflow/) is accepted.
 */
export function pageFromPath(pathname: string): PageId | null {
  const m = /\/plugin\/ylai-(overview|run|monitor|scripts|tasks|alerts)(?:\/|$)/.exec(pathname);
  return m ? (m[1] as PageId) : null;
}

export const pagePath = (page: PageId, query = "") => `plugin/ylai-${page}${query}`;

export interface Nav {
  page: PageId;
  search: URLSearchParams;
  /** Go to a path relative to Airflow's base URL ("plugin/ylai-run?dag_id=x", "dags/x/runs/y"). */
  go: (to: string) => void;
}

export const NavContext = createContext<Nav>({
  page: "overview",
  search: new URLSearchParams(),
  go: (to) => window.location.assign(resolveUrl(to)),
});

export const useNav = () => useContext(NavContext);

export function Link({ to, children, className, title, testId }: { to: string; children: ReactNode; className?: string; title?: string; testId?: string }) {
  const nav = useNav();
  const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    nav.go(to);
  };
  return (
    <a href={resolveUrl(to)} onClick={onClick} className={className} title={title} data-testid={testId}>
      {children}
    </a>
  );
}
