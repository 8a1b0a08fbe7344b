import { useEffect, useRef } from "react";
import { init, use, type EChartsCoreOption, type ECharts } from "echarts/core";
import { BarChart, LineChart } from "echarts/charts";
import { DataZoomComponent, GridComponent, LegendComponent, TooltipComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";
import { useDark } from "../i18n";

use([LineChart, BarChart, GridComponent, TooltipComponent, LegendComponent, DataZoomComponent, CanvasRenderer]);

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

  useEffect(() => {
    if (!el.current || !canDraw()) return undefined;
    const instance = init(el.current, dark ? "dark" : undefined, { renderer: "canvas" });
    chart.current = instance;
    const ro = typeof ResizeObserver !== "undefined" ? new ResizeObserver(() => instance.resize()) : null;
    ro?.observe(el.current);
    return () => {
      ro?.disconnect();
      instance.dispose();
      chart.current = null;
    };
  }, [dark]);

  useEffect(() => {
    chart.current?.setOption({ backgroundColor: "transparent", ...option }, { notMerge: false, replaceMerge: ["series"] });
  }, [option, dark]);

  return <div ref={el} className="y-chart" style={{ height }} role="img" aria-label={label} data-testid={testId} />;
}
