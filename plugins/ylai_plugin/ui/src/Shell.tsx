import { useCallback, useEffect, useMemo, useRef, useState, type ComponentType, type RefObject } from "react";
import { SERVER_URL } from "../generated/ylai";
import { resolveUrl } from "./lib/api";
import { MeProvider } from "./lib/me";
import { OutageBanner } from "./components/OutageBanner";
import { HeaderExtra } from "./components/ui";
import { FeedbackButton } from "./components/Feedback";
import { HeatmapOverlay, HeatmapToggle, useMaySeeHeatmap } from "./components/Heatmap";
import { useUsageBeacon } from "./lib/usage";
import { NavContext, hrefFor, isStandalonePath, pageFromPath, pagePath, standalonePath, type Nav, type PageId } from "./lib/nav";
import { EnvProvider, useHostEnv, useI18n, type Env, type Lang } from "./i18n";
import { Overview } from "./pages/Overview";
import { Run } from "./pages/Run";
import { Monitor } from "./pages/Monitor";
import { Logs } from "./pages/Logs";
import { Resources } from "./pages/Resources";
import { Scripts } from "./pages/Scripts";
import { Tasks } from "./pages/Tasks";
import { Alerts } from "./pages/alerts";
import { Pipelines } from "./pages/pipelines";
import { Approvals } from "./pages/Approvals";
import { Audit } from "./pages/Audit";
import { Access } from "./pages/Access";
import { Feedback } from "./pages/Feedback";
import { Insights } from "./pages/Insights";

// Kept free of react-router: the standalone bundle (src/standalone.tsx) imports this module only.

/** The component of each page of ylai_plugin/pages.json (a test checks that none is missing). */
export const PAGE_COMPONENTS: Record<PageId, ComponentType> = {
  overview: Overview,
  run: Run,
  monitor: Monitor,
  logs: Logs,
  resources: Resources,
  scripts: Scripts,
  tasks: Tasks,
  alerts: Alerts,
  pipelines: Pipelines,
  approvals: Approvals,
  audit: Audit,
  access: Access,
  feedback: Feedback,
  insights: Insights,
};

/**
 * Without Airflow's shell nobody else offers the language and colour-mode switches, so the
 * standalone view writes the same settings Airflow's own selectors keep: i18next's
 * localStorage "i18nextLng" (mirrored on <html lang>) and next-themes' localStorage "theme"
 * (mirrored as the "dark"/"light" class on <html>). useHostEnv follows both.
 */
export function setHostLang(lang: Lang): void {
  try {
    window.localStorage.setItem("i18nextLng", lang);
  } catch {
    // storage disabled: the choice lasts for this page only
  }
  document.documentElement.setAttribute("lang", lang);
}

export function setHostDark(dark: boolean): void {
  try {
    window.localStorage.setItem("theme", dark ? "dark" : "light");
  } catch {
    // storage disabled: the choice lasts for this page only
  }
  const root = document.documentElement;
  root.classList.toggle("dark", dark);
  root.classList.toggle("light", !dark);
  root.style.colorScheme = dark ? "dark" : "light";
}

/** Each language by its own name (as language menus do), so not translated. */
const LANG_NAMES: Record<Lang, string> = { en: "English", "zh-CN": "中文" };

/** ylai's API in Swagger UI (api/routes/swagger.py), where "Try it out" calls it with this login. */
export const API_DOCS_PATH = `${SERVER_URL}/api/v1/swagger`;

function ApiDocsLink() {
  const { t } = useI18n();
  return (
    <a href={resolveUrl(API_DOCS_PATH)} target="_blank" rel="noopener" title={t("apiDocs.hint")} data-testid="api-docs-link">
      {t("apiDocs.link")}
    </a>
  );
}

/** The standalone view's top bar: the API docs, the way back into Airflow, language and colour mode. */
function TopBar({ page, search, env }: { page: PageId; search: string; env: Env }) {
  const { t } = useI18n();
  return (
    <div className="y-topbar" data-testid="standalone-bar" data-ylai-region="topbar">
      <span className="y-brand">ylai</span>
      <ApiDocsLink />
      <a href={resolveUrl(pagePath(page, search))} title={t("standalone.openInAirflowHint")} data-testid="open-in-airflow">
        {t("standalone.openInAirflow")}
      </a>
      <select
        className="y-input"
        aria-label={t("standalone.language")}
        value={env.lang}
        onChange={(e) => setHostLang(e.target.value as Lang)}
        data-testid="lang-select"
      >
        {Object.entries(LANG_NAMES).map(([code, name]) => (
          <option key={code} value={code}>
            {name}
          </option>
        ))}
      </select>
      <label className="y-row">
        <input type="checkbox" checked={env.dark} onChange={(e) => setHostDark(e.target.checked)} data-testid="dark-toggle" />
        {t("standalone.dark")}
      </label>
    </div>
  );
}

/** In Airflow's shell: discreet links to the API docs and to the same page in the fast standalone view. */
function ViewLink({ page, search }: { page: PageId; search: string }) {
  const { t } = useI18n();
  return (
    <span className="y-viewlink" data-ylai-region="topbar">
      <ApiDocsLink />
      <a href={resolveUrl(standalonePath(page, search))} title={t("standalone.fastViewHint")} data-testid="open-standalone">
        {t("standalone.fastView")}
      </a>
    </span>
  );
}

/**
 * What every page's header ends with (issue 20): the feedback button and, for users who may read
 * the insights, the heatmap switch; in the page's flow, so it never covers the page's controls.
 * The overlay itself covers the whole page (a child of the root).
 */
function Corner({ page, heatmap, onHeatmap }: { page: PageId; heatmap: boolean; onHeatmap: (on: boolean) => void }) {
  const maySee = useMaySeeHeatmap();
  return (
    <div className="y-corner" data-ylai-region="aside" data-testid="ylai-corner">
      {maySee ? <HeatmapToggle on={heatmap} onToggle={onHeatmap} /> : null}
      <FeedbackButton page={page} />
    </div>
  );
}

function HeatmapLayer({ page, on, root }: { page: PageId; on: boolean; root: RefObject<HTMLDivElement | null> }) {
  const maySee = useMaySeeHeatmap();
  return on && maySee ? <HeatmapOverlay page={page} root={root} /> : null;
}

export function Shell({ pathname, search, go, standalone = false }: { pathname: string; search: string; go: (to: string) => void; standalone?: boolean }) {
  const env = useHostEnv();
  const page = pageFromPath(pathname) ?? "overview";
  const nav: Nav = useMemo(() => ({ page, search: new URLSearchParams(search), go, standalone }), [page, search, go, standalone]);
  const Page = PAGE_COMPONENTS[page];
  const cls = ["ylai", env.dark ? "ylai-dark" : "", standalone ? "ylai-standalone" : ""].filter(Boolean).join(" ");
  const root = useRef<HTMLDivElement>(null);
  const [heatmap, setHeatmap] = useState(false);
  // Page views and clicks (page, region, position in it; nothing else) for the usage statistics.
  useUsageBeacon(page, root);
  return (
    <EnvProvider env={env}>
      <NavContext.Provider value={nav}>
        <MeProvider>
          <div className={cls} ref={root} data-testid="ylai-root" data-page={page} data-lang={env.lang} lang={env.lang}>
            {standalone ? <TopBar page={page} search={search} env={env} /> : <ViewLink page={page} search={search} />}
            {/* A dependency down (a 503 naming it): said once, above the page, until requests succeed again */}
            <OutageBanner />
            {/* key: a fresh page (and its state) for each page and query; its PageHeader marks "header" and "nav" */}
            <HeaderExtra.Provider value={<Corner page={page} heatmap={heatmap} onHeatmap={setHeatmap} />}>
              <div data-ylai-region="main">
                <Page key={`${page}?${search}`} />
              </div>
            </HeaderExtra.Provider>
            <HeatmapLayer page={page} on={heatmap} root={root} />
          </div>
        </MeProvider>
      </NavContext.Provider>
    </EnvProvider>
  );
}

/**
 * Outside a router: the History API. ``standalone`` is ylai's own fast view (/ylai/app/<page>):
 * its pages switch without a reload and every other link (Airflow's pages) loads normally.
 * Without it (tests, a bare page) every link is switched in place.
 */
export function HistoryApp({ standalone = false }: { standalone?: boolean }) {
  const [loc, setLoc] = useState(() => ({ pathname: window.location.pathname, search: window.location.search }));
  useEffect(() => {
    const update = () => setLoc({ pathname: window.location.pathname, search: window.location.search });
    window.addEventListener("popstate", update);
    return () => window.removeEventListener("popstate", update);
  }, []);
  const go = useCallback(
    (to: string) => {
      const rel = hrefFor(to, standalone);
      if (standalone && !isStandalonePath(rel)) {
        window.location.assign(resolveUrl(rel));
        return;
      }
      window.history.pushState(null, "", resolveUrl(rel));
      window.dispatchEvent(new PopStateEvent("popstate"));
    },
    [standalone],
  );
  return <Shell pathname={loc.pathname} search={loc.search} go={go} standalone={standalone} />;
}
