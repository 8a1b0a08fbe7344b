import { afterEach, describe, expect, it } from "vitest";
import { act } from "react";
import { render, type Rendered } from "../test/render";
import { EnvProvider } from "../i18n";
import { useParamForm, type ParamFormState } from "./paramForm";
import type { Schema } from "./schema";

const schema: Schema = { type: "object", properties: { a: { type: "integer", minimum: 1 }, b: { type: "string" } }, required: ["a", "b"] };

let r: Rendered | null = null;
afterEach(() => r?.unmount());

function mount(show: "field" | "form"): { current: ParamFormState } {
  const ref = {} as { current: ParamFormState };
  function Probe() {
    ref.current = useParamForm(schema, show);
    return null;
  }
  r = render(
    <EnvProvider env={{ lang: "en", dark: false }}>
      <Probe />
    </EnvProvider>,
  );
  return ref;
}

describe("useParamForm", () => {
  it("shows a field's problems once that field is touched, all of them after an attempt", () => {
    const form = mount("field");
    expect(Object.keys(form.current.problems).sort()).toEqual(["a", "b"]);
    expect(form.current.errors).toEqual({});
    act(() => form.current.change("a", 0));
    expect(Object.keys(form.current.errors)).toEqual(["a"]);
    act(() => form.current.setAttempted(true));
    expect(Object.keys(form.current.errors).sort()).toEqual(["a", "b"]);
  });

  it("shows every problem once any field is touched in form mode, and keeps server errors until the field changes", () => {
    const form = mount("form");
    act(() => form.current.change("b", "x"));
    expect(Object.keys(form.current.errors)).toEqual(["a"]);
    act(() => form.current.setServerErrors({ b: "taken" }));
    expect(form.current.errors.b).toBe("taken");
    act(() => form.current.change("b", "y"));
    expect(form.current.errors.b).toBeUndefined();
    expect(form.current.conf).toEqual({ b: "y" });
  });

  it("loads values (a preset, a stored task) and resets", () => {
    const form = mount("field");
    act(() => form.current.load({ a: 5, b: "z" }, ["a"]));
    expect(form.current.values).toEqual({ a: 5, b: "z" });
    expect([...form.current.touched]).toEqual(["a"]);
    expect(form.current.problems).toEqual({});
    act(() => form.current.reset());
    expect(form.current.values).toEqual({});
    expect(form.current.attempted).toBe(false);
  });
});
