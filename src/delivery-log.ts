import { utf8Length } from "./utf8-length.ts";

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

/** A delivery before the log numbers it. */
export interface NewDelivery {
  readonly data: unknown;
  readonly from?: string;
  /** The payload's JSON when the caller already made it (the hub always does): the log stores and measures this text instead of stringifying `data` again. */
  readonly json?: string;
}

/** How much a log keeps for replay; the oldest deliveries go first when any bound is passed. */
export interface RetentionPolicy {
  /** Deliveries kept. */
  readonly count: number;
  /** Age kept, in milliseconds. Idempotency keys are remembered this long too. */
  readonly ageMs: number;
  /** Bytes of payload kept (JSON). */
  readonly bytes: number;
}

/** What `append` did. */
export interface AppendResult {
  /** The sequence numbers of the batch, in order (the earlier ones when `duplicate`). */
  readonly seqs: readonly number[];
  /** The new deliveries; empty when `duplicate`. */
  readonly deliveries: readonly Delivery[];
  /** The idempotency key was seen before: nothing was appended. */
  readonly duplicate: boolean;
}

/** What a reconnecting client missed: the deliveries after its last `seq`, or the range kept when that is gone. */
export type ReplayResult =
  | { readonly kind: "replay"; readonly deliveries: readonly Delivery[] }
  | { readonly kind: "gap"; readonly oldest: number; readonly latest: number };

/**
 * A user's bounded log of deliveries. Every delivery is written here first
 * and sent second, so its sequence number is taken before any socket sees it.
 * The sequence number only grows, and survives pruning; the epoch changes
 * only when the log itself is lost or reset, so a client can tell a log
 * that went on from one that started over (Centrifugo's offset and epoch).
 *
 * The Durable Object keeps it in SQLite; {@link MemoryDeliveryLog} keeps it in memory.
 */
export interface DeliveryLog {
  /** This log's lifetime: a log that was reset has a new epoch. */
  epoch(): string | Promise<string>;
  /** The latest sequence number (0 before the first delivery). */
  latestSeq(): number | Promise<number>;
  /** The oldest sequence number still kept (latest + 1 when none is). */
  oldestSeq(): number | Promise<number>;
  /**
   * Appends a batch, numbering it in order. With an `idempotencyKey` seen
   * within the retention age, appends nothing and returns the earlier numbers.
   */
  append(entries: readonly NewDelivery[], at: number, idempotencyKey?: string): AppendResult | Promise<AppendResult>;
  /** The deliveries after `seq`, oldest first; or a gap when some of them are no longer kept. */
  since(seq: number): ReplayResult | Promise<ReplayResult>;
  /** Drops what retention no longer covers. Called after a delivery is sent, so it never delays one. */
  prune(now: number): void | Promise<void>;
}

/** The defaults, also in the README's configuration table. */
export const DEFAULT_RETENTION: RetentionPolicy = { count: 1000, ageMs: 24 * 60 * 60 * 1000, bytes: 1024 * 1024 };

/**
 * A {@link DeliveryLog} in memory, for hosts without durable storage and for tests.
 * Its epoch is new with every instance: a restart is a reset, and says so.
 *
 * @example
 * ```ts
 * const log = new MemoryDeliveryLog();
 * log.append([{ data: "hi" }], Date.now()).seqs; // [1]
 * log.since(0); // { kind: "replay", deliveries: [{ seq: 1, ... }] }
 * ```
 */
export class MemoryDeliveryLog implements DeliveryLog {
  readonly #retention: RetentionPolicy;
  readonly #epoch = crypto.randomUUID();
  readonly #entries: { delivery: Delivery; bytes: number }[] = [];
  readonly #keys = new Map<string, { seqs: number[]; at: number }>();
  #seq = 0;
  #bytes = 0;

  constructor(retention: Partial<RetentionPolicy> = {}) {
    this.#retention = { ...DEFAULT_RETENTION, ...retention };
  }

  epoch(): string {
    return this.#epoch;
  }

  latestSeq(): number {
    return this.#seq;
  }

  oldestSeq(): number {
    return this.#entries[0]?.delivery.seq ?? this.#seq + 1;
  }

  append(entries: readonly NewDelivery[], at: number, idempotencyKey?: string): AppendResult {
    if (idempotencyKey !== undefined) {
      const seen = this.#keys.get(idempotencyKey);
      if (seen && at - seen.at < this.#retention.ageMs) return { seqs: seen.seqs, deliveries: [], duplicate: true };
    }
    const deliveries = entries.map((entry): Delivery => ({ seq: ++this.#seq, at, data: entry.data, ...(entry.from ? { from: entry.from } : {}) }));
    for (const [i, delivery] of deliveries.entries()) {
      const json = entries[i]!.json;
      const bytes = json === undefined ? payloadBytes(delivery.data) : jsonBytes(json);
      this.#entries.push({ delivery, bytes });
      this.#bytes += bytes;
    }
    const seqs = deliveries.map((d) => d.seq);
    if (idempotencyKey !== undefined) this.#keys.set(idempotencyKey, { seqs, at });
    return { seqs, deliveries, duplicate: false };
  }

  since(seq: number): ReplayResult {
    const oldest = this.oldestSeq();
    if (seq > this.#seq || seq < oldest - 1) return { kind: "gap", oldest, latest: this.#seq };
    return { kind: "replay", deliveries: this.#entries.filter((e) => e.delivery.seq > seq).map((e) => e.delivery) };
  }

  prune(now: number): void {
    const { count, ageMs, bytes } = this.#retention;
    let drop = 0;
    while (
      drop < this.#entries.length &&
      (this.#entries.length - drop > count || now - this.#entries[drop]!.delivery.at > ageMs || this.#bytes > bytes)
    ) {
      this.#bytes -= this.#entries[drop]!.bytes;
      drop++;
    }
    if (drop > 0) this.#entries.splice(0, drop);
    for (const [key, seen] of this.#keys) if (now - seen.at >= ageMs) this.#keys.delete(key);
  }

  /** The deliveries still kept, oldest first. */
  entries(): readonly Delivery[] {
    return this.#entries.map((e) => e.delivery);
  }
}

/** The bytes a payload counts against retention: its JSON. */
export function payloadBytes(data: unknown): number {
  return jsonBytes(JSON.stringify(data ?? null));
}

/** {@link payloadBytes} of a payload whose JSON the caller already has (a log that stores it), without stringifying it again. */
export function jsonBytes(json: string): number {
  return utf8Length(json);
}
