/** A point of a sparkline: a time and a value (null: no value there, a gap in the line). */
export type SparkPoint = [ts: string, value: number | null];

/** What a sparkline's lines share: the time range and the top value (the scale starts at 0). */
export interface SparkScale {
  from: number;
  to: number;
  top: number;
}

const WIDTH = 240;

/** The scale that fits every series: ``range`` (or their whole time range) and their highest value. */
export function sparkScale(series: SparkPoint[][], range?: [number, number]): SparkScale {
  const times = range ?? series.flat().map(([ts]) => Date.parse(ts));
  const values = series.flat().flatMap(([, v]) => (v === null ? [] : [v]));
  return { from: Math.min(...times), to: Math.max(...times), top: Math.max(0, ...values) };
}

/**
 * The SVG path of a series in a ``width`` x ``height`` box: one ``M`` per run of values, so a
 * null leaves a gap; a value alone between gaps is a dot (a zero-length line with round caps).
 * The vertical scale starts at 0: a queue or a lag is never negative.
 */
export function sparkPath(points: SparkPoint[], scale: SparkScale, width: number, height: number): string {
  const span = scale.to - scale.from || 1;
  const top = scale.top || 1;
  const runs: string[][] = [[]];
  for (const [ts, v] of points) {
    if (v === null) {
      runs.push([]);
      continue;
    }
    const x = ((Date.parse(ts) - scale.from) / span) * width;
    const y = height - (v / top) * (height - 2) - 1;
    runs[runs.length - 1].push(`${x.toFixed(1)},${y.toFixed(1)}`);
  }
  return runs
    .filter((run) => run.length)
    .map((run) => `M${run.join("L")}${run.length === 1 ? "l0,0" : ""}`)
    .join("");
}

/**
 * A small trend line for the Overview's cards: plain SVG, so the Overview draws it without
 * loading ECharts (the Monitor page has the full, zoomable charts). Its lines share one scale;
 * ``range`` (epoch ms) pins the time axis, so a few sparse points keep their place in time.
 */
export function Sparkline({ series, label, range, height = 36, testId }: { series: { points: SparkPoint[]; color: string; dashed?: boolean }[]; label: string; range?: [number, number]; height?: number; testId?: string }) {
  const scale = sparkScale(series.map((s) => s.points), range);
  return (
    <svg className="y-spark" viewBox={`0 0 ${WIDTH} ${height}`} preserveAspectRatio="none" width="100%" height={height} role="img" aria-label={label} data-testid={testId}>
      {series.map((s, n) => (
        <path key={n} d={sparkPath(s.points, scale, WIDTH, height)} fill="none" stroke={s.color} strokeWidth={2} strokeLinecap="round" strokeDasharray={s.dashed ? "4 3" : undefined} vectorEffect="non-scaling-stroke" />
      ))}
    </svg>
  );
}
