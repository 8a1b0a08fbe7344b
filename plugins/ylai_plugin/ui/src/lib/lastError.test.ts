import { describe, expect, it } from "vitest";
import { MAX_ERROR_LENGTH, clearShownError, lastShownError, reportShownError } from "./lastError";

describe("the last error shown", () => {
  it("keeps the latest message, trimmed and cut to what the feedback API takes", () => {
    clearShownError();
    expect(lastShownError()).toBeNull();
    reportShownError("  first  ");
    expect(lastShownError()).toBe("first");
    reportShownError("");
    reportShownError("   ");
    expect(lastShownError()).toBe("first");
    reportShownError("x".repeat(MAX_ERROR_LENGTH + 40));
    expect(lastShownError()).toHaveLength(MAX_ERROR_LENGTH);
    clearShownError();
    expect(lastShownError()).toBeNull();
  });
});
