import { defineConfig } from "vite";

// The second file of the bundle: ECharts, loaded on demand by components/Chart.tsx.
export default defineConfig({
  esbuild: { legalComments: "none" },
  define: { "process.env.NODE_ENV": JSON.stringify("production") },
  build: {
    target: "es2020",
    sourcemap: false,
    emptyOutDir: false,
    reportCompressedSize: true,
    lib: {
      entry: "src/charts.ts",
      name: "YlaiCharts",
      formats: ["umd"],
      fileName: () => "charts.umd.cjs",
    },
  },
});
