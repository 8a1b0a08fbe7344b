import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { $, click, flush, render, type Rendered } from "../test/render";
import { ensureBase, fakeServer, meHandler } from "../test/server";
import { EnvProvider } from "../i18n";
import { MeProvider, resetMeCache } from "../lib/me";
import { ExportButtons, exportQuery, periodFilters } from "./ExportButtons";

let r: Rendered | null = null;
let clicked: { href: string; download: string }[] = [];

function mount(lang: "en" | "zh-CN" = "en") {
  r = render(
    <EnvProvider env={{ lang, dark: false }}>
      <MeProvider>
        <ExportButtons kind="runs" filters={{ script: ["disk_usage"] }} />
      </MeProvider>
    </EnvProvider>,
  );
  return r.container;
}

beforeEach(() => {
  ensureBase();
  resetMeCache();
  clicked = [];
  vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
    clicked.push({ href: this.href, download: this.download });
  });
  (URL as unknown as { createObjectURL: (b: Blob) => string }).createObjectURL = () => "blob:export";
  (URL as unknown as { revokeObjectURL: (u: string) => void }).revokeObjectURL = () => undefined;
});
afterEach(() => {
  r?.unmount();
  r = null;
  vi.unstubAllGlobals();
});

describe("export buttons", () => {
  it("computes periods and query strings", () => {
    const now = new Date("2026-01-15T12:00:00Z");
    expect(periodFilters("lastMonth", now)).toEqual({ month: "2025-12" });
    expect(periodFilters("thisMonth", now)).toEqual({ month: "2026-01" });
    expect(periodFilters("7d", now)).toEqual({ since: "2026-01-08T12:00:00.000Z" });
    expect(exportQuery("pdf", "zh-CN", { script: ["a", "b"], month: "2026-01" })).toBe("?format=pdf&language=zh-CN&script=a&script=b&month=2026-01");
  });

  it("streams CSV through the browser and fetches Excel in the page's language", async () => {
    const server = fakeServer(meHandler({ reports: ["read", "create"] }), (c) =>
      c.path === "/ylai/api/v1/exports/runs" ? { body: {}, headers: { "Content-Disposition": 'attachment; filename="runs-2026-11.xlsx"' } } : undefined,
    );
    const el = mount("zh-CN");
    await flush();
    click($(el, "export-csv")!);
    expect(clicked[0].href).toContain("/ylai/api/v1/exports/runs?format=csv&language=zh-CN");
    expect(clicked[0].href).toContain("script=disk_usage");
    click($(el, "export-xlsx")!);
    await flush();
    const call = server.calls.find((c) => c.path === "/ylai/api/v1/exports/runs");
    expect(call?.search.get("format")).toBe("xlsx");
    expect(call?.search.get("language")).toBe("zh-CN");
    expect(clicked[1]).toEqual({ href: "blob:export", download: "runs-2026-11.xlsx" });
  });

  it("turns a too-big direct download into a job with progress, then a link", async () => {
    let polls = 0;
    const job = { id: 4, kind: "runs", format: "pdf", language: "en", filters: {}, rows_done: 0, rows_total: 1000, progress: 0, file_name: null, size_bytes: null, error: null, download_url: null, created_at: "", finished_at: null };
    const server = fakeServer(
      meHandler({ reports: ["read", "create"] }),
      (c) => (c.path === "/ylai/api/v1/exports/runs" ? { status: 413, body: { error: { code: "too_large", message: "too many rows" } } } : undefined),
      (c) => (c.method === "POST" && c.path === "/ylai/api/v1/exports/jobs" ? { status: 202, body: { ...job, state: "queued" } } : undefined),
      (c) => {
        if (c.path !== "/ylai/api/v1/exports/jobs/4") return undefined;
        polls += 1;
        return { body: polls < 2 ? { ...job, state: "running", rows_done: 420, progress: 0.42 } : { ...job, state: "success", rows_done: 1000, progress: 1, file_name: "runs.pdf" } };
      },
    );
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    try {
      const el = mount();
      await flush();
      click($(el, "export-pdf")!);
      await flush();
      expect((server.calls.find((c) => c.method === "POST")?.body as { format: string }).format).toBe("pdf");
      expect($(el, "export-status")?.getAttribute("data-state")).toBe("queued");
      vi.advanceTimersByTime(1000);
      await flush();
      expect($(el, "export-status")?.textContent).toContain("420 of 1,000 rows");
      vi.advanceTimersByTime(1000);
      await flush();
      const link = $(el, "export-download") as HTMLAnchorElement;
      expect(link.getAttribute("href")).toContain("/ylai/api/v1/exports/jobs/4/download");
      expect(link.textContent).toBe("Download runs.pdf");
    } finally {
      vi.useRealTimers();
    }
  });

  it("is disabled, with the reason, without read on ylai Reports", async () => {
    fakeServer(meHandler({ reports: [] }, ["Viewer"]));
    const el = mount();
    await flush();
    expect(($(el, "export-xlsx") as HTMLButtonElement).disabled).toBe(true);
    expect($(el, "export-permission")?.textContent).toBe("Your role may not download reports.");
    expect($(el, "export-job")).toBeNull();
  });
});
