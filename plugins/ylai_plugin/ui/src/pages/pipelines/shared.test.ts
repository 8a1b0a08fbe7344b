import { describe, expect, it } from "vitest";
import { SHARED } from "./shared";

// The studio's own file takes every module of src/ outside its folders from the main bundle
// (vite.studio.config.ts): each one it imports must be in SHARED, or the editor breaks in Airflow.
const sources = {
  ...import.meta.glob(["./*.ts", "./*.tsx", "!./*.test.ts", "!./*.test.tsx", "!./testSetup.ts", "!./shared.ts", "!./index.tsx"], { query: "?raw", import: "default", eager: true }),
  ...import.meta.glob(["../../lib/pipeline/*.ts", "!../../lib/pipeline/*.test.ts", "!../../lib/pipeline/fixtures.ts"], { query: "?raw", import: "default", eager: true }),
} as Record<string, string>;

function keyOf(file: string, spec: string): string | null {
  const parts = ["src", ...file.replace(/^\.\//, "pages/pipelines/").replace(/^\.\.\/\.\.\//, "").split("/").slice(0, -1)];
  for (const p of spec.split("/")) {
    if (p === "..") parts.pop();
    else if (p !== ".") parts.push(p);
  }
  const rel = parts.slice(1).join("/").replace(/\/index$/, "");
  if (rel.startsWith("pages/pipelines/") || rel.startsWith("lib/pipeline")) return null;
  return rel.replace(/\//g, "_");
}

describe("the studio's shared modules", () => {
  it("lists every module of the main bundle the studio imports", () => {
    const needed = new Set<string>();
    for (const [file, text] of Object.entries(sources)) {
      for (const m of text.matchAll(/^import (?!type )[^;]*? from "(\.[^"]+)";/gm)) {
        const key = keyOf(file, m[1]);
        if (key && !m[1].includes("?")) needed.add(key);
      }
    }
    expect(needed.size).toBeGreaterThan(5);
    expect([...needed].filter((k) => !(k in SHARED))).toEqual([]);
  });
});
