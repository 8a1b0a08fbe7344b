// The entry of dist/studio.umd.cjs (global YlaiStudio), loaded by index.tsx inside Airflow's UI.
export { default } from "./Studio";
