import YlaiApp from "./App";
import { PAGE_LIST } from "./lib/nav";
import { SHARED } from "./pages/pipelines/shared";

// Airflow looks up globalThis[<react_apps name>] first and only then globalThis.AirflowPlugin
// (which it clears before each import). The browser runs this module once, so every page's
// name must be registered now, not on later imports of the same URL.
const g = globalThis as unknown as Record<string, unknown>;
for (const page of PAGE_LIST) g[page.menu] = YlaiApp;
g.AirflowPlugin = YlaiApp;
// The pipeline studio's own file (dist/studio.umd.cjs) uses these modules of this bundle.
g.YlaiShared = SHARED;

export default YlaiApp;
