import { useEffect, useState } from "react";
import { ylai } from "../api/client";
import { useI18n, type Key } from "../i18n";
import { reportShownError } from "../lib/lastError";
import { currentOutage, subscribeOutage, type Outage } from "../lib/outage";

/** How each dependency a 503 names is called ("metadata_db" -> "The metadata database"). */
const NAMES: Record<string, Key> = {
  metadata_db: "outage.metadata_db",
  broker: "outage.broker",
  cache: "outage.cache",
};

export function useOutage(): Outage | null {
  const [outage, setOutage] = useState<Outage | null>(currentOutage);
  useEffect(() => subscribeOutage(setOutage), []);
  return outage;
}

/**
 * While ylai's API answers 503 for a dependency that is down, a banner says which one, instead of
 * each page's own error. It asks /health again every Retry-After seconds (kept between
 * `minPollMs` and `maxPollMs`); the first answer that succeeds, that poll's or any page's, takes
 * the banner away.
 */
export function OutageBanner({ minPollMs = 2000, maxPollMs = 30000 }: { minPollMs?: number; maxPollMs?: number }) {
  const { t } = useI18n();
  const outage = useOutage();
  useEffect(() => {
    if (!outage) return undefined;
    const every = Math.min(Math.max(outage.retryAfter * 1000, minPollMs), maxPollMs);
    const timer = window.setInterval(() => {
      // The client reports the answer (src/api/client.ts): a 200 clears the outage, a 503 renews it.
      ylai.GET("/api/v1/health").catch(() => undefined);
    }, every);
    return () => window.clearInterval(timer);
  }, [outage, minPollMs, maxPollMs]);
  const key = outage?.dependency ? NAMES[outage.dependency] : undefined;
  const text = !outage ? "" : key ? t("outage.banner", { dependency: t(key) }) : t("outage.timeout");
  useEffect(() => reportShownError(text), [text]);
  if (!outage) return null;
  return (
    <div className="y-note" role="status" aria-live="polite" data-testid="outage-banner" data-dependency={outage.dependency ?? ""} title={outage.message}>
      {text}
    </div>
  );
}
