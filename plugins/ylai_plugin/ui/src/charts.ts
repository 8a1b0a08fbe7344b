// ECharts, built as its own UMD file (dist/charts.umd.cjs, global YlaiCharts) and loaded only
// by pages that draw charts: the pages without charts start without its ~180 KB (gzipped).
import { init, use } from "echarts/core";
import { BarChart, LineChart } from "echarts/charts";
import { DataZoomComponent, GridComponent, LegendComponent, TooltipComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

use([LineChart, BarChart, GridComponent, TooltipComponent, LegendComponent, DataZoomComponent, CanvasRenderer]);

export { init };
