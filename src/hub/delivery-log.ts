// deno-lint-ignore-file require-await -- the in-memory stores answer at once; their methods are async so that every store keeps the one asynchronous contract.
import { DEFAULT_RETENTION, isKeyRemembered, isRetained, type RetentionPolicy, retentionFloor } from "./retention.ts";
import { utf8Length } from "../protocol/utf8-length.ts";

/** One delivery as the log keeps it. */
export interface Delivery {
  /** The user's sequence number: it only grows, and has no gaps. */
  readonly seq: number;
  /** When the hub accepted it, epoch milliseconds. */
  readonly at: number;
  readonly data: unknown;
  /** The connection that sent it, when a socket of this user did. */
  readonly from?: string;
  /** The user whose hub sent it here (`hub.users.deliver`): verified by that hub, never a client's claim. */
  readonly fromUser?: string;
  /** In the sender's own log, the user it was sent to (the sender's copy of a `hub.users.deliver`). */
  readonly toUser?: string;
}

/** A delivery before the log numbers it. */
export interface NewDelivery {
  readonly data: unknown;
  readonly from?: string;
  readonly fromUser?: string;
  readonly toUser?: string;
  /** The payload's JSON when the caller already made it (the hub always does): the log stores and measures this text instead of stringifying `data` again. */
  readonly json?: string;
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
 * Reads are asynchronous, whatever the store. `append` and `prune` may
 * answer at once when the store writes synchronously (SQLite in a Durable
 * Object): the hub then sends a delivery in the same turn as its write, with
 * no promise between them; a store that must wait returns a promise. The hub is the one
 * caller that needs appends to settle in call order, and it chains them
 * itself (see `Hub`), so a log need not. What a log keeps follows one rule,
 * {@link retentionFloor}, applied when it is read. Its age bound is judged at
 * the latest time the log was told: an append's `at`, a prune's `now`, or a
 * read's `now` (the log's clock only moves forward, so what a prune dropped
 * stays dropped); before any, the log's own clock.
 *
 * The Durable Object keeps it in SQLite; {@link MemoryDeliveryLog} keeps it in memory.
 */
export interface DeliveryLog {
  /** This log's lifetime: a log that was reset has a new epoch. */
  epoch(): Promise<string>;
  /** The latest sequence number (0 before the first delivery). */
  latestSeq(): Promise<number>;
  /**
   * The oldest sequence number still kept (latest + 1 when none is). `now`,
   * the time of the read, tells the log the time for the age bound: without
   * it the log judges age at the latest time it was told, which in a hub
   * whose sockets send only signals (nothing logged) may be long past.
   */
  oldestSeq(now?: number): Promise<number>;
  /**
   * Appends a batch, numbering it in order. With an `idempotencyKey` seen
   * within the retention age, appends nothing and returns the earlier numbers.
   */
  append(entries: readonly NewDelivery[], at: number, idempotencyKey?: string): AppendResult | Promise<AppendResult>;
  /**
   * The deliveries after `seq`, oldest first; or a gap when some of them are
   * no longer kept. `now`: as for `oldestSeq`; a resume passes it, so that
   * nothing older than `ageMs` is replayed.
   */
  since(seq: number, now?: number): Promise<ReplayResult>;
  /** Drops what retention no longer covers. Called after a delivery is sent, so it never delays one. */
  prune(now: number): void | Promise<void>;
  /**
   * A seq the host remembered as this log's latest (the hub keeps it in a
   * socket's attachment), offered before an append: a log that has not read
   * where it stands yet may number its next delivery from it instead. Only a
   * hint: the log must check it as it writes, and read where it stands when
   * it is wrong. Optional: a log without it reads where it stands.
   */
  hint?(latestSeq: number): void;
  /**
   * How many deliveries from `fromUser` (another user's, `hub.users.deliver`)
   * the log keeps with an `at` of `since` or later. A hub that forgets its
   * per-sender counts when it hibernates (Cloudflare) seeds them with it.
   */
  deliveredFrom?(fromUser: string, since: number): number;
  /**
   * The seqs `idempotencyKey` was given, if the log still remembers it at
   * `now` (as `append` would judge it: for the retention age); null if not.
   * Asked only off the usual path: when a sender's quota refuses a delivery
   * between users that carries a key, so that a retry of one already logged
   * is answered as the duplicate it is rather than refused. Optional: a log
   * without it has such a retry refused (`rate_limited`) until the quota
   * lets it through, and then it is a duplicate.
   */
  remembered?(idempotencyKey: string, now: number): Promise<readonly number[] | null>;
}

/**
 * A {@link DeliveryLog} in memory, for hosts without durable storage and for tests.
 * Its epoch is new with every instance: a restart is a reset, and says so.
 *
 * @example
 * ```ts
 * const log = new MemoryDeliveryLog();
 * (await log.append([{ data: "hi" }], Date.now())).seqs; // [1]
 * await log.since(0, Date.now()); // { kind: "replay", deliveries: [{ seq: 1, ... }] }
 * ```
 */
export class MemoryDeliveryLog implements DeliveryLog {
  readonly #retention: RetentionPolicy;
  readonly #clock: () => number;
  readonly #epoch = crypto.randomUUID();
  /** Kept deliveries from `#head` on, oldest first; the ones before it are dropped and go in one splice once they are half the array. */
  readonly #entries: { delivery: Delivery; base: number }[] = [];
  #head = 0;
  readonly #keys = new Map<string, { seqs: number[]; at: number }>();
  #seq = 0;
  /** Payload bytes ever appended: the next delivery's `base`. */
  #end = 0;
  /** The latest time the log was told (an append's `at`, a prune's or a read's `now`): its clock for the age bound. */
  #lastNow: number | null = null;

  /** @param clock What "now" is for the age bound before the log has been told a time. @default Date.now */
  constructor(retention: Partial<RetentionPolicy> = {}, clock: () => number = Date.now) {
    this.#retention = { ...DEFAULT_RETENTION, ...retention };
    this.#clock = clock;
  }

  async epoch(): Promise<string> {
    return this.#epoch;
  }

  async latestSeq(): Promise<number> {
    return this.#seq;
  }

  async oldestSeq(now?: number): Promise<number> {
    if (now !== undefined) this.#tell(now);
    return this.#oldest();
  }

  async append(entries: readonly NewDelivery[], at: number, idempotencyKey?: string): Promise<AppendResult> {
    this.#tell(at);
    const seen = idempotencyKey === undefined ? null : this.#seqsOf(idempotencyKey, at);
    if (seen) return { seqs: seen, deliveries: [], duplicate: true };
    const deliveries = entries.map((entry) => newDelivery(++this.#seq, at, entry.data, entry));
    for (const [i, delivery] of deliveries.entries()) {
      const json = entries[i]!.json;
      this.#entries.push({ delivery, base: this.#end });
      this.#end += json === undefined ? payloadBytes(delivery.data) : jsonBytes(json);
    }
    const seqs = deliveries.map((d) => d.seq);
    if (idempotencyKey !== undefined) this.#keys.set(idempotencyKey, { seqs, at });
    return { seqs, deliveries, duplicate: false };
  }

  async since(seq: number, now?: number): Promise<ReplayResult> {
    if (now !== undefined) this.#tell(now);
    const oldest = this.#oldest();
    if (seq > this.#seq || seq < oldest - 1) return { kind: "gap", oldest, latest: this.#seq };
    return { kind: "replay", deliveries: this.#keptAfter(Math.max(seq, oldest - 1)) };
  }

  async prune(now: number): Promise<void> {
    this.#tell(now);
    const oldest = this.#oldest();
    // A full log drops one delivery per append: moving every kept one down each time made a prune cost the log's length.
    while (this.#head < this.#entries.length && this.#entries[this.#head]!.delivery.seq < oldest) this.#head++;
    if (this.#head > 0 && this.#head * 2 >= this.#entries.length) {
      this.#entries.splice(0, this.#head);
      this.#head = 0;
    }
    for (const [key, seen] of this.#keys) if (!isKeyRemembered(this.#retention, seen.at, now)) this.#keys.delete(key);
  }

  async remembered(idempotencyKey: string, now: number): Promise<readonly number[] | null> {
    return this.#seqsOf(idempotencyKey, now);
  }

  /** The seqs `idempotencyKey` was given, if it is still remembered at `now`; null if not. */
  #seqsOf(idempotencyKey: string, now: number): number[] | null {
    const seen = this.#keys.get(idempotencyKey);
    return seen && isKeyRemembered(this.#retention, seen.at, now) ? seen.seqs : null;
  }

  /** The deliveries still kept, oldest first. */
  entries(): readonly Delivery[] {
    return this.#keptAfter(this.#oldest() - 1);
  }

  /** The deliveries after `seq` still in the array, oldest first. */
  #keptAfter(seq: number): Delivery[] {
    const kept: Delivery[] = [];
    for (let i = this.#head; i < this.#entries.length; i++) if (this.#entries[i]!.delivery.seq > seq) kept.push(this.#entries[i]!.delivery);
    return kept;
  }

  #oldest(): number {
    const floor = retentionFloor(this.#retention, this.#lastNow ?? this.#clock(), this.#seq, this.#end);
    for (let i = this.#head; i < this.#entries.length; i++) {
      const { delivery, base } = this.#entries[i]!;
      if (isRetained(floor, { seq: delivery.seq, at: delivery.at, base })) return delivery.seq;
    }
    return this.#seq + 1;
  }

  #tell(now: number): void {
    if (this.#lastNow === null || now > this.#lastNow) this.#lastNow = now;
  }
}

/** Where a delivery came from and went, as a caller or a stored row gives it: null or empty for "not set". */
type OriginFields = { readonly from?: string | null; readonly fromUser?: string | null; readonly toUser?: string | null };

/** Where a delivery came from and went, as a log keeps it: only the fields that are set, in one order (`from`, `fromUser`, `toUser`). */
export function deliveryOrigin(entry: OriginFields): Pick<Delivery, "from" | "fromUser" | "toUser"> {
  return withOrigin({}, entry);
}

/**
 * The delivery `seq` of `data` at `at`, with the origin `entry` names (the
 * fields it leaves empty left out, as {@link deliveryOrigin} does), built as
 * one object: every delivery a log writes is made here.
 */
export function newDelivery(seq: number, at: number, data: unknown, entry: OriginFields): Delivery {
  const delivery: { seq: number; at: number; data: unknown; from?: string; fromUser?: string; toUser?: string } = { seq, at, data };
  return withOrigin(delivery, entry);
}

function withOrigin<T extends { from?: string; fromUser?: string; toUser?: string }>(target: T, entry: OriginFields): T {
  if (entry.from) target.from = entry.from;
  if (entry.fromUser) target.fromUser = entry.fromUser;
  if (entry.toUser) target.toUser = entry.toUser;
  return target;
}

/** The bytes a payload counts against retention: its JSON. */
export function payloadBytes(data: unknown): number {
  return jsonBytes(JSON.stringify(data ?? null));
}

/** {@link payloadBytes} of a payload whose JSON the caller already has (a log that stores it), without stringifying it again. */
export function jsonBytes(json: string): number {
  return utf8Length(json);
}
