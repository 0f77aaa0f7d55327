import {
  type AppendResult,
  DEFAULT_RETENTION,
  type Delivery,
  type DeliveryLog,
  newDelivery,
  isKeyRemembered,
  isRetained,
  jsonBytes,
  type NewDelivery,
  type ReplayResult,
  type RetentionFloor,
  retentionFloor,
  type RetentionPolicy,
} from "../host.ts";

/** A delivery's JSON is cut into parts this long (UTF-16 units), so that no KV value passes Deno KV's 64 KiB limit. */
const PART_CHARS = 16 * 1024;
/** Mutations per atomic commit, under Deno KV's limit (1000) with room to spare. */
const MUTATIONS_PER_COMMIT = 200;
/**
 * Bytes per atomic commit, as {@link mutationBytes} bounds them from above,
 * under Deno KV's 800 KiB a commit (keys and values, a set's key counted
 * twice): a push of up to 1 MiB, or 100 messages of 9 KiB, is written in
 * several commits of parts before the one that moves `meta`.
 */
const BYTES_PER_COMMIT = 640 * 1024;
/** Key bytes per atomic commit, under Deno KV's 80 KiB with room to spare. */
const KEY_BYTES_PER_COMMIT = 64 * 1024;

/** The log's state: its epoch, the latest `seq` (which only grows) and the payload bytes it was ever given (the next delivery's `base`). */
interface Meta {
  readonly epoch: string;
  readonly seq: number;
  /** Absent in a log written before the shared retention rule: then its `bytes` (kept bytes) stands in. */
  readonly end?: number;
  readonly bytes?: number;
}

/** The first part of a delivery, with what the rest of the log needs to know about it. */
interface Head {
  readonly at: number;
  readonly from: string | null;
  /** The user whose hub sent it (`hub.users.deliver`); absent when none did, and in a delivery written before deliveries between users. */
  readonly fromUser?: string;
  /** On the sender's own copy, the user it went to; absent otherwise. */
  readonly toUser?: string;
  readonly bytes: number;
  /** Payload bytes given to the log before this delivery; absent in a delivery written before the shared retention rule (then the byte bound spares it). */
  readonly base?: number;
  readonly parts: number;
  readonly json: string;
}

/** The log's state, failed: the store was changed by someone else (another process writing the same user's log). */
export class KvLogConflictError extends Error {
  override readonly name = "KvLogConflictError";
}

/**
 * A user's {@link DeliveryLog} in Deno KV (`Deno.openKv`, a local SQLite file
 * or Deno Deploy's store): the same sequence, epoch and idempotency rules as
 * the Durable Object's SQLite log, and the same retention code
 * (`retentionFloor`), so a client resumes the same way on either host.
 *
 * Layout under `[...prefix, userId]`: `meta` → {@link Meta}; `log, seq, part`
 * → the delivery's JSON in parts (part 0 carries time, sender and size);
 * `key, idempotencyKey` → the seqs it was given, expiring with the retention
 * age. A delivery's parts are written before `meta` moves on (in as many
 * commits as Deno KV's 800 KiB a commit needs), so a `seq` is taken for good
 * only once all of it is stored; parts of a failed append are never read.
 *
 * One process writes a user's log (the {@link LocalHubNamespace} that holds
 * the user's hub); calls are applied in the order they are made. A commit
 * that finds `meta` changed under it fails with {@link KvLogConflictError}
 * instead of reusing a `seq`.
 *
 * @example
 * ```ts
 * const kv = await Deno.openKv("./userhub.kv");
 * const hubs = new LocalHubNamespace({ log: (userId, config) => new KvDeliveryLog(kv, userId, retentionOf(config)) });
 * ```
 */
export class KvDeliveryLog implements DeliveryLog {
  readonly #kv: Deno.Kv;
  readonly #root: Deno.KvKey;
  readonly #retention: RetentionPolicy;
  #meta: Deno.KvEntryMaybe<Meta> | undefined;
  #tail: Promise<unknown> = Promise.resolve();
  /** The latest time the log was told (an append's `at`, a prune's or a read's `now`): its clock for the age bound. */
  #lastNow: number | null = null;
  readonly #clock: () => number;

  /** `options.clock`: what "now" is for the age bound before the log has been told a time (default `Date.now`). */
  constructor(kv: Deno.Kv, userId: string, retention: Partial<RetentionPolicy> = {}, options: { prefix?: Deno.KvKey; clock?: () => number } = {}) {
    this.#kv = kv;
    this.#clock = options.clock ?? Date.now;
    this.#root = [...(options.prefix ?? ["userhub"]), userId];
    this.#retention = { ...DEFAULT_RETENTION, ...retention };
  }

  epoch(): Promise<string> {
    return this.#serial(async () => (await this.#state()).epoch);
  }

  latestSeq(): Promise<number> {
    return this.#serial(async () => (await this.#state()).seq);
  }

  oldestSeq(now?: number): Promise<number> {
    return this.#serial(async () => {
      if (now !== undefined) this.#tell(now);
      return await this.#oldest(await this.#floor());
    });
  }

  append(entries: readonly NewDelivery[], at: number, idempotencyKey?: string): Promise<AppendResult> {
    return this.#serial(async () => {
      this.#tell(at);
      const meta = await this.#state();
      const seen = idempotencyKey === undefined ? null : await this.#seqsOf(idempotencyKey, at);
      if (seen) return { seqs: seen, deliveries: [], duplicate: true };
      const deliveries = entries.map((entry, i) => newDelivery(meta.seq + 1 + i, at, entry.data, entry));
      const writes: [Deno.KvKey, unknown][] = [];
      let end = endOf(meta);
      for (const [i, delivery] of deliveries.entries()) {
        const json = entries[i]!.json ?? JSON.stringify(delivery.data ?? null);
        const size = jsonBytes(json);
        const parts = Math.max(1, Math.ceil(json.length / PART_CHARS));
        const head: Head = {
          at,
          from: delivery.from ?? null,
          ...(delivery.fromUser ? { fromUser: delivery.fromUser } : {}),
          ...(delivery.toUser ? { toUser: delivery.toUser } : {}),
          bytes: size,
          base: end,
          parts,
          json: json.slice(0, PART_CHARS),
        };
        end += size;
        writes.push([[...this.#root, "log", delivery.seq, 0], head]);
        for (let p = 1; p < parts; p++) {
          writes.push([[...this.#root, "log", delivery.seq, p], json.slice(p * PART_CHARS, (p + 1) * PART_CHARS)]);
        }
      }
      // Parts are invisible until `meta` moves past their seq (below), so spreading them over commits takes nothing from
      // the log's atomicity: a failed append leaves parts no read reaches (past `meta`, then past the head of the next
      // delivery to take that seq, which counts its own parts), and prune removes them with the seq.
      for (const chunk of commitChunks(writes)) {
        const op = this.#kv.atomic();
        for (const [key, value] of chunk) op.set(key, value);
        await this.#commit(op);
      }
      const seqs = deliveries.map((d) => d.seq);
      const next: Meta = { epoch: meta.epoch, seq: meta.seq + deliveries.length, end };
      const op = this.#advance(next);
      if (idempotencyKey !== undefined) op.set([...this.#root, "key", idempotencyKey], { seqs, at }, { expireIn: this.#retention.ageMs });
      await this.#commitMeta(op, next);
      return { seqs, deliveries, duplicate: false };
    });
  }

  since(seq: number, now?: number): Promise<ReplayResult> {
    return this.#serial(async () => {
      if (now !== undefined) this.#tell(now);
      const latest = (await this.#state()).seq;
      const oldest = await this.#oldest(await this.#floor());
      if (seq > latest || seq < oldest - 1) return { kind: "gap", oldest, latest };
      const deliveries: Delivery[] = [];
      let head: { seq: number; head: Head; rest: string[] } | null = null;
      const finish = () => {
        if (head) deliveries.push(toDelivery(head.seq, head.head, head.rest));
      };
      const iterator = this.#kv.list<Head | string>({ start: [...this.#root, "log", Math.max(seq + 1, oldest)], end: [...this.#root, "log", latest + 1] });
      for await (const entry of iterator) {
        const [entrySeq, part] = entry.key.slice(-2) as [number, number];
        if (part === 0) {
          finish();
          head = { seq: entrySeq, head: entry.value as Head, rest: [] };
        } else if (head && head.seq === entrySeq && part < head.head.parts) {
          // Parts past the head's count are left over from a failed append of the same seq: never part of this delivery.
          head.rest.push(entry.value as string);
        }
      }
      finish();
      return { kind: "replay", deliveries };
    });
  }

  prune(now: number): Promise<void> {
    return this.#serial(async () => {
      this.#tell(now);
      const cutoff = await this.#oldest(await this.#floor());
      const doomed: Deno.KvKey[] = [];
      for await (const entry of this.#kv.list({ start: [...this.#root, "log"], end: [...this.#root, "log", cutoff] })) doomed.push(entry.key);
      for (const chunk of commitChunks(doomed.map((key) => [key, undefined] as const))) {
        const op = this.#kv.atomic();
        for (const [key] of chunk) op.delete(key);
        await this.#commit(op);
      }
    });
  }

  remembered(idempotencyKey: string, now: number): Promise<readonly number[] | null> {
    return this.#serial(() => this.#seqsOf(idempotencyKey, now));
  }

  /** The seqs `idempotencyKey` was given, if it is still remembered at `now`; null if not. */
  async #seqsOf(idempotencyKey: string, now: number): Promise<number[] | null> {
    const seen = await this.#kv.get<{ seqs: number[]; at: number }>([...this.#root, "key", idempotencyKey]);
    return seen.value && isKeyRemembered(this.#retention, seen.value.at, now) ? seen.value.seqs : null;
  }

  /** Runs `work` after every earlier call, so appends and prunes never interleave. */
  #serial<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(work);
    this.#tail = result.catch(() => {});
    return result;
  }

  async #state(): Promise<Meta> {
    if (this.#meta?.value) return this.#meta.value;
    const stored = await this.#kv.get<Meta>([...this.#root, "meta"]);
    if (stored.value) {
      this.#meta = stored;
      return stored.value;
    }
    // A new log: a new epoch. `check` keeps two first appends from both creating one.
    const fresh: Meta = { epoch: crypto.randomUUID(), seq: 0, end: 0 };
    const op = this.#kv.atomic().check(stored).set([...this.#root, "meta"], fresh);
    await this.#commit(op);
    this.#meta = await this.#kv.get<Meta>([...this.#root, "meta"]);
    return this.#meta.value!;
  }

  /** Where retention cuts now (the rule every log shares). */
  async #floor(): Promise<RetentionFloor> {
    const meta = await this.#state();
    return retentionFloor(this.#retention, this.#lastNow ?? this.#clock(), meta.seq, endOf(meta));
  }

  /** The first delivery kept under `floor`, or latest + 1 when none is. */
  async #oldest(floor: RetentionFloor): Promise<number> {
    const latest = (await this.#state()).seq;
    const start = Math.max(1, floor.seq);
    for await (const entry of this.#kv.list<Head | string>({ start: [...this.#root, "log", start], end: [...this.#root, "log", latest + 1] })) {
      const [seq, part] = entry.key.slice(-2) as [number, number];
      if (part !== 0) continue;
      const head = entry.value as Head;
      if (isRetained(floor, { seq, at: head.at, base: head.base ?? Number.POSITIVE_INFINITY })) return seq;
    }
    return latest + 1;
  }

  #tell(now: number): void {
    if (this.#lastNow === null || now > this.#lastNow) this.#lastNow = now;
  }

  /** An atomic operation that moves `meta` to `next` only if nobody else moved it. */
  #advance(next: Meta): Deno.AtomicOperation {
    return this.#kv.atomic().check(this.#meta!).set([...this.#root, "meta"], next);
  }

  async #commitMeta(op: Deno.AtomicOperation, next: Meta): Promise<void> {
    const result = await op.commit();
    if (!result.ok) {
      this.#meta = undefined;
      throw new KvLogConflictError("the delivery log changed under this process (is another process writing this user's log?)");
    }
    this.#meta = { key: [...this.#root, "meta"], value: next, versionstamp: result.versionstamp };
  }

  async #commit(op: Deno.AtomicOperation): Promise<void> {
    const result = await op.commit();
    if (!result.ok) throw new KvLogConflictError("a delivery log write was refused");
  }
}

function toDelivery(seq: number, head: Head, rest: readonly string[]): Delivery {
  const data = JSON.parse(head.json + rest.join("")) as unknown;
  return newDelivery(seq, head.at, data, head);
}

/** Payload bytes the log was ever given: the next delivery's `base`. */
function endOf(meta: Meta): number {
  return meta.end ?? meta.bytes ?? 0;
}

/**
 * Splits `mutations` (a set with its value, a delete with `undefined`) into
 * runs that each fit one Deno KV commit: at most {@link MUTATIONS_PER_COMMIT}
 * mutations, {@link BYTES_PER_COMMIT} bytes and {@link KEY_BYTES_PER_COMMIT}
 * key bytes, counted from above. A single mutation always fits (a part is at
 * most 16 Ki UTF-16 units).
 */
function commitChunks<T extends readonly [Deno.KvKey, unknown]>(mutations: readonly T[]): T[][] {
  const chunks: T[][] = [];
  let chunk: T[] = [];
  let bytes = 0;
  let keyBytes = 0;
  for (const mutation of mutations) {
    const key = kvKeyBytes(mutation[0]);
    const size = mutationBytes(key, mutation[1]);
    if (chunk.length > 0 && (chunk.length === MUTATIONS_PER_COMMIT || bytes + size > BYTES_PER_COMMIT || keyBytes + key > KEY_BYTES_PER_COMMIT)) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
      keyBytes = 0;
    }
    chunk.push(mutation);
    bytes += size;
    keyBytes += key;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/**
 * What one mutation counts against Deno KV's bytes per commit, at most: the
 * key twice for a set (Deno counts a set's key with its value as well as
 * alone), the key once for a delete, and the value as V8 serializes it.
 */
function mutationBytes(keyBytes: number, value: unknown): number {
  return value === undefined ? keyBytes : 2 * keyBytes + valueBytes(value);
}

/** A key's size as Deno KV encodes it, at most: a string's UTF-8 (3 bytes a UTF-16 unit at most) and two bytes, a number's 9. */
function kvKeyBytes(key: Deno.KvKey): number {
  let bytes = 0;
  for (const part of key) bytes += typeof part === "string" ? 3 * part.length + 2 : 16;
  return bytes;
}

/**
 * A value's size as V8 serializes it for Deno KV, at most: a string 2 bytes
 * a UTF-16 unit (one byte where V8 keeps it one-byte, which JavaScript cannot
 * see), plus a few bytes of tags and lengths for every value and field.
 */
function valueBytes(value: unknown): number {
  if (typeof value === "string") return 2 * value.length + 16;
  if (typeof value === "object" && value !== null) {
    let bytes = 16;
    for (const [field, item] of Object.entries(value)) bytes += 2 * field.length + 16 + valueBytes(item);
    return bytes;
  }
  return 16;
}
