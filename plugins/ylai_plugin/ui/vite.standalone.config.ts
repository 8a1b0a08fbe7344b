import { defineConfig, type Plugin } from "vite";
import { CSS } from "./src/styles";
import en from "./src/i18n/en.json";
import zh from "./src/i18n/zh-CN.json";
import { PAGES, RESTRICTED_PAGES } from "./src/lib/nav";

// The fast standalone view (/ylai/app/<page>, served by api/standalone.py): the same pages with
// their own React (no host globals), as ES modules with content-hashed names under dist/app/.
// ECharts stays out of it: components/Chart.tsx loads dist/charts.umd.cjs on demand.

const SHELL_KEYS = ["nav.label", ...PAGES.map((p) => `nav.${p}`), ...PAGES.map((p) => `${p}.title`), "apiDocs.link", "standalone.openInAirflow", "standalone.language", "standalone.dark"];

/**
 * shell.json: what the server needs to paint the page's final layout before any JS runs. Its tabs
 * leave out the pages only some users may open (RESTRICTED_PAGES): the page adds theirs once /me
 * allows them, rather than a Viewer seeing tabs that then vanish.
 */
function shellAssets(): Plugin {
  const pick = (dict: Record<string, string>) => Object.fromEntries(SHELL_KEYS.map((k) => [k, dict[k] ?? (en as Record<string, string>)[k]]));
  return {
    name: "ylai-shell-assets",
    generateBundle() {
      this.emitFile({
        type: "asset",
        fileName: "shell.json",
        source: JSON.stringify({ css: CSS, pages: PAGES.filter((p) => !(p in RESTRICTED_PAGES)), text: { en: pick(en), "zh-CN": pick(zh) } }),
      });
    },
  };
}

export default defineConfig({
  esbuild: { jsx: "automatic", legalComments: "none" },
  define: { "process.env.NODE_ENV": JSON.stringify("production") },
  base: "./",
  plugins: [shellAssets()],
  build: {
    outDir: "dist/app",
    emptyOutDir: true,
    target: "es2020",
    sourcemap: false,
    manifest: "manifest.json",
    modulePreload: false,
    reportCompressedSize: true,
    rollupOptions: {
      input: { standalone: "src/standalone.tsx" },
      output: {
        format: "es",
        entryFileNames: "[name]-[hash].js",
        chunkFileNames: "[name]-[hash].js",
        assetFileNames: "[name]-[hash][extname]",
      },
    },
  },
});
