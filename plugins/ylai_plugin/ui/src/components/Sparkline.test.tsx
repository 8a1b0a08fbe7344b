import { afterEach, describe, expect, it } from "vitest";
import { render, type Rendered } from "../test/render";
import { Sparkline, sparkPath, sparkScale, type SparkPoint } from "./Sparkline";

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 9, 0, s)).toISOString();

let r: Rendered | null = null;
afterEach(() => {
  r?.unmount();
  r = null;
});

describe("sparkPath", () => {
  it("scales time across the width and values from 0 to the top", () => {
    const points: SparkPoint[] = [
      [at(0), 0],
      [at(10), 5],
      [at(20), 10],
    ];
    expect(sparkPath(points, sparkScale([points]), 100, 12)).toBe("M0.0,11.0L50.0,6.0L100.0,1.0");
  });

  it("leaves a gap at a null and draws a value alone as a dot", () => {
    const points: SparkPoint[] = [
      [at(0), 2],
      [at(10), 2],
      [at(20), null],
      [at(30), 1],
      [at(40), null],
    ];
    expect(sparkPath(points, sparkScale([points]), 40, 12)).toBe("M0.0,1.0L10.0,1.0M30.0,6.0l0,0");
    expect(sparkPath([[at(0), null]], sparkScale([[[at(0), null]]]), 40, 12)).toBe("");
  });

  it("puts several lines on one scale: the widest time range, the highest value", () => {
    const queued: SparkPoint[] = [
      [at(0), 4],
      [at(20), 2],
    ];
    const celery: SparkPoint[] = [[at(40), 8]];
    const scale = sparkScale([queued, celery]);
    expect(scale).toEqual({ from: Date.parse(at(0)), to: Date.parse(at(40)), top: 8 });
    expect(sparkPath(queued, scale, 40, 10)).toBe("M0.0,5.0L20.0,7.0");
  });

  it("keeps a lone point in its place when the range is given", () => {
    const lone: SparkPoint[] = [[at(30), 2]];
    expect(sparkPath(lone, sparkScale([lone]), 40, 10)).toBe("M0.0,1.0l0,0"); // no range: squeezed to the left
    expect(sparkPath(lone, sparkScale([lone], [Date.parse(at(0)), Date.parse(at(40))]), 40, 10)).toBe("M30.0,1.0l0,0");
  });
});

describe("Sparkline", () => {
  it("draws one labelled SVG with a path per series, dashed where asked", () => {
    r = render(
      <Sparkline
        label="Queues"
        testId="spark"
        series={[
          { points: [[at(0), 1], [at(10), 3]], color: "red" },
          { points: [[at(0), 2], [at(10), null]], color: "blue", dashed: true },
        ]}
      />,
    );
    const svg = r.container.querySelector('[data-testid="spark"]');
    expect(svg?.getAttribute("aria-label")).toBe("Queues");
    const paths = [...(svg?.querySelectorAll("path") ?? [])];
    expect(paths.map((p) => p.getAttribute("stroke"))).toEqual(["red", "blue"]);
    expect(paths[0].getAttribute("d")).toMatch(/^M0\.0,.*L240\.0,1\.0$/);
    expect(paths[1].getAttribute("stroke-dasharray")).toBe("4 3");
    expect(paths[1].getAttribute("d")).toMatch(/l0,0$/);
  });
});
