/** How much a log keeps for replay; the oldest deliveries go first when any bound is passed. */
export interface RetentionPolicy {
  /** Deliveries kept. */
  readonly count: number;
  /** Age kept, in milliseconds. Idempotency keys are remembered this long too. */
  readonly ageMs: number;
  /** Bytes of payload kept (JSON); the newest delivery is kept whatever its size. */
  readonly bytes: number;
}

/** The defaults, also in the README's configuration table. */
export const DEFAULT_RETENTION: RetentionPolicy = { count: 1000, ageMs: 24 * 60 * 60 * 1000, bytes: 1024 * 1024 };

/**
 * Where a log's retention cuts at one moment: a delivery is kept only if it
 * is at or past all three. `base` is the payload bytes the log was ever given
 * before a delivery (a running total), so the bytes kept from a delivery to
 * the latest are `latestEnd − base`.
 */
export interface RetentionFloor {
  /** The latest `count` deliveries. */
  readonly seq: number;
  /** Accepted within `ageMs` of now. */
  readonly at: number;
  /** The newest deliveries whose payloads fit in `bytes` (and the newest whatever its size: `latestSeq`). */
  readonly base: number;
  /**
   * The newest delivery, which the byte bound keeps whatever its size: a
   * delivery larger than `bytes` was acknowledged with its seq, so it stays
   * replayable until the next one (count and age still apply to it).
   */
  readonly latestSeq: number;
}

/**
 * The one retention rule every log applies, when it is read (what `since`
 * replays and what `oldestSeq` says) and when it prunes. A log may keep rows
 * past the floor on disk (the SQLite log prunes in batches); it never replays
 * them.
 *
 * @example
 * ```ts
 * const floor = retentionFloor({ count: 2, ageMs: 1000, bytes: 100 }, 5000, 3, 30);
 * isRetained(floor, { seq: 2, at: 4500, base: 10 }); // true
 * isRetained(floor, { seq: 1, at: 4500, base: 0 }); // false: past the count
 * const afterLarge = retentionFloor({ count: 2, ageMs: 1000, bytes: 100 }, 5000, 3, 500);
 * isRetained(afterLarge, { seq: 3, at: 4500, base: 30 }); // true: 470 bytes, but the newest
 * ```
 */
export function retentionFloor(policy: RetentionPolicy, now: number, latestSeq: number, latestEnd: number): RetentionFloor {
  return { seq: latestSeq - policy.count + 1, at: now - policy.ageMs, base: latestEnd - policy.bytes, latestSeq };
}

/** Whether a delivery at `seq`, accepted `at`, after `base` bytes, is kept under `floor`. */
export function isRetained(floor: RetentionFloor, delivery: { readonly seq: number; readonly at: number; readonly base: number }): boolean {
  return delivery.seq >= floor.seq && delivery.at >= floor.at && (delivery.base >= floor.base || delivery.seq >= floor.latestSeq);
}

/** Whether an idempotency key seen at `seenAt` still holds at `now` (it is remembered for the retention age). */
export function isKeyRemembered(policy: RetentionPolicy, seenAt: number, now: number): boolean {
  return now - seenAt < policy.ageMs;
}
