import { ApiError } from "../lib/api";
import { useI18n } from "../i18n";

/** Whether ``error`` is a 429: the run was refused because a queue is full or the rate limit was hit. */
export function isBusy(error: unknown): error is ApiError {
  return error instanceof ApiError && error.status === 429;
}

/**
 * What the Run page shows for a 429 instead of a bare error: why the platform refused (the server's
 * sentence names the queue, how many wait and its limit) and when to try again.
 */
export function BusyNote({ error, now = () => Date.now() }: { error: ApiError; now?: () => number }) {
  const i = useI18n();
  const { t } = i;
  const title = error.code === "queue_full" ? t("busy.queueFull") : t("busy.rateLimited");
  const seconds = error.retryAfter;
  return (
    <div className="y-error" role="alert" data-testid="busy-note" data-code={error.code}>
      <strong>{title}</strong>
      <div data-testid="busy-reason">{error.message}</div>
      {seconds != null ? (
        <div data-testid="busy-retry">{t("busy.retryAt", { seconds, time: i.time(new Date(now() + seconds * 1000).toISOString()) })}</div>
      ) : null}
      {error.code === "queue_full" ? <div className="y-muted y-small">{t("busy.queueFullNote")}</div> : null}
    </div>
  );
}
