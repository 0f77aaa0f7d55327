import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { HeartbeatMonitor } from "../../src/client/heartbeat-monitor.ts";

function monitor() {
  const ping = vi.fn();
  const timedOut = vi.fn();
  return { heartbeat: new HeartbeatMonitor({ ping, timedOut }), ping, timedOut };
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe("HeartbeatMonitor", () => {
  it("pings every intervalMs from start", async () => {
    const { heartbeat, ping } = monitor();
    heartbeat.start({ intervalMs: 1_000, timeoutMs: 60_000 });
    await vi.advanceTimersByTimeAsync(999);
    expect(ping).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(ping).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(ping).toHaveBeenCalledTimes(3);
  });

  it("times out once when nothing arrives for timeoutMs", async () => {
    const { heartbeat, timedOut } = monitor();
    heartbeat.start({ intervalMs: 1_000, timeoutMs: 2_500 });
    await vi.advanceTimersByTimeAsync(2_499);
    expect(timedOut).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(timedOut).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(timedOut).toHaveBeenCalledTimes(1);
  });

  it("starts the deadline over with every alive()", async () => {
    const { heartbeat, timedOut } = monitor();
    heartbeat.start({ intervalMs: 1_000, timeoutMs: 2_500 });
    for (let i = 0; i < 5; i++) {
      await vi.advanceTimersByTimeAsync(2_000);
      heartbeat.alive();
    }
    expect(timedOut).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(2_500);
    expect(timedOut).toHaveBeenCalledTimes(1);
  });

  it("does nothing on alive() before start", () => {
    const { heartbeat } = monitor();
    heartbeat.alive();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("turns off a half whose setting is missing, zero, negative or not finite", async () => {
    for (const settings of [undefined, {}, { intervalMs: 0, timeoutMs: 0 }, { intervalMs: -1, timeoutMs: Infinity }, { intervalMs: Number.NaN }]) {
      const { heartbeat } = monitor();
      heartbeat.start(settings);
      expect(vi.getTimerCount()).toBe(0);
      heartbeat.alive();
      expect(vi.getTimerCount()).toBe(0);
    }
    const { heartbeat, ping, timedOut } = monitor();
    heartbeat.start({ timeoutMs: 1_000 });
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect([ping.mock.calls.length, timedOut.mock.calls.length]).toEqual([0, 1]);
  });

  it("honours a timeout past setTimeout's 2^31 − 1 ms instead of timing out at once", async () => {
    const { heartbeat, timedOut } = monitor();
    heartbeat.start({ intervalMs: 30_000, timeoutMs: 3_000_000_000 });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(timedOut).not.toHaveBeenCalled();
    heartbeat.alive(); // pushes the deadline back: 3·10^9 ms from now
    await vi.advanceTimersByTimeAsync(2_999_999_999);
    expect(timedOut).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(timedOut).toHaveBeenCalledTimes(1);
    heartbeat.stop();
  });

  it("honours an interval past setTimeout's 2^31 − 1 ms instead of pinging every millisecond", async () => {
    const { heartbeat, ping } = monitor();
    heartbeat.start({ intervalMs: 3_000_000_000 });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(ping).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(3_000_000_000 - 60_000);
    expect(ping).toHaveBeenCalledTimes(1);
    heartbeat.stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("leaves no timer after stop, and alive() after stop arms nothing", async () => {
    const { heartbeat, ping, timedOut } = monitor();
    heartbeat.start({ intervalMs: 1_000, timeoutMs: 2_500 });
    expect(vi.getTimerCount()).toBe(2);
    heartbeat.stop();
    expect(vi.getTimerCount()).toBe(0);
    heartbeat.alive();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(ping).not.toHaveBeenCalled();
    expect(timedOut).not.toHaveBeenCalled();
  });
});
