/**
 * A token bucket: `ratePerSecond` tokens flow in, at most `burst` are kept.
 * Taking more than there is takes nothing and says how long to wait.
 *
 * Buckets live in memory, in one live instance of a hub: on Cloudflare a hub
 * that hibernates (or is evicted) starts with full buckets when it wakes.
 * That only ever lets an idle client through, which is what a limit that
 * guards a busy hub needs.
 *
 * @example
 * ```ts
 * const bucket = new TokenBucket(10, 20, Date.now());
 * bucket.take(1, Date.now()); // 0: taken
 * bucket.take(50, Date.now()); // > 0: milliseconds until 50 tokens could be there (never, past the burst: Infinity)
 * ```
 */
export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  #tokens: number;
  #at: number;

  /**
   * @param ratePerSecond tokens added per second; > 0.
   * @param burst the most tokens kept (a full bucket to start with); > 0.
   * @param now the clock at creation, milliseconds.
   */
  constructor(ratePerSecond: number, burst: number, now: number) {
    this.#rate = ratePerSecond / 1000;
    this.#burst = burst;
    this.#tokens = burst;
    this.#at = now;
  }

  /** Takes `cost` tokens: 0 when they were there, else the milliseconds until they will be (Infinity past the burst). */
  take(cost: number, now: number): number {
    this.#refill(now);
    if (cost <= this.#tokens) {
      this.#tokens -= cost;
      return 0;
    }
    if (cost > this.#burst) return Number.POSITIVE_INFINITY;
    return Math.max(1, Math.ceil((cost - this.#tokens) / this.#rate));
  }

  /** Gives back `cost` tokens taken for something that turned out to cost nothing (never past the burst). */
  putBack(cost: number): void {
    this.#tokens = Math.min(this.#burst, this.#tokens + cost);
  }

  #refill(now: number): void {
    if (now > this.#at) {
      this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#at) * this.#rate);
      this.#at = now;
    }
  }
}

/**
 * A count of events per minute (new connections of one user, tickets issued
 * to one user), as a token bucket whose burst is the whole minute's count.
 *
 * @example
 * ```ts
 * const connects = new PerMinuteLimit(60, Date.now());
 * const waitMs = connects.take(Date.now()); // 0, or how long until one more is allowed
 * ```
 */
export class PerMinuteLimit {
  readonly #bucket: TokenBucket;

  constructor(perMinute: number, now: number) {
    this.#bucket = new TokenBucket(perMinute / 60, perMinute, now);
  }

  /** Counts one event: 0 when it is allowed, else milliseconds until one more will be. */
  take(now: number): number {
    return this.#bucket.take(1, now);
  }

  /** Uncounts one event counted by {@link take} that turned out to cost nothing. */
  putBack(): void {
    this.#bucket.putBack(1);
  }
}
