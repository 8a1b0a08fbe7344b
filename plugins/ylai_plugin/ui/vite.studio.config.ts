import { defineConfig } from "vite";

// The pipeline studio inside Airflow's UI: its own UMD file (dist/studio.umd.cjs, global
// YlaiStudio) with React Flow, dagre and yaml, loaded when the editor opens, so that main.umd.cjs
// (every page's first load) does not carry them. React comes from Airflow's globals like the main
// bundle's; every other module of src/ outside the studio's folders (src/pages/pipelines,
// src/lib/pipeline) comes from the main bundle through globalThis.YlaiShared (main.tsx and
// src/pages/pipelines/shared.ts, checked by shared.test.ts), so contexts (language, permissions,
// navigation) are the page's own. The standalone view's ES build splits the studio off by itself.

const SRC = new URL("./src/", import.meta.url).pathname;
const OWN = ["pages/pipelines/", "lib/pipeline/"];
const hostGlobals: Record<string, string> = {
  react: "React",
  "react-dom": "ReactDOM",
  "react-router-dom": "ReactRouterDOM",
  "react/jsx-runtime": "ReactJSXRuntime",
};

/** `dir` + a relative path, with "." and ".." resolved. */
function join(dir: string, rel: string): string {
  const parts = dir.split("/");
  for (const p of rel.split("/")) {
    if (p === "..") parts.pop();
    else if (p !== ".") parts.push(p);
  }
  return parts.join("/");
}

/** The YlaiShared key of a module of src/ the studio takes from the main bundle ("lib_me"), or null. */
function sharedKey(id: string, importer?: string): string | null {
  let abs = id;
  if (id.startsWith(".")) {
    if (!importer) return null;
    abs = join(importer.slice(0, importer.lastIndexOf("/")), id);
  }
  if (!abs.startsWith(SRC)) return null;
  const rel = abs.slice(SRC.length).replace(/\.(tsx?|jsx?)$/, "").replace(/\/index$/, "");
  if (OWN.some((own) => `${rel}/`.startsWith(own)) || rel.includes("?")) return null;
  return rel.replace(/\//g, "_");
}

export default defineConfig({
  esbuild: { jsx: "automatic", legalComments: "none" },
  define: { "process.env.NODE_ENV": JSON.stringify("production"), "import.meta.env.YLAI_STUDIO": JSON.stringify("umd") },
  build: {
    target: "es2020",
    sourcemap: false,
    emptyOutDir: false,
    cssCodeSplit: false,
    reportCompressedSize: true,
    lib: {
      entry: "src/pages/pipelines/studioEntry.ts",
      name: "YlaiStudio",
      formats: ["umd"],
      fileName: () => "studio.umd.cjs",
    },
    rollupOptions: {
      external: (id, importer) => id in hostGlobals || sharedKey(id, importer) !== null,
      output: {
        exports: "named",
        globals: (id) => {
          const key = sharedKey(id);
          return hostGlobals[id] ?? (key ? `YlaiShared.${key}` : id);
        },
      },
    },
  },
});
