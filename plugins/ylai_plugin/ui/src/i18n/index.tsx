import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import en from "./en.json";
import zh from "./zh-CN.json";

export type Lang = "en" | "zh-CN";
export type Key = keyof typeof en;
export type Params = Record<string, string | number>;

export const dictionaries: Record<Lang, Record<string, string>> = { en, "zh-CN": zh };

/** Map Airflow's language code (i18next: "zh-CN", "zh-cn", "en-US", ...) to one we have. */
export function normalizeLang(raw: string | null | undefined): Lang | null {
  if (!raw) return null;
  const code = raw.toLowerCase();
  if (code === "zh" || code === "zh-cn" || code === "zh-hans" || code.startsWith("zh-hans") || code === "zh-sg") return "zh-CN";
  if (code.startsWith("en")) return "en";
  return null;
}

/**
 * Airflow's i18next caches the chosen language in localStorage "i18nextLng" (its detector
 * reads localStorage first) and mirrors it on <html lang>; anything we do not translate
 * falls back to English, like Airflow's own fallbackLng.
 */
export function detectLang(): Lang {
  let stored: string | null = null;
  try {
    stored = window.localStorage.getItem("i18nextLng");
  } catch {
    stored = null;
  }
  if (stored) return normalizeLang(stored) ?? "en";
  return normalizeLang(document.documentElement.getAttribute("lang")) ?? normalizeLang(navigator.language) ?? "en";
}

export function translate(lang: Lang, key: string, params?: Params): string {
  const text = dictionaries[lang][key] ?? dictionaries.en[key] ?? key;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m));
}

export interface I18n {
  lang: Lang;
  t: (key: Key, params?: Params) => string;
  /** Translate a key built at run time (e.g. "state." + state), falling back to ``fallback``. */
  tx: (key: string, fallback: string, params?: Params) => string;
  dateTime: (iso: string | null | undefined) => string;
  time: (iso: string | null | undefined) => string;
  number: (n: number | null | undefined, digits?: number) => string;
  percent: (ratio: number | null | undefined) => string;
  duration: (seconds: number | null | undefined) => string;
  bytes: (n: number | null | undefined) => string;
}

export function makeI18n(lang: Lang): I18n {
  const locale = lang === "zh-CN" ? "zh-CN" : "en-US";
  const t = (key: Key, params?: Params) => translate(lang, key, params);
  const tx = (key: string, fallback: string, params?: Params) =>
    key in dictionaries[lang] || key in dictionaries.en ? translate(lang, key, params) : fallback;
  const dtf = new Intl.DateTimeFormat(locale, { dateStyle: "short", timeStyle: "medium" });
  const tf = new Intl.DateTimeFormat(locale, { timeStyle: "medium" });
  const safe = (f: Intl.DateTimeFormat, iso: string | null | undefined) => {
    if (!iso) return "—";
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? iso : f.format(d);
  };
  const number = (n: number | null | undefined, digits = 0) =>
    n === null || n === undefined || Number.isNaN(n)
      ? "—"
      : new Intl.NumberFormat(locale, { maximumFractionDigits: digits }).format(n);
  return {
    lang,
    t,
    tx,
    dateTime: (iso) => safe(dtf, iso),
    time: (iso) => safe(tf, iso),
    number,
    percent: (r) => (r === null || r === undefined ? "—" : `${number(r * 100, 1)}%`),
    duration: (s) => {
      if (s === null || s === undefined || Number.isNaN(s)) return "—";
      if (s < 1) return t("unit.ms", { n: number(s * 1000, 0) });
      if (s < 60) return t("unit.s", { n: number(s, 1) });
      const m = Math.floor(s / 60);
      if (m < 60) return t("unit.ms2", { m, s: Math.round(s % 60) });
      return t("unit.hm", { h: Math.floor(m / 60), m: m % 60 });
    },
    bytes: (n) => {
      if (n === null || n === undefined) return "—";
      const units = ["B", "KiB", "MiB", "GiB", "TiB"];
      let v = n;
      let i = 0;
      while (v >= 1024 && i < units.length - 1) {
        v /= 1024;
        i += 1;
      }
      return `${number(v, i ? 1 : 0)} ${units[i]}`;
    },
  };
}

/** Airflow's colour mode: next-themes puts "dark" or "light" in <html class>. */
export function detectDark(): boolean {
  const cls = document.documentElement.classList;
  if (cls.contains("dark")) return true;
  if (cls.contains("light")) return false;
  return document.documentElement.style.colorScheme === "dark";
}

export interface Env {
  lang: Lang;
  dark: boolean;
}

/** Follow Airflow's language and colour mode as the user changes them. */
export function useHostEnv(): Env {
  const [env, setEnv] = useState<Env>(() => ({ lang: detectLang(), dark: detectDark() }));
  useEffect(() => {
    const update = () =>
      setEnv((prev) => {
        const next = { lang: detectLang(), dark: detectDark() };
        return next.lang === prev.lang && next.dark === prev.dark ? prev : next;
      });
    const observer = new MutationObserver(update);
    observer.observe(document.documentElement, { attributes: true, attributeFilter: ["class", "lang", "style"] });
    window.addEventListener("storage", update);
    window.addEventListener("focus", update);
    update();
    return () => {
      observer.disconnect();
      window.removeEventListener("storage", update);
      window.removeEventListener("focus", update);
    };
  }, []);
  return env;
}

const I18nContext = createContext<I18n>(makeI18n("en"));
const DarkContext = createContext<boolean>(false);

export function EnvProvider({ env, children }: { env: Env; children: ReactNode }) {
  const i18n = useMemo(() => makeI18n(env.lang), [env.lang]);
  return (
    <I18nContext.Provider value={i18n}>
      <DarkContext.Provider value={env.dark}>{children}</DarkContext.Provider>
    </I18nContext.Provider>
  );
}

export const useI18n = () => useContext(I18nContext);
export const useDark = () => useContext(DarkContext);
