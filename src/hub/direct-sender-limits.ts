import { PerMinuteLimit } from "./token-bucket.ts";

/** Senders whose counts a hub keeps at most; past it the one unused longest is forgotten (it is full again a minute after its last use). */
export const MAX_DIRECT_SENDERS = 10_000;
/** The window a count covers. */
const MINUTE_MS = 60_000;

/**
 * How many deliveries each other user may put into this user's log per
 * minute (`DIRECT_DELIVERIES_PER_MINUTE`), so that no one sender can push the
 * user's own deliveries out of the log's retention. In memory, like the
 * hub's other limits; a hub that hibernates forgets them, so a sender's
 * count is seeded, when this instance first meets the sender, with what the
 * log kept of it in the last minute (`seed`): bursts spaced past the
 * hibernation delay get no more through than steady sending.
 *
 * @example
 * ```ts
 * const senders = new DirectSenderLimits(60);
 * const waitMs = senders.take("mallory", Date.now()); // 0, or how long until mallory may deliver again
 * ```
 */
export class DirectSenderLimits {
  readonly #perMinute: number;
  readonly #max: number;
  /** In order of last use, oldest first. */
  readonly #senders = new Map<string, PerMinuteLimit>();

  constructor(perMinute: number, max = MAX_DIRECT_SENDERS) {
    this.#perMinute = perMinute;
    this.#max = max;
  }

  /**
   * Counts one delivery from `fromUser`: 0 when it may go in, else
   * milliseconds until one more may. `seed` answers how many of the
   * sender's deliveries the log kept from `since` on (the last minute);
   * asked only when this instance has no count of the sender yet.
   */
  take(fromUser: string, now: number, seed?: (since: number) => number): number {
    let limit = this.#senders.get(fromUser);
    if (limit) this.#senders.delete(fromUser);
    else {
      limit = new PerMinuteLimit(this.#perMinute, now);
      const earlier = Math.min(seed?.(now - MINUTE_MS) ?? 0, this.#perMinute);
      for (let i = 0; i < earlier; i++) limit.take(now);
    }
    this.#senders.set(fromUser, limit);
    if (this.#senders.size > this.#max) this.#senders.delete(this.#senders.keys().next().value!);
    return limit.take(now);
  }

  /** Uncounts a delivery from `fromUser` that logged nothing new (a retry with a key already used). */
  putBack(fromUser: string): void {
    this.#senders.get(fromUser)?.putBack();
  }
}
