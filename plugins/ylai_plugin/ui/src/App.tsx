import { useCallback } from "react";
import { useInRouterContext, useLocation, useNavigate } from "react-router-dom";
import { HistoryApp, Shell } from "./Shell";
import { injectStyles } from "./styles";

/** Inside Airflow's SPA: follow its router and navigate without reloading. */
function RoutedApp() {
  const location = useLocation();
  const navigate = useNavigate();
  const go = useCallback((to: string) => navigate(`/${to.replace(/^\/+/, "")}`), [navigate]);
  // location.pathname is relative to the router's basename; the full path is on window.location.
  return <Shell pathname={window.location.pathname} search={location.search} go={go} key={location.pathname} />;
}

/** The one component behind all the react_apps entries; the page comes from the URL. */
export default function YlaiApp() {
  injectStyles();
  return useInRouterContext() ? <RoutedApp /> : <HistoryApp />;
}
