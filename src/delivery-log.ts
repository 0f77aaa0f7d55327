/** One delivery as the log keeps it. */
export interface Delivery {
  /** The user's sequence number: it only grows, and has no gaps. */
  readonly seq: number;
  /** When the hub accepted it, epoch milliseconds. */
  readonly at: number;
  readonly data: unknown;
  /** The connection that sent it, when a socket of this user did. */
  readonly from?: string;
}

/**
 * A user's bounded log of deliveries. Every delivery is written here first
 * and sent second, so its sequence number is taken before any socket sees it.
 * The Durable Object keeps it in SQLite; {@link MemoryDeliveryLog} keeps it in memory.
 */
export interface DeliveryLog {
  /** Appends one delivery and returns it with its sequence number. */
  append(entry: { data: unknown; at: number; from?: string }): Delivery | Promise<Delivery>;
  /** The latest sequence number (0 before the first delivery). */
  latestSeq(): number | Promise<number>;
}

/**
 * A {@link DeliveryLog} in memory, for hosts without durable storage and for tests.
 *
 * @example
 * ```ts
 * const log = new MemoryDeliveryLog(100);
 * log.append({ data: "hi", at: Date.now() }).seq; // 1
 * ```
 */
export class MemoryDeliveryLog implements DeliveryLog {
  readonly #retention: number;
  readonly #entries: Delivery[] = [];
  #seq = 0;

  /** @param retention how many deliveries to keep; older ones are dropped. */
  constructor(retention: number) {
    this.#retention = retention;
  }

  append(entry: { data: unknown; at: number; from?: string }): Delivery {
    const delivery: Delivery = { seq: ++this.#seq, at: entry.at, data: entry.data, ...(entry.from ? { from: entry.from } : {}) };
    this.#entries.push(delivery);
    if (this.#entries.length > this.#retention) this.#entries.splice(0, this.#entries.length - this.#retention);
    return delivery;
  }

  latestSeq(): number {
    return this.#seq;
  }

  /** The deliveries still kept, oldest first. */
  entries(): readonly Delivery[] {
    return this.#entries;
  }
}
