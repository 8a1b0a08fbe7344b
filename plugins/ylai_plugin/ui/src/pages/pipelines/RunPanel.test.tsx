import { act } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { $, flush, render, type Rendered } from "../../test/render";
import { ensureBase, fakeServer, type Handler } from "../../test/server";
import { EnvProvider } from "../../i18n";
import type { Schema } from "../../lib/schema";
import { RunDialog, type Following } from "./RunPanel";

const SCHEMA: Schema = {
  type: "object",
  required: ["region"],
  properties: { region: { type: "string", title: "Region", "x-ylai-options": { source: "http", depends_on: [] } } as Schema },
};

let r: Rendered | null = null;
beforeEach(() => ensureBase());
afterEach(() => {
  r?.unmount();
  r = null;
  vi.unstubAllGlobals();
});

describe("RunDialog", () => {
  it("offers a pipeline param's live choices and puts the run's refusal next to the param", async () => {
    const server = fakeServer(
      ((c) =>
        c.path === "/ylai/api/v1/forms/pipeline__nightly/options/region"
          ? { body: { param: "region", options: [{ value: "eu", label: "Europe" }], truncated: false, cached: false } }
          : undefined) as Handler,
      ((c) =>
        c.method === "POST" && c.path === "/ylai/api/v1/pipelines/nightly/run"
          ? { status: 422, body: { error: { code: "invalid_input", message: "Invalid input", details: [{ field: "params.region", reason: "'eu' is not one of the live options" }] } } }
          : undefined) as Handler,
    );
    const started: Following[] = [];
    r = render(
      <EnvProvider env={{ lang: "en", dark: false }}>
        <RunDialog name="nightly" dagId="pipeline__nightly" schema={SCHEMA} onStarted={(f) => started.push(f)} onClose={() => undefined} />
      </EnvProvider>,
    );
    await flush();
    const box = $(r.container, "field-region") as HTMLInputElement;
    act(() => box.focus());
    const option = r.container.querySelector('[data-testid="field-region-option"][data-value="eu"]')!;
    expect(option.textContent).toBe("Europe");
    act(() => {
      option.dispatchEvent(new MouseEvent("mousedown", { bubbles: true, cancelable: true }));
    });
    act(() => ($(r!.container, "studio-run-start") as HTMLButtonElement).click());
    await flush();
    expect(server.calls.find((c) => c.method === "POST")?.body).toEqual({ params: { region: "eu" }, note: null });
    expect($(r.container, "error-region")?.textContent).toBe("'eu' is not one of the live options");
    expect(started).toEqual([]);
  });
});
