/**
 * Timers for delays of any length. `setTimeout` and `setInterval` take at
 * most 2^31 − 1 ms (about 24.8 days) and treat a longer delay as 1 ms (Node
 * warns, browsers stay silent), yet the client's delays come from values it
 * does not choose: the hub's welcome (`heartbeat.intervalMs`,
 * `heartbeat.timeoutMs`) and the application's options.
 */
import { MAX_TIMER_DELAY_MS } from "../protocol/frames.ts";

/** A pending {@link setLongTimeout} or {@link setLongInterval}. */
export interface LongTimer {
  /** Cancels it; after it fired, or a second time, does nothing. */
  clear(): void;
}

type Timer = ReturnType<typeof setTimeout>;

/**
 * `setTimeout` for any finite `delayMs`: a delay past
 * {@link MAX_TIMER_DELAY_MS} is waited in steps of that length, one timer
 * pending at a time.
 *
 * @example
 * ```ts
 * const timer = setLongTimeout(() => console.log("35 days later"), 3_000_000_000);
 * timer.clear();
 * ```
 */
export function setLongTimeout(callback: () => void, delayMs: number): LongTimer {
  let timer: Timer | undefined;
  let left = delayMs;
  const step = (): void => {
    if (left > MAX_TIMER_DELAY_MS) {
      left -= MAX_TIMER_DELAY_MS;
      timer = setTimeout(step, MAX_TIMER_DELAY_MS);
      return;
    }
    timer = setTimeout(() => {
      timer = undefined;
      callback();
    }, left);
  };
  step();
  return {
    clear() {
      // Guarded: the Workers typing of clearTimeout does not accept undefined.
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}

/**
 * `setInterval` for any finite `intervalMs` above 0: within range it is
 * `setInterval` itself; past it, a chain of {@link setLongTimeout}s.
 *
 * @example
 * ```ts
 * const pings = setLongInterval(() => socket.send("ping"), heartbeat.intervalMs);
 * pings.clear();
 * ```
 */
export function setLongInterval(callback: () => void, intervalMs: number): LongTimer {
  if (intervalMs <= MAX_TIMER_DELAY_MS) {
    const interval = setInterval(callback, intervalMs);
    return { clear: () => clearInterval(interval) };
  }
  let stopped = false;
  let current: LongTimer;
  const arm = (): void => {
    current = setLongTimeout(() => {
      arm(); // Before the callback, which may clear this interval.
      callback();
    }, intervalMs);
  };
  arm();
  return {
    clear() {
      if (stopped) return;
      stopped = true;
      current.clear();
    },
  };
}
