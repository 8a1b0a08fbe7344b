import { describe, expect, it } from "vitest";
import en from "./studio.en.json";
import zh from "./studio.zh-CN.json";
import { studioText } from "./i18n";

// The studio's texts live beside it (its own chunk); the same checks as src/i18n's dictionaries.
describe("the studio's dictionaries", () => {
  const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

  it("have the same keys, no empty text and the same placeholders", () => {
    expect(Object.keys(zh).sort()).toEqual(Object.keys(en).sort());
    for (const [k, v] of Object.entries(en)) {
      expect(v, k).not.toBe("");
      expect((zh as Record<string, string>)[k], k).not.toBe("");
      expect(placeholders((zh as Record<string, string>)[k]), k).toEqual(placeholders(v));
    }
  });

  it("translate every text", () => {
    expect(Object.entries(en).filter(([k, v]) => (zh as Record<string, string>)[k] === v)).toEqual([]);
  });

  it("interpolate, and fall back to English", () => {
    expect(studioText("zh-CN", "problems", { n: 2 })).toBe("2 个问题");
    expect(studioText("fr", "problems", { n: 2 })).toBe("2 problem(s)");
  });
});
