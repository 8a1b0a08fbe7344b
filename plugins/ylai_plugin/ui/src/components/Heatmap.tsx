import { useEffect, useLayoutEffect, useState, type RefObject } from "react";
import { data, ylai, type Schemas } from "../api/client";
import { useMe } from "../lib/me";
import { REGION_ATTR } from "../lib/usage";
import { useI18n } from "../i18n";
import { ErrorBox } from "./ui";

// The click heatmap over a ylai page (issue 20): for users who may read the insights, a button in
// the shell turns on an overlay that draws the page's recorded clicks (GET /usage/heatmap) over
// each of the layout's regions, where the beacon (lib/usage.ts) measured them. Others get neither.

export type HeatmapData = Pick<Schemas["Heatmap"], "buckets" | "cells" | "total">;

/** One drawn cell: its box relative to the overlay's parent, and its heat from 0 to 1. */
export interface DrawnCell {
  key: string;
  left: number;
  top: number;
  width: number;
  height: number;
  region: string;
  heat: number;
  count: number;
}

interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** The cells over the regions' boxes (cells of a region this page does not show are left out). */
export function placeCells(map: HeatmapData, boxes: Record<string, Box>): DrawnCell[] {
  const max = Math.max(1, ...map.cells.map((c) => c.count));
  const n = Math.max(1, map.buckets);
  const out: DrawnCell[] = [];
  for (const c of map.cells) {
    const box = boxes[c.region];
    if (!box) continue;
    out.push({
      key: `${c.region}-${c.x}-${c.y}`,
      left: box.left + (c.x / n) * box.width,
      top: box.top + (c.y / n) * box.height,
      width: box.width / n,
      height: box.height / n,
      region: c.region,
      heat: c.count / max,
      count: c.count,
    });
  }
  return out;
}

/** The boxes of the regions inside ``root``, relative to it (the first element of each region). */
function measure(root: HTMLElement): Record<string, Box> {
  const origin = root.getBoundingClientRect();
  const boxes: Record<string, Box> = {};
  for (const el of root.querySelectorAll<HTMLElement>(`[${REGION_ATTR}]`)) {
    const region = el.getAttribute(REGION_ATTR) ?? "";
    if (region in boxes) continue;
    const r = el.getBoundingClientRect();
    boxes[region] = { left: r.left - origin.left, top: r.top - origin.top, width: r.width, height: r.height };
  }
  return boxes;
}

export function HeatmapOverlay({ page, root }: { page: string; root: RefObject<HTMLElement | null> }) {
  const { t, number } = useI18n();
  const [map, setMap] = useState<HeatmapData | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [cells, setCells] = useState<DrawnCell[]>([]);

  useEffect(() => {
    let live = true;
    setMap(null);
    data(ylai.GET("/api/v1/usage/heatmap", { params: { query: { page } } })).then(
      (m) => live && setMap(m),
      (err: unknown) => live && setError(err),
    );
    return () => {
      live = false;
    };
  }, [page]);

  // Re-measured when the data comes and whenever the page's layout changes size.
  useLayoutEffect(() => {
    const el = root.current;
    if (!map || !el) return undefined;
    const draw = () => setCells(placeCells(map, measure(el)));
    draw();
    window.addEventListener("resize", draw);
    const ro = typeof ResizeObserver !== "undefined" ? new ResizeObserver(draw) : null;
    ro?.observe(el);
    return () => {
      window.removeEventListener("resize", draw);
      ro?.disconnect();
    };
  }, [map, root]);

  return (
    <div className="y-heat" data-testid="heatmap-overlay" data-total={map?.total ?? ""}>
      <div className="y-heat-legend y-small" role="status" data-testid="heatmap-legend">
        {map ? t("heatmap.legend", { count: number(map.total) }) : error ? null : t("common.loading")}
        <ErrorBox error={error} testId="heatmap-error" />
      </div>
      {cells.map((c) => (
        <div
          key={c.key}
          className="y-heat-cell"
          style={{ left: c.left, top: c.top, width: c.width, height: c.height, opacity: 0.15 + 0.6 * c.heat }}
          title={t("heatmap.cell", { count: number(c.count) })}
          data-testid="heatmap-cell"
          data-region={c.region}
          data-count={c.count}
        />
      ))}
    </div>
  );
}

/** Whether the caller may see the heatmap (the insights' read permission, as /me says). */
export function useMaySeeHeatmap(): boolean {
  const me = useMe();
  return me.loaded && me.can("insights", "read");
}

/** The shell's heatmap button (the shell draws the overlay over the whole page while it is on). */
export function HeatmapToggle({ on, onToggle }: { on: boolean; onToggle: (on: boolean) => void }) {
  const { t } = useI18n();
  return (
    <button type="button" className={`y-btn y-btn-small ${on ? "y-btn-on" : ""}`} aria-pressed={on} title={t("heatmap.hint")} onClick={() => onToggle(!on)} data-testid="heatmap-toggle">
      {on ? t("heatmap.hide") : t("heatmap.show")}
    </button>
  );
}
