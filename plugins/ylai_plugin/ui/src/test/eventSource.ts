import { act } from "react";

/**
 * A stand-in for the browser's EventSource (`vi.stubGlobal("EventSource", FakeEventSource)`): the
 * test opens it, emits events and fails it; ``last`` is the one the component made most recently.
 */
export class FakeEventSource {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSED = 2;
  static last: FakeEventSource | null = null;
  readyState = 0;
  url: string;
  onopen: (() => void) | null = null;
  onerror: (() => void) | null = null;
  listeners: Record<string, ((ev: MessageEvent) => void)[]> = {};
  constructor(url: string) {
    this.url = url;
    FakeEventSource.last = this;
  }
  addEventListener(type: string, fn: (ev: MessageEvent) => void) {
    (this.listeners[type] ??= []).push(fn);
  }
  close() {
    this.readyState = 2;
  }
  open() {
    this.readyState = 1;
    act(() => this.onopen?.());
  }
  emit(type: string, data: unknown, id?: string) {
    act(() => {
      for (const fn of this.listeners[type] ?? []) fn(new MessageEvent(type, { data: JSON.stringify(data), lastEventId: id }));
    });
  }
  fail(closed: boolean) {
    this.readyState = closed ? 2 : 0;
    act(() => this.onerror?.());
  }
}
