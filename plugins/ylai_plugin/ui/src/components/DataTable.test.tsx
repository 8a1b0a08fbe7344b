import { afterEach, describe, expect, it } from "vitest";
import { $, render, type Rendered } from "../test/render";
import { EnvProvider } from "../i18n";
import { ApiError } from "../lib/api";
import type { Polled } from "../lib/hooks";
import { ListPage, type Column } from "./DataTable";

interface Row {
  id: number;
  name: string;
}
const columns: Column<Row>[] = [{ header: "Name", cell: (r) => r.name, title: (r) => `#${r.id}` }, { cell: (r) => <button type="button">{r.id}</button> }];

let r: Rendered | null = null;
afterEach(() => r?.unmount());

function show(list: Polled<{ items: Row[] }>) {
  r = render(
    <EnvProvider env={{ lang: "en", dark: false }}>
      <ListPage list={list} rows={list.data?.items ?? []} columns={columns} rowKey={(x) => x.id} testId="things" rowProps={(x) => ({ testId: `thing-${x.id}` })} empty="Nothing yet" emptyTestId="things-empty" />
    </EnvProvider>,
  );
  return r.container;
}

const polled = (p: Partial<Polled<{ items: Row[] }>>): Polled<{ items: Row[] }> => ({ loading: false, refresh: () => undefined, ...p });

describe("ListPage", () => {
  it("says it is loading until the first answer", () => {
    const el = show(polled({ loading: true }));
    expect(el.querySelector("[aria-busy]")).not.toBeNull();
    expect($(el, "things")).toBeNull();
    expect($(el, "things-empty")).toBeNull();
  });

  it("shows the empty message for an empty answer and the error of a failed one", () => {
    expect($(show(polled({ data: { items: [] } })), "things-empty")?.textContent).toBe("Nothing yet");
    r?.unmount();
    const el = show(polled({ error: new ApiError(403, "forbidden", "no") }));
    expect($(el, "error")?.textContent).toContain("no");
    expect($(el, "things-empty")).toBeNull();
  });

  it("draws one row per item with its cells, the headers and the row attributes", () => {
    const el = show(polled({ data: { items: [{ id: 1, name: "a" }, { id: 2, name: "b" }] } }));
    expect([...el.querySelectorAll("th")].map((th) => th.textContent)).toEqual(["Name", ""]);
    expect($(el, "thing-2")?.textContent).toBe("b2");
    expect($(el, "thing-1")?.querySelector("td")?.getAttribute("title")).toBe("#1");
  });
});
