// The studio's own texts (studio.en.json, studio.zh-CN.json), in its own chunk: the pages that
// never open the editor do not carry them. The language is the page's (src/i18n's context).
import { useCallback } from "react";
import { useI18n, type Params } from "../../i18n";
import en from "./studio.en.json";
import zh from "./studio.zh-CN.json";

export type StudioKey = keyof typeof en;

export const STUDIO_DICTIONARIES: Record<string, Record<string, string>> = { en, "zh-CN": zh };

export function studioText(lang: string, key: StudioKey, params?: Params): string {
  const text = STUDIO_DICTIONARIES[lang]?.[key] ?? en[key] ?? key;
  return params ? text.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m)) : text;
}

/** `st("save")`: a studio text in the page's language. */
export function useStudioText(): (key: StudioKey, params?: Params) => string {
  const { lang } = useI18n();
  return useCallback((key: StudioKey, params?: Params) => studioText(lang, key, params), [lang]);
}
