import { useEffect, useRef, useState } from "react";
import type { EChartsCoreOption, ECharts } from "echarts/core";
import { resolveUrl } from "../lib/api";
import { useDark } from "../i18n";

type ChartsModule = typeof import("../charts");
let loading: Promise<ChartsModule> | null = null;

/**
 * ECharts lives in its own file (dist/charts.umd.cjs, next to the main bundle): only pages
 * with charts load it, once. The tests import the module directly.
 */
export function loadCharts(): Promise<ChartsModule> {
  if (!loading) {
    loading =
      import.meta.env.MODE === "test"
        ? import("../charts")
        : import(/* @vite-ignore */ resolveUrl("ylai/static/charts.umd.cjs")).then(() => (globalThis as unknown as { YlaiCharts: ChartsModule }).YlaiCharts);
    loading.catch(() => {
      loading = null; // try again on the next chart
    });
  }
  return loading;
}

function canDraw(): boolean {
  try {
    return !!document.createElement("canvas").getContext("2d");
  } catch {
    return false;
  }
}

/** One ECharts instance; re-created when Airflow switches between light and dark mode. */
export function Chart({ option, height = 260, testId, label }: { option: EChartsCoreOption; height?: number; testId?: string; label: string }) {
  const el = useRef<HTMLDivElement>(null);
  const chart = useRef<ECharts | null>(null);
  const dark = useDark();
  const [lib, setLib] = useState<ChartsModule | null>(null);

  useEffect(() => {
    let live = true;
    void loadCharts().then((m) => live && setLib(m), () => undefined);
    return () => {
      live = false;
    };
  }, []);

  useEffect(() => {
    if (!lib || !el.current || !canDraw()) return undefined;
    const instance = lib.init(el.current, dark ? "dark" : undefined, { renderer: "canvas" });
    chart.current = instance;
    const ro = typeof ResizeObserver !== "undefined" ? new ResizeObserver(() => instance.resize()) : null;
    ro?.observe(el.current);
    return () => {
      ro?.disconnect();
      instance.dispose();
      chart.current = null;
    };
  }, [dark, lib]);

  useEffect(() => {
    chart.current?.setOption({ backgroundColor: "transparent", ...option }, { notMerge: false, replaceMerge: ["series"] });
  }, [option, dark, lib]);

  return <div ref={el} className="y-chart" style={{ height }} role="img" aria-label={label} data-testid={testId} />;
}
