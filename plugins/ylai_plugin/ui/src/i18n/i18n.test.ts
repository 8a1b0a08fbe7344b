import { describe, expect, it } from "vitest";
import en from "./en.json";
import zh from "./zh-CN.json";
import { detectLang, normalizeLang, translate } from ".";

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

// Every source file of the UI, as text (Vite's glob import; tests excluded).
const sources = import.meta.glob(["../**/*.{ts,tsx}", "!../**/*.test.{ts,tsx}"], { query: "?raw", import: "default", eager: true }) as Record<string, string>;

describe("dictionaries", () => {
  it("have the same keys", () => {
    expect(Object.keys(zh).sort()).toEqual(Object.keys(en).sort());
  });

  it("have no empty strings", () => {
    for (const dict of [en, zh] as Record<string, string>[]) {
      for (const [key, value] of Object.entries(dict)) expect(value.trim(), key).not.toBe("");
    }
  });

  it("use the same placeholders in both languages", () => {
    for (const [key, value] of Object.entries(en as Record<string, string>)) {
      expect(placeholders((zh as Record<string, string>)[key]), key).toEqual(placeholders(value));
    }
  });

  it("contain every literal key the code uses", () => {
    const used = new Set<string>();
    expect(Object.keys(sources).length).toBeGreaterThan(10);
    for (const text of Object.values(sources)) {
      for (const m of text.matchAll(/\bt\("([a-zA-Z0-9_.]+)"/g)) used.add(m[1]);
    }
    expect(used.size).toBeGreaterThan(100);
    for (const key of used) expect(Object.keys(en), key).toContain(key);
  });

  it("translate Chinese text that differs from English", () => {
    const same = Object.keys(en).filter((k) => (en as Record<string, string>)[k] === (zh as Record<string, string>)[k]);
    // Only names that are the same in both languages (DAG, CPU) may stay identical.
    expect(same.sort()).toEqual(["kind.dag", "overview.cpu"]);
  });
});

describe("language", () => {
  it("maps Airflow's codes", () => {
    expect(normalizeLang("zh-CN")).toBe("zh-CN");
    expect(normalizeLang("zh-cn")).toBe("zh-CN");
    expect(normalizeLang("en-US")).toBe("en");
    expect(normalizeLang("de")).toBeNull();
  });

  it("reads i18nextLng first, then <html lang>", () => {
    localStorage.setItem("i18nextLng", "zh-CN");
    document.documentElement.lang = "en";
    expect(detectLang()).toBe("zh-CN");
    localStorage.removeItem("i18nextLng");
    document.documentElement.lang = "zh-CN";
    expect(detectLang()).toBe("zh-CN");
    localStorage.setItem("i18nextLng", "fr");
    expect(detectLang()).toBe("en");
    localStorage.removeItem("i18nextLng");
    document.documentElement.lang = "";
  });

  it("interpolates and falls back to English", () => {
    expect(translate("zh-CN", "common.lastUpdated", { time: "10:00" })).toBe("最后更新于 10:00");
    expect(translate("en", "no.such.key")).toBe("no.such.key");
  });
});
