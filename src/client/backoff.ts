/**
 * Reconnect delays: exponential backoff with full jitter, and the rule that
 * forgets past failures once a connection has proved stable.
 */

/** Options of a {@link Backoff}. */
export interface BackoffOptions {
  /** The ceiling of the first retry's delay, in ms. Default 500. */
  baseMs?: number;
  /** No delay is ever longer than this, in ms. Default 30 000. */
  maxMs?: number;
  /** A connection that stays open this long resets the attempt counter, in ms (and the client replaces it at once after a 4001). Default 10 000. */
  stableAfterMs?: number;
  /** A number in [0, 1); inject a seeded one in tests. Default `Math.random`. */
  random?: () => number;
  /** The clock that measures how long a connection stayed open, in ms. Default `Date.now`. */
  now?: () => number;
}

/** The defaults of {@link BackoffOptions}. */
export const DEFAULT_BACKOFF = { baseMs: 500, maxMs: 30_000, stableAfterMs: 10_000 } as const;

/**
 * 2^1000 is still finite; beyond 2^1023 the product would be Infinity, and
 * 0 × Infinity (a base of 0) is NaN. Every ceiling has reached `maxMs` long before.
 */
const MAX_EXPONENT = 1000;

/**
 * The ceiling of the delay before retry number `attempt` (0 for the first):
 * `min(maxMs, baseMs · 2^attempt)`.
 *
 * @example
 * ```ts
 * delayCeiling(3, { baseMs: 500, maxMs: 30_000 }); // 4000
 * ```
 */
export function delayCeiling(attempt: number, options: { baseMs: number; maxMs: number }): number {
  const exponent = Math.min(Math.max(0, Math.floor(attempt)), MAX_EXPONENT);
  return Math.min(options.maxMs, options.baseMs * 2 ** exponent);
}

/**
 * "Full jitter" (AWS Architecture Blog, "Exponential Backoff And Jitter"):
 * a uniformly random delay in [0, ceiling], in whole milliseconds. Spreading the whole range, not
 * just a fringe, is what keeps thousands of clients that lost the same hub
 * at the same moment from reconnecting in lockstep.
 *
 * @example
 * ```ts
 * fullJitterDelay(2, { baseMs: 500, maxMs: 30_000 }, () => 0.5); // 1000
 * ```
 */
export function fullJitterDelay(attempt: number, options: { baseMs: number; maxMs: number }, random: () => number = Math.random): number {
  // Clamped so that a random source returning exactly 1 (or slightly out of range) cannot pass the ceiling.
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.floor(r * delayCeiling(attempt, options));
}

/**
 * An attempt counter with full-jitter delays. `next()` gives the delay before
 * the next retry and counts it; `opened()`/`closed()` bracket a connection,
 * and a connection that stayed open `stableAfterMs` resets the counter when
 * it closes. Resetting on close rather than on open matters: a hub that
 * accepts and then drops every socket at once would otherwise be retried
 * with the smallest delay forever.
 *
 * @example
 * ```ts
 * const backoff = new Backoff();          // 500 ms base, 30 s cap, stable after 10 s
 * setTimeout(connect, backoff.next());    // in [0, 500)
 * setTimeout(connect, backoff.next());    // in [0, 1000)
 * backoff.opened();
 * // … 10 s or more later, the connection drops:
 * backoff.closed();                       // stable: the counter is back at 0
 * ```
 */
export class Backoff {
  readonly #baseMs: number;
  readonly #maxMs: number;
  readonly #stableAfterMs: number;
  readonly #random: () => number;
  readonly #now: () => number;
  #attempt = 0;
  #openedAt: number | null = null;

  constructor(options: BackoffOptions = {}) {
    this.#baseMs = nonNegative("baseMs", options.baseMs ?? DEFAULT_BACKOFF.baseMs);
    this.#maxMs = nonNegative("maxMs", options.maxMs ?? DEFAULT_BACKOFF.maxMs);
    this.#stableAfterMs = nonNegative("stableAfterMs", options.stableAfterMs ?? DEFAULT_BACKOFF.stableAfterMs);
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? Date.now;
  }

  /** Retries counted since the last reset (0 before the first). */
  get attempt(): number {
    return this.#attempt;
  }

  /** The delay before the next retry, in ms; counts the retry. */
  next(): number {
    const delay = fullJitterDelay(this.#attempt, { baseMs: this.#baseMs, maxMs: this.#maxMs }, this.#random);
    this.#attempt++;
    return delay;
  }

  /** A connection opened: start timing it. */
  opened(): void {
    this.#openedAt = this.#now();
  }

  /**
   * The connection closed: if it stayed open `stableAfterMs` or longer, reset
   * the counter. Without `opened()` first, nothing.
   *
   * @returns whether the connection had proved stable (and the counter was reset).
   */
  closed(): boolean {
    const stable = this.#openedAt !== null && this.#now() - this.#openedAt >= this.#stableAfterMs;
    if (stable) this.#attempt = 0;
    this.#openedAt = null;
    return stable;
  }

  /** Forget every failure. */
  reset(): void {
    this.#attempt = 0;
    this.#openedAt = null;
  }
}

function nonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`backoff ${name} must be a finite number >= 0, got ${value}`);
  return value;
}
