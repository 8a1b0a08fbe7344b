import { afterEach, describe, expect, it } from "vitest";
import { pageTests } from "../test/app";
import { $, flush, render } from "../test/render";
import { fakeServer } from "../test/server";
import { EnvProvider } from "../i18n";
import { DependenciesCard } from "./Dependencies";

const breaker = {
  process: "evaluator-1:4121",
  component: "ylai alerts",
  this_process: false,
  name: "slack:ylai_slack",
  dependency: "slack",
  state: "open",
  consecutive_failures: 5,
  failures: 7,
  successes: 120,
  rejected: 14,
  times_opened: 1,
  last_failure_at: "2026-12-03T14:00:01Z",
  last_error: "SlackApiError",
  opened_at: "2026-12-03T14:00:01Z",
  next_probe_at: "2026-12-03T14:00:31Z",
  updated_at: "2026-12-03T14:00:03Z",
};
const monitor = {
  generated_at: "2026-12-03T14:00:05Z",
  not_closed: 1,
  settings: { failure_threshold: 5, open_seconds: 30, half_open_calls: 1 },
  breakers: [
    breaker,
    { ...breaker, process: "api-1:77", component: "airflow api-server", this_process: true, name: "redis-cache:redis:6379", dependency: "redis",
      state: "closed", consecutive_failures: 0, failures: 0, rejected: 0, last_error: null, last_failure_at: null, opened_at: null, next_probe_at: null },
  ],
};
const answer = (body: unknown) => (c: { path: string }) => (c.path.endsWith("/ylai/api/v1/monitor/dependencies") ? { body } : undefined);

pageTests();
const mounted: Array<() => void> = [];
afterEach(() => mounted.splice(0).forEach((unmount) => unmount()));

describe("DependenciesCard", () => {
  it("lists each breaker with its process, state, failures, held-back calls, last error and next trial", async () => {
    const server = fakeServer(answer(monitor));
    const { container, unmount } = render(<DependenciesCard />);
    mounted.push(unmount);
    await flush(8);
    expect(server.calls.map((c) => c.path)).toContain("/ylai/api/v1/monitor/dependencies");
    const slack = $(container, "breaker-slack:ylai_slack")!;
    expect(slack.getAttribute("data-state")).toBe("open");
    const cells = [...slack.querySelectorAll("td")].map((td) => td.textContent);
    expect(cells.slice(0, 5)).toEqual(["slack:ylai_slack", "ylai alerts", "open (failing fast)", "5 in a row, 7 in all", "14"]);
    expect(cells[5]).toMatch(/^SlackApiError \(.+\)$/);
    expect(cells[6]).not.toBe("—");
    expect(slack.querySelectorAll("td")[2].className).toBe("y-tone-bad");
    const redis = [...$(container, "breaker-redis-cache:redis:6379")!.querySelectorAll("td")].map((td) => td.textContent);
    expect(redis).toEqual(["redis-cache:redis:6379", "airflow api-server (this worker)", "closed (calls go through)", "0 in a row, 0 in all", "0", "—", "—"]);
    expect($(container, "dependencies-note")?.textContent).toContain("after 5 failures in a row, then fails fast for 30 s");
  });

  it("says when no process has called a dependency yet, and shows errors", async () => {
    fakeServer(answer({ ...monitor, not_closed: 0, breakers: [] }));
    const empty = render(<DependenciesCard />);
    mounted.push(empty.unmount);
    await flush(8);
    expect($(empty.container, "dependencies-empty")?.textContent).toBe("No running process has called an outgoing dependency yet.");
    fakeServer((c) => (c.path.endsWith("/dependencies") ? { status: 503, body: { error: { code: "unavailable", message: "The metadata database is unavailable" } } } : undefined));
    const failed = render(<DependenciesCard />);
    mounted.push(failed.unmount);
    await flush(8);
    expect($(failed.container, "dependencies-error")?.textContent).toContain("The metadata database is unavailable");
  });

  it("is in Chinese on a Chinese page", async () => {
    fakeServer(answer(monitor));
    const { container, unmount } = render(
      <EnvProvider env={{ lang: "zh-CN", dark: false }}>
        <DependenciesCard />
      </EnvProvider>,
    );
    mounted.push(unmount);
    await flush(8);
    expect(container.textContent).toContain("依赖（熔断器）");
    expect(container.textContent).toContain("断开（快速失败）");
    expect(container.textContent).toContain("连续 5 次，共 7 次");
  });
});
