// The last error message a page showed (an ErrorBox, the outage banner), kept so the feedback
// dialog can offer to send it along. Only the sentence the user saw: no request, no stack.

/** The longest message kept (the feedback API takes at most 500 characters). */
export const MAX_ERROR_LENGTH = 500;

let last: string | null = null;

/** Remember ``text`` as the last error shown; blank text is ignored. */
export function reportShownError(text: string): void {
  const trimmed = text.trim();
  if (trimmed) last = trimmed.slice(0, MAX_ERROR_LENGTH);
}

/** The last error shown, or null when none has been since the page was loaded. */
export function lastShownError(): string | null {
  return last;
}

export function clearShownError(): void {
  last = null;
}
