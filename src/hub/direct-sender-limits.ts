import { PerMinuteLimit } from "./token-bucket.ts";

/** Senders whose counts a hub keeps at most; past it the one unused longest is forgotten (it is full again a minute after its last use). */
export const MAX_DIRECT_SENDERS = 10_000;

/**
 * How many deliveries each other user may put into this user's log per
 * minute (`DIRECT_DELIVERIES_PER_MINUTE`), so that no one sender can push the
 * user's own deliveries out of the log's retention. In memory, like the
 * hub's other limits: a hub that hibernates wakes with every count full.
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

  /** Counts one delivery from `fromUser`: 0 when it may go in, else milliseconds until one more may. */
  take(fromUser: string, now: number): number {
    let limit = this.#senders.get(fromUser);
    if (limit) this.#senders.delete(fromUser);
    else limit = new PerMinuteLimit(this.#perMinute, now);
    this.#senders.set(fromUser, limit);
    if (this.#senders.size > this.#max) this.#senders.delete(this.#senders.keys().next().value!);
    return limit.take(now);
  }
}
