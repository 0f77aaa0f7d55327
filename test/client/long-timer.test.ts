import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { setLongInterval, setLongTimeout } from "../../src/client/long-timer.ts";
import { MAX_TIMER_DELAY_MS } from "../../src/protocol/frames.ts";

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

// vitest's fake timers, like Node, run a setTimeout or setInterval past 2^31 − 1 ms after 1 ms.
describe("setLongTimeout", () => {
  it("fires after a delay within setTimeout's range, once", async () => {
    const fired = vi.fn();
    setLongTimeout(fired, 1_000);
    await vi.advanceTimersByTimeAsync(999);
    expect(fired).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(fired).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("fires after a delay past setTimeout's range, not at once, one timer pending at a time", async () => {
    const fired = vi.fn();
    const delay = 3_000_000_000;
    setLongTimeout(fired, delay);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(fired).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(MAX_TIMER_DELAY_MS - 1_000);
    expect(fired).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(delay - MAX_TIMER_DELAY_MS - 1);
    expect(fired).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(fired).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("clear() cancels it in any step, and again does nothing", async () => {
    const fired = vi.fn();
    const timer = setLongTimeout(fired, 5_000_000_000);
    await vi.advanceTimersByTimeAsync(MAX_TIMER_DELAY_MS + 10);
    timer.clear();
    timer.clear();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(10_000_000_000);
    expect(fired).not.toHaveBeenCalled();
  });
});

describe("setLongInterval", () => {
  it("is setInterval within range", async () => {
    const fired = vi.fn();
    const interval = setLongInterval(fired, 1_000);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(fired).toHaveBeenCalledTimes(3);
    interval.clear();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("repeats an interval past setTimeout's range at that interval, not every millisecond", async () => {
    const fired = vi.fn();
    const every = 3_000_000_000;
    const interval = setLongInterval(fired, every);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(fired).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(every - 1_000);
    expect(fired).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(every);
    expect(fired).toHaveBeenCalledTimes(2);
    interval.clear();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("can be cleared from its own callback", async () => {
    const every = 3_000_000_000;
    let calls = 0;
    const interval = setLongInterval(() => {
      calls++;
      interval.clear();
    }, every);
    await vi.advanceTimersByTimeAsync(every * 3);
    expect(calls).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });
});
