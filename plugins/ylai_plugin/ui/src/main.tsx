import YlaiApp from "./App";

// Airflow looks up globalThis[<react_apps name>] first and only then globalThis.AirflowPlugin
// (which it clears before each import). The browser runs this module once, so every page's
// name must be registered now, not on later imports of the same URL.
const NAMES = ["ylai Overview", "ylai Run", "ylai Monitor", "ylai Scripts", "ylai Tasks", "ylai Alerts"];
const g = globalThis as unknown as Record<string, unknown>;
for (const name of NAMES) g[name] = YlaiApp;
g.AirflowPlugin = YlaiApp;

export default YlaiApp;
