import {
  type AppendResult,
  DEFAULT_RETENTION,
  type Delivery,
  type DeliveryLog,
  jsonBytes,
  type NewDelivery,
  type ReplayResult,
  type RetentionPolicy,
} from "../index.ts";

/** A delivery's JSON is cut into parts this long (UTF-16 units), so that no KV value passes Deno KV's 64 KiB limit. */
const PART_CHARS = 16 * 1024;
/** Mutations per atomic commit, under Deno KV's limits (1000 mutations, 800 KiB) with room to spare. */
const MUTATIONS_PER_COMMIT = 200;

/** The log's state: its epoch, the latest `seq` (which only grows) and the payload bytes it keeps. */
interface Meta {
  readonly epoch: string;
  readonly seq: number;
  readonly bytes: number;
}

/** The first part of a delivery, with what the rest of the log needs to know about it. */
interface Head {
  readonly at: number;
  readonly from: string | null;
  readonly bytes: number;
  readonly parts: number;
  readonly json: string;
}

/** The log's state, failed: the store was changed by someone else (another process writing the same user's log). */
export class KvLogConflictError extends Error {
  override readonly name = "KvLogConflictError";
}

/**
 * A user's {@link DeliveryLog} in Deno KV (`Deno.openKv`, a local SQLite file
 * or Deno Deploy's store): the same sequence, epoch, retention and
 * idempotency rules as the Durable Object's SQLite log, so a client resumes
 * the same way on either host.
 *
 * Layout under `[...prefix, userId]`: `meta` → {@link Meta}; `log, seq, part`
 * → the delivery's JSON in parts (part 0 carries time, sender and size);
 * `key, idempotencyKey` → the seqs it was given, expiring with the retention
 * age. A delivery's parts are written before `meta` moves on, so a `seq` is
 * taken for good only once all of it is stored.
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
  #lastAgePrune = 0;

  constructor(kv: Deno.Kv, userId: string, retention: Partial<RetentionPolicy> = {}, options: { prefix?: Deno.KvKey } = {}) {
    this.#kv = kv;
    this.#root = [...(options.prefix ?? ["userhub"]), userId];
    this.#retention = { ...DEFAULT_RETENTION, ...retention };
  }

  epoch(): Promise<string> {
    return this.#serial(async () => (await this.#state()).epoch);
  }

  latestSeq(): Promise<number> {
    return this.#serial(async () => (await this.#state()).seq);
  }

  oldestSeq(): Promise<number> {
    return this.#serial(() => this.#oldest());
  }

  append(entries: readonly NewDelivery[], at: number, idempotencyKey?: string): Promise<AppendResult> {
    return this.#serial(async () => {
      const meta = await this.#state();
      if (idempotencyKey !== undefined) {
        const seen = await this.#kv.get<{ seqs: number[]; at: number }>([...this.#root, "key", idempotencyKey]);
        if (seen.value && at - seen.value.at < this.#retention.ageMs) return { seqs: seen.value.seqs, deliveries: [], duplicate: true };
      }
      const deliveries = entries.map((entry, i): Delivery => ({
        seq: meta.seq + 1 + i,
        at,
        data: entry.data,
        ...(entry.from ? { from: entry.from } : {}),
      }));
      const writes: [Deno.KvKey, unknown][] = [];
      let bytes = 0;
      for (const [i, delivery] of deliveries.entries()) {
        const json = entries[i]!.json ?? JSON.stringify(delivery.data ?? null);
        const size = jsonBytes(json);
        bytes += size;
        const parts = Math.max(1, Math.ceil(json.length / PART_CHARS));
        const head: Head = { at, from: delivery.from ?? null, bytes: size, parts, json: json.slice(0, PART_CHARS) };
        writes.push([[...this.#root, "log", delivery.seq, 0], head]);
        for (let p = 1; p < parts; p++) {
          writes.push([[...this.#root, "log", delivery.seq, p], json.slice(p * PART_CHARS, (p + 1) * PART_CHARS)]);
        }
      }
      for (let i = 0; i < writes.length; i += MUTATIONS_PER_COMMIT) {
        const op = this.#kv.atomic();
        for (const [key, value] of writes.slice(i, i + MUTATIONS_PER_COMMIT)) op.set(key, value);
        await this.#commit(op);
      }
      const seqs = deliveries.map((d) => d.seq);
      const op = this.#advance({ ...meta, seq: meta.seq + deliveries.length, bytes: meta.bytes + bytes });
      if (idempotencyKey !== undefined) op.set([...this.#root, "key", idempotencyKey], { seqs, at }, { expireIn: this.#retention.ageMs });
      await this.#commitMeta(op, { ...meta, seq: meta.seq + deliveries.length, bytes: meta.bytes + bytes });
      return { seqs, deliveries, duplicate: false };
    });
  }

  since(seq: number): Promise<ReplayResult> {
    return this.#serial(async () => {
      const latest = (await this.#state()).seq;
      const oldest = await this.#oldest();
      if (seq > latest || seq < oldest - 1) return { kind: "gap", oldest, latest };
      const deliveries: Delivery[] = [];
      let head: { seq: number; head: Head; rest: string[] } | null = null;
      const finish = () => {
        if (head) deliveries.push(toDelivery(head.seq, head.head, head.rest));
      };
      const iterator = this.#kv.list<Head | string>({ start: [...this.#root, "log", seq + 1], end: [...this.#root, "log", latest + 1] });
      for await (const entry of iterator) {
        const [entrySeq, part] = entry.key.slice(-2) as [number, number];
        if (part === 0) {
          finish();
          head = { seq: entrySeq, head: entry.value as Head, rest: [] };
        } else if (head && head.seq === entrySeq) {
          head.rest.push(entry.value as string);
        }
      }
      finish();
      return { kind: "replay", deliveries };
    });
  }

  prune(now: number): Promise<void> {
    return this.#serial(async () => {
      const meta = await this.#state();
      const { count, ageMs, bytes } = this.#retention;
      let cutoff = meta.seq - count;
      if (meta.bytes > bytes) {
        // Newest first: everything older than what still fits goes.
        let kept = 0;
        for await (const entry of this.#kv.list<Head>({ prefix: [...this.#root, "log"] }, { reverse: true })) {
          const [entrySeq, part] = entry.key.slice(-2) as [number, number];
          if (part !== 0) continue;
          kept += entry.value.bytes;
          if (kept > bytes) {
            cutoff = Math.max(cutoff, entrySeq);
            break;
          }
        }
      }
      // Age needs a scan from the oldest; like the SQLite log, at most once a second.
      if (now - this.#lastAgePrune >= 1000) {
        this.#lastAgePrune = now;
        for await (const entry of this.#kv.list<Head>({ prefix: [...this.#root, "log"] })) {
          const [entrySeq, part] = entry.key.slice(-2) as [number, number];
          if (part !== 0) continue;
          if (entry.value.at >= now - ageMs) break;
          cutoff = Math.max(cutoff, entrySeq);
        }
      }
      if (cutoff < 1) return;
      const doomed: Deno.KvKey[] = [];
      let freed = 0;
      for await (const entry of this.#kv.list<Head | string>({ start: [...this.#root, "log"], end: [...this.#root, "log", cutoff + 1] })) {
        doomed.push(entry.key);
        if ((entry.key.at(-1) as number) === 0) freed += (entry.value as Head).bytes;
      }
      if (doomed.length === 0) return;
      for (let i = 0; i < doomed.length; i += MUTATIONS_PER_COMMIT) {
        const op = this.#kv.atomic();
        for (const key of doomed.slice(i, i + MUTATIONS_PER_COMMIT)) op.delete(key);
        await this.#commit(op);
      }
      const next = { ...meta, bytes: Math.max(0, meta.bytes - freed) };
      await this.#commitMeta(this.#advance(next), next);
    });
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
    const fresh: Meta = { epoch: crypto.randomUUID(), seq: 0, bytes: 0 };
    const op = this.#kv.atomic().check(stored).set([...this.#root, "meta"], fresh);
    await this.#commit(op);
    this.#meta = await this.#kv.get<Meta>([...this.#root, "meta"]);
    return this.#meta.value!;
  }

  async #oldest(): Promise<number> {
    for await (const entry of this.#kv.list({ prefix: [...this.#root, "log"] }, { limit: 1 })) return entry.key.at(-2) as number;
    return (await this.#state()).seq + 1;
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
  return { seq, at: head.at, data, ...(head.from ? { from: head.from } : {}) };
}
