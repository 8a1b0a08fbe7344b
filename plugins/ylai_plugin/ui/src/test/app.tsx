import { afterEach, beforeEach, vi } from "vitest";
import YlaiApp from "../App";
import { resetMeCache } from "../lib/me";
import { resetUsageBeacon } from "../lib/usage";
import { flush, render, type Rendered } from "./render";
import { ensureBase } from "./server";

/**
 * What every page test needs, registered once per test file: Airflow's base URL and a fresh /me
 * cache before each test; afterwards the app unmounted, stubbed globals and spies restored and the
 * URL back at "/". Returns `open(path)`: the whole app rendered at `path` (in place of one an earlier
 * `open` of the same test rendered), its first requests settled.
 */
export function pageTests(): (path: string) => Promise<HTMLElement> {
  let mounted: Rendered | null = null;
  beforeEach(() => {
    ensureBase();
    resetMeCache();
  });
  afterEach(() => {
    mounted?.unmount();
    mounted = null;
    resetUsageBeacon();
    vi.unstubAllGlobals();
    vi.restoreAllMocks();
    window.history.replaceState(null, "", "/");
  });
  return async (path: string) => {
    mounted?.unmount();
    window.history.replaceState(null, "", path);
    mounted = render(<YlaiApp />);
    await flush(8);
    return mounted.container;
  };
}
