import { useCallback, useEffect, useMemo, useState, type ComponentType } from "react";
import { useInRouterContext, useLocation, useNavigate } from "react-router-dom";
import { resolveUrl } from "./lib/api";
import { MeProvider } from "./lib/me";
import { NavContext, pageFromPath, type Nav, type PageId } from "./lib/nav";
import { EnvProvider, useHostEnv } from "./i18n";
import { Overview } from "./pages/Overview";
import { Run } from "./pages/Run";
import { Monitor } from "./pages/Monitor";
import { Scripts } from "./pages/Scripts";
import { Tasks } from "./pages/Tasks";
import { Alerts } from "./pages/Alerts";
import { injectStyles } from "./styles";

const PAGE_COMPONENTS: Record<PageId, ComponentType> = {
  overview: Overview,
  run: Run,
  monitor: Monitor,
  scripts: Scripts,
  tasks: Tasks,
  alerts: Alerts,
};

function Shell({ pathname, search, go }: { pathname: string; search: string; go: (to: string) => void }) {
  const env = useHostEnv();
  const page = pageFromPath(pathname) ?? "overview";
  const nav: Nav = useMemo(() => ({ page, search: new URLSearchParams(search), go }), [page, search, go]);
  const Page = PAGE_COMPONENTS[page];
  return (
    <EnvProvider env={env}>
      <NavContext.Provider value={nav}>
        <MeProvider>
          <div className={env.dark ? "ylai ylai-dark" : "ylai"} data-testid="ylai-root" data-page={page} data-lang={env.lang} lang={env.lang}>
            {/* key: a fresh page (and its state) for each page and query */}
            <Page key={`${page}?${search}`} />
          </div>
        </MeProvider>
      </NavContext.Provider>
    </EnvProvider>
  );
}

/** Inside Airflow's SPA: follow its router and navigate without reloading. */
function RoutedApp() {
  const location = useLocation();
  const navigate = useNavigate();
  const go = useCallback((to: string) => navigate(`/${to.replace(/^\/+/, "")}`), [navigate]);
  // location.pathname is relative to the router's basename; the full path is on window.location.
  return <Shell pathname={window.location.pathname} search={location.search} go={go} key={location.pathname} />;
}

/** Outside a router (tests, a bare page): the History API. */
function StandaloneApp() {
  const [loc, setLoc] = useState(() => ({ pathname: window.location.pathname, search: window.location.search }));
  useEffect(() => {
    const update = () => setLoc({ pathname: window.location.pathname, search: window.location.search });
    window.addEventListener("popstate", update);
    return () => window.removeEventListener("popstate", update);
  }, []);
  const go = useCallback((to: string) => {
    window.history.pushState(null, "", resolveUrl(to));
    window.dispatchEvent(new PopStateEvent("popstate"));
  }, []);
  return <Shell pathname={loc.pathname} search={loc.search} go={go} />;
}

/** The one component behind all the react_apps entries; the page comes from the URL. */
export default function YlaiApp() {
  injectStyles();
  return useInRouterContext() ? <RoutedApp /> : <StandaloneApp />;
}
