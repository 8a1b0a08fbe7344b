import { useMemo, useState } from "react";
import type { EChartsCoreOption } from "echarts/core";
import { data, ylai, type Schemas } from "../api/client";
import { Chart } from "../components/Chart";
import { Card, Empty, ErrorBox, Loading, PageHeader, Stat } from "../components/ui";
import { usePoll } from "../lib/hooks";
import { useI18n, type I18n } from "../i18n";

// The Insights page (issue 20): what people use, from GET /usage/stats over a date range: page
// views, feature use by source (the Run page, the API, schedules), daily and weekly active users
// per role, the top scripts and pipelines, and how long new users take to their first run.
// Charts are ECharts (components/Chart.tsx loads it on demand); every figure is also text.

export type UsageStats = Schemas["UsageStats"];
export type TopEntry = UsageStats["top_scripts"][number];

const DAY = 86_400_000;
const isoDay = (d: Date) => d.toISOString().slice(0, 10);

/** The default range: the last ``days`` days up to today (UTC), both inclusive. */
export function defaultRange(now = new Date(), days = 30): { start: string; end: string } {
  return { start: isoDay(new Date(now.getTime() - (days - 1) * DAY)), end: isoDay(now) };
}

/** Rows of ``{key, series, value}`` as one series per ``series`` value over the sorted keys. */
export function pivot<T>(rows: T[], key: (r: T) => string, series: (r: T) => string, value: (r: T) => number): { keys: string[]; series: { name: string; data: number[] }[] } {
  const keys = [...new Set(rows.map(key))].sort();
  const names = [...new Set(rows.map(series))].sort();
  return {
    keys,
    series: names.map((name) => ({
      name,
      data: keys.map((k) => rows.filter((r) => key(r) === k && series(r) === name).reduce((sum, r) => sum + value(r), 0)),
    })),
  };
}

const grid = { left: 48, right: 16, top: 36, bottom: 40, containLabel: true };

function barOption(categories: string[], series: { name: string; data: number[] }[], stacked = false): EChartsCoreOption {
  return {
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid,
    xAxis: { type: "category", data: categories, axisLabel: { interval: 0, rotate: categories.length > 6 ? 30 : 0 } },
    yAxis: { type: "value", minInterval: 1 },
    series: series.map((s) => ({ type: "bar", name: s.name, data: s.data, ...(stacked ? { stack: "all" } : {}) })),
  };
}

function lineOption(categories: string[], series: { name: string; data: number[] }[]): EChartsCoreOption {
  return {
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid,
    xAxis: { type: "category", data: categories },
    yAxis: { type: "value", minInterval: 1 },
    series: series.map((s) => ({ type: "line", name: s.name, data: s.data, smooth: false, showSymbol: categories.length < 40 })),
  };
}

/** The charts' options, built once per answer and language. */
export function insightCharts(stats: UsageStats, i18n: I18n) {
  const { t, tx } = i18n;
  const pages = [...stats.page_views].sort((a, b) => b.views - a.views);
  // Pivoted on the API's names (a stable order in every language), then named in the UI's.
  const features = pivot(stats.features, (r) => r.feature, (r) => r.source, (r) => r.count);
  const daily = pivot(stats.daily_active, (r) => r.day, (r) => r.role, (r) => r.users);
  const weekly = pivot(stats.weekly_active, (r) => r.week, (r) => r.role, (r) => r.users);
  return {
    pages: barOption(
      pages.map((p) => tx(`nav.${p.page}`, p.page)),
      [
        { name: t("insights.views"), data: pages.map((p) => p.views) },
        { name: t("insights.users"), data: pages.map((p) => p.users) },
      ],
    ),
    features: barOption(
      features.keys.map((f) => tx(`insights.feature.${f}`, f)),
      features.series.map((s) => ({ ...s, name: tx(`insights.source.${s.name}`, s.name) })),
      true,
    ),
    // A line needs two days to show; fewer are bars.
    daily: daily.keys.length > 1 ? lineOption(daily.keys, daily.series) : barOption(daily.keys, daily.series),
    weekly: barOption(weekly.keys, weekly.series),
  };
}

export function Insights() {
  const i18n = useI18n();
  const { t, number, duration } = i18n;
  const [range, setRange] = useState(() => defaultRange());
  const polled = usePoll((signal) => data(ylai.GET("/api/v1/usage/stats", { params: { query: range }, signal })), [range.start, range.end], 300_000);
  const stats = polled.data;
  const charts = useMemo(() => (stats ? insightCharts(stats, i18n) : null), [stats, i18n]);
  const views = stats?.page_views.reduce((sum, p) => sum + p.views, 0) ?? 0;
  const runs = stats?.features.filter((f) => f.feature === "run").reduce((sum, f) => sum + f.count, 0) ?? 0;
  const peak = stats ? Math.max(0, ...pivot(stats.daily_active, (r) => r.day, () => "all", (r) => r.users).series.flatMap((s) => s.data)) : 0;
  return (
    <div data-testid="page-insights">
      <PageHeader title={t("insights.title")} subtitle={t("insights.subtitle")} />
      <div className="y-row y-wrap y-filters" data-testid="insights-range">
        <label className="y-row y-small">
          {t("insights.start")}
          <input className="y-input" type="date" value={range.start} max={range.end} onChange={(e) => e.target.value && setRange((r) => ({ ...r, start: e.target.value }))} data-testid="insights-start" />
        </label>
        <label className="y-row y-small">
          {t("insights.end")}
          <input className="y-input" type="date" value={range.end} min={range.start} onChange={(e) => e.target.value && setRange((r) => ({ ...r, end: e.target.value }))} data-testid="insights-end" />
        </label>
        {[7, 30, 90].map((days) => (
          <button key={days} type="button" className="y-btn y-btn-small" onClick={() => setRange(defaultRange(new Date(), days))} data-testid={`insights-last-${days}`}>
            {t("insights.lastDays", { n: days })}
          </button>
        ))}
      </div>
      <ErrorBox error={polled.error} testId="insights-error" />
      {!stats && !polled.error ? <Loading /> : null}
      {stats && !stats.enabled ? (
        <p className="y-note" data-testid="insights-disabled">
          {t("insights.disabled")}
        </p>
      ) : null}
      {stats && charts ? (
        <>
          <Card testId="insights-summary">
            <div className="y-stats">
              <Stat label={t("insights.pageViews")} value={number(views)} testId="insights-views" />
              <Stat label={t("insights.runs")} value={number(runs)} testId="insights-runs" />
              <Stat label={t("insights.peakDaily")} value={number(peak)} testId="insights-peak" />
              <Stat label={t("insights.newUsers")} value={number(stats.first_run.new_users)} testId="insights-new-users" />
              <Stat label={t("insights.withRun")} value={number(stats.first_run.users_with_run)} testId="insights-with-run" />
              <Stat label={t("insights.firstRunMedian")} value={duration(stats.first_run.median_seconds)} testId="insights-first-run-median" />
              <Stat label={t("insights.firstRunP90")} value={duration(stats.first_run.p90_seconds)} testId="insights-first-run-p90" />
            </div>
          </Card>
          <div className="y-chart-grid">
            <Card title={t("insights.pageViewsTitle")} testId="insights-pages">
              {stats.page_views.length ? <Chart option={charts.pages} label={t("insights.pageViewsTitle")} testId="insights-pages-chart" /> : <Empty>{t("insights.none")}</Empty>}
            </Card>
            <Card title={t("insights.featuresTitle")} testId="insights-features">
              {stats.features.length ? <Chart option={charts.features} label={t("insights.featuresTitle")} testId="insights-features-chart" /> : <Empty>{t("insights.none")}</Empty>}
            </Card>
            <Card title={t("insights.dailyTitle")} testId="insights-daily">
              {stats.daily_active.length ? <Chart option={charts.daily} label={t("insights.dailyTitle")} testId="insights-daily-chart" /> : <Empty>{t("insights.none")}</Empty>}
            </Card>
            <Card title={t("insights.weeklyTitle")} testId="insights-weekly">
              {stats.weekly_active.length ? <Chart option={charts.weekly} label={t("insights.weeklyTitle")} testId="insights-weekly-chart" /> : <Empty>{t("insights.none")}</Empty>}
            </Card>
            <Card title={t("insights.topScripts")} testId="insights-top-scripts">
              <TopTable entries={stats.top_scripts} testId="insights-top-script" />
            </Card>
            <Card title={t("insights.topPipelines")} testId="insights-top-pipelines">
              <TopTable entries={stats.top_pipelines} testId="insights-top-pipeline" />
            </Card>
          </div>
        </>
      ) : null}
    </div>
  );
}

function TopTable({ entries, testId }: { entries: TopEntry[]; testId: string }) {
  const { t, number } = useI18n();
  if (!entries.length) return <Empty>{t("insights.none")}</Empty>;
  return (
    <table className="y-table y-table-compact">
      <thead>
        <tr>
          <th>{t("insights.name")}</th>
          <th>{t("insights.runs")}</th>
          <th>{t("insights.users")}</th>
        </tr>
      </thead>
      <tbody>
        {entries.map((e) => (
          <tr key={e.dag_id} data-testid={testId} data-dag={e.dag_id}>
            <td translate="no">{e.name}</td>
            <td data-testid={`${testId}-runs`}>{number(e.runs)}</td>
            <td data-testid={`${testId}-users`}>{number(e.users)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
