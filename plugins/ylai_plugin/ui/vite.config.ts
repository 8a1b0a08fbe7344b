/// <reference types="vitest/config" />
import { defineConfig } from "vite";

// Airflow's UI imports the bundle with import(bundle_url) and reads globalThis.AirflowPlugin:
// a single UMD file whose React (and router) come from the globals the host sets.
const globals = {
  react: "React",
  "react-dom": "ReactDOM",
  "react-router-dom": "ReactRouterDOM",
  "react/jsx-runtime": "ReactJSXRuntime",
};

export default defineConfig(({ command }) => ({
  esbuild: { jsx: "automatic", legalComments: "none" },
  // The bundle runs in a browser: no `process` there (the tests keep React's development build).
  // YLAI_STUDIO: the pipeline studio is its own file here (vite.studio.config.ts), not inlined.
  define: command === "build" ? { "process.env.NODE_ENV": JSON.stringify("production"), "import.meta.env.YLAI_STUDIO": JSON.stringify("umd") } : {},
  build: {
    target: "es2020",
    sourcemap: false,
    emptyOutDir: true,
    cssCodeSplit: false,
    reportCompressedSize: true,
    lib: {
      entry: "src/main.tsx",
      name: "AirflowPlugin",
      formats: ["umd"],
      fileName: () => "main.umd.cjs",
    },
    rollupOptions: {
      external: Object.keys(globals),
      output: { globals, exports: "default" },
    },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}"],
    restoreMocks: true,
    // vitest's 5 s default failed tests that take 1 s on a quiet machine while CI's two cores also
    // ran browsers and platforms (the 200-node layout, 50 random YAML round trips, ECharts pages);
    // a test that really hangs still fails.
    testTimeout: 30_000,
    // `npm test` (so `make test`) measures and enforces these; the per-file table lists only files
    // below 100 %, coverage/index.html has everything, coverage-summary.json feeds make test's summary.
    coverage: {
      provider: "v8",
      include: ["src/**/*.{ts,tsx}"],
      exclude: ["src/**/*.test.{ts,tsx}", "src/test/**"],
      reporter: [["text", { skipFull: true }], "text-summary", "html", "json-summary"],
      thresholds: { lines: 80, branches: 80, statements: 80, functions: 80 },
    },
  },
}));
