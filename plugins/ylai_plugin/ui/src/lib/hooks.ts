import { useCallback, useEffect, useRef, useState } from "react";

export interface Polled<T> {
  data?: T;
  error?: Error;
  loading: boolean;
  updatedAt?: Date;
  refresh: () => void;
}

/** Load ``fn`` now, whenever ``deps`` change, and every ``intervalMs`` unless paused. */
export function usePoll<T>(fn: (signal: AbortSignal) => Promise<T>, deps: unknown[], intervalMs = 0, paused = false): Polled<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean; updatedAt?: Date }>({ loading: true });
  const fnRef = useRef(fn);
  fnRef.current = fn;
  const [tick, setTick] = useState(0);
  const refresh = useCallback(() => setTick((n) => n + 1), []);

  useEffect(() => {
    const ctl = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    fnRef.current(ctl.signal).then(
      (data) => {
        if (!ctl.signal.aborted) setState({ data, loading: false, updatedAt: new Date() });
      },
      (error: unknown) => {
        if (ctl.signal.aborted) return;
        const err = error instanceof Error ? error : new Error(String(error));
        setState((s) => ({ ...s, error: err, loading: false }));
      },
    );
    return () => ctl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);

  useEffect(() => {
    if (!intervalMs || paused) return undefined;
    const id = window.setInterval(() => {
      if (document.visibilityState !== "hidden") setTick((n) => n + 1);
    }, intervalMs);
    return () => window.clearInterval(id);
  }, [intervalMs, paused]);

  return { ...state, refresh };
}

/** A value that follows ``value`` after ``ms`` without changes (for search boxes). */
export function useDebounced<T>(value: T, ms = 300): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const id = window.setTimeout(() => setV(value), ms);
    return () => window.clearTimeout(id);
  }, [value, ms]);
  return v;
}
