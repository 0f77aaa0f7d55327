import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { refreshDelay, TokenRefreshTimer } from "../../src/client/token-refresh-timer.ts";

describe("refreshDelay", () => {
  it("is 80% of the time left, at least 1 s before expiry, never negative", () => {
    expect(refreshDelay(100_000)).toBe(80_000);
    expect(refreshDelay(5_000)).toBe(4_000); // both rules agree here
    expect(refreshDelay(3_000)).toBe(2_000);
    expect(refreshDelay(1_000)).toBe(0);
    expect(refreshDelay(-5_000)).toBe(0);
  });
});

describe("TokenRefreshTimer", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it("is due at 80% of the time left from start", async () => {
    const due = vi.fn();
    const timer = new TokenRefreshTimer(due);
    timer.start(Date.now() + 100_000);
    await vi.advanceTimersByTimeAsync(79_999);
    expect(due).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(due).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("schedules nothing for credentials that never expire", () => {
    const timer = new TokenRefreshTimer(vi.fn());
    timer.start(null);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("reschedules after a refresh that moved expiry later, and stops asking when it did not", async () => {
    const due = vi.fn();
    const timer = new TokenRefreshTimer(due);
    timer.start(Date.now() + 10_000);
    await vi.advanceTimersByTimeAsync(8_000);
    expect(due).toHaveBeenCalledTimes(1);

    timer.refreshed(Date.now() + 10_000); // later than before
    await vi.advanceTimersByTimeAsync(8_000);
    expect(due).toHaveBeenCalledTimes(2);

    timer.refreshed(Date.now() + 2_000); // the same cached token: an earlier-or-equal expiry
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(due).toHaveBeenCalledTimes(2);
  });

  it("treats the same expiresAt coming back as no fresher token", async () => {
    const due = vi.fn();
    const timer = new TokenRefreshTimer(due);
    const expiresAt = Date.now() + 10_000;
    timer.start(expiresAt);
    await vi.advanceTimersByTimeAsync(8_000);
    timer.refreshed(expiresAt);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("takes waits beyond setTimeout's range in steps instead of firing at once, each step re-reckoning 80% of what is left", async () => {
    const maxTimerDelay = 2 ** 31 - 1;
    const due = vi.fn();
    const timer = new TokenRefreshTimer(due);
    timer.start(Date.now() + maxTimerDelay + 1_000_000_000); // 80% of that is past setTimeout's range
    await vi.advanceTimersByTimeAsync(1_000);
    expect(due).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(maxTimerDelay - 1_000); // one step: 10^9 ms left, so 8·10^8 more
    expect(due).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(800_000_000 - 1);
    expect(due).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(due).toHaveBeenCalledTimes(1);
  });

  it("leaves no timer after stop, and a stopped timer's next start is fresh", async () => {
    const due = vi.fn();
    const timer = new TokenRefreshTimer(due);
    timer.start(Date.now() + 10_000);
    timer.stop();
    expect(vi.getTimerCount()).toBe(0);
    timer.refreshed(Date.now() + 1_000); // nothing to compare with after stop: scheduled
    expect(vi.getTimerCount()).toBe(1);
    timer.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(due).not.toHaveBeenCalled();
  });
});
