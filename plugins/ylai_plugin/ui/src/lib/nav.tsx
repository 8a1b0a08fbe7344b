import { createContext, useContext, type MouseEvent, type ReactNode } from "react";
import { resolveUrl } from "./api";

import pageList from "../../../pages.json";

/** One of ylai's pages: ylai_plugin/pages.json lists them for the plugin, the standalone view and these tabs. */
export interface PageInfo {
  id: string;
  /** Its entry in Airflow's "ylai" menu (the react_apps name). */
  menu: string;
}

export const PAGE_LIST: readonly PageInfo[] = pageList;
export const PAGES: readonly string[] = PAGE_LIST.map((p) => p.id);
export type PageId = string;

/**
 * Pages only some users may open, with the /me resource that must allow "read": their tabs show
 * only for those users (the server's 403 protects the data either way).
 */
export const RESTRICTED_PAGES: Readonly<Record<string, string>> = { feedback: "feedback", insights: "insights" };

/** The pages whose tabs a user sees: all but the restricted ones ``canRead`` does not allow. */
export function visiblePages(canRead: (resource: string) => boolean): PageId[] {
  return PAGES.filter((p) => !(p in RESTRICTED_PAGES) || canRead(RESTRICTED_PAGES[p]));
}

const PAGE_RE = `(${PAGES.join("|")})`;

/**
 * The page shown at ``pathname``. Inside Airflow's UI the react_apps live at
 * <base>/plugin/ylai-<page> (our url_routes); the fast standalone view serves the same pages at
 * <base>/ylai/app/<page>. Any base path prefix (an [api] base_url such as /airflow/) is accepted.
 */
export function pageFromPath(pathname: string): PageId | null {
  const m = new RegExp(`/(?:plugin/ylai-|ylai/app/)${PAGE_RE}(?:/|$)`).exec(pathname);
  return m ? (m[1] as PageId) : null;
}

/** A ylai page inside Airflow's UI, relative to Airflow's base URL; links use this form everywhere. */
export const pagePath = (page: PageId, query = "") => `plugin/ylai-${page}${query}`;

/** The same page in the fast standalone view (served by ylai at /ylai/app/<page>). */
export const standalonePath = (page: PageId, query = "") => `ylai/app/${page}${query}`;

const IN_SHELL = new RegExp(`^plugin/ylai-${PAGE_RE}(?=[/?#]|$)(.*)$`);

/**
 * The one place that maps an in-app link to where it leads, relative to Airflow's base URL.
 * In Airflow's shell every link stays as written. In the standalone view, links to ylai's pages
 * ("plugin/ylai-run?x") stay in the standalone view ("ylai/app/run?x"), and everything else
 * ("dags/...", "ylai/api/...") goes to Airflow as written.
 */
export function hrefFor(to: string, standalone: boolean): string {
  const rel = to.replace(/^\/+/, "");
  if (!standalone) return rel;
  const m = IN_SHELL.exec(rel);
  return m ? standalonePath(m[1] as PageId, m[2].replace(/^\/(?=[?#]|$)/, "")) : rel;
}

/** Whether a path made by ``hrefFor`` is a page of the standalone view (switched without a reload). */
export const isStandalonePath = (rel: string) => new RegExp(`^ylai/app/${PAGE_RE}(?=[?#]|$)`).test(rel);

export interface Nav {
  page: PageId;
  search: URLSearchParams;
  /** Whether the pages run in ylai's standalone view rather than inside Airflow's UI. */
  standalone: boolean;
  /** Go to a path relative to Airflow's base URL ("plugin/ylai-run?dag_id=x", "dags/x/runs/y"). */
  go: (to: string) => void;
}

export const NavContext = createContext<Nav>({
  page: "overview",
  search: new URLSearchParams(),
  standalone: false,
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
    <a href={resolveUrl(hrefFor(to, nav.standalone))} onClick={onClick} className={className} title={title} data-testid={testId}>
      {children}
    </a>
  );
}
