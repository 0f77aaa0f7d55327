import { type AppendResult, type Delivery, type DeliveryLog, jsonBytes, type NewDelivery, type ReplayResult, type RetentionPolicy } from "../src/index.ts";

/**
 * How far past a retention bound the log may grow before it is pruned back to
 * the bound: 1/16 of it. Pruning in batches makes a delivery cost one INSERT,
 * not an INSERT and a DELETE (SQLite rows are what a Durable Object is billed
 * for); a small bound (under 16) is kept exactly.
 */
const PRUNE_SLACK_SHARE = 1 / 16;

type Row = { seq: number; at: number; sender: string | null; data: string };

/**
 * A user's {@link DeliveryLog} in the Durable Object's SQLite storage. Writes
 * are synchronous and the runtime's output gate holds every frame until they
 * are durable, so a client never sees a `seq` that a crash could take back.
 *
 * A delivery is one INSERT. The latest `seq` is the log's largest row, and
 * each prune records it (and the bytes kept) in a meta table, so the sequence
 * only grows even when retention has pruned every row, and a hub woken from
 * hibernation reads a handful of rows to know where it stands, not the log.
 */
export class SqliteDeliveryLog implements DeliveryLog {
  readonly #sql: SqlStorage;
  readonly #retention: RetentionPolicy;
  readonly #epoch: string;
  #latest: number;
  #oldest: number;
  #bytes: number;
  #lastAgeCheck = 0;

  constructor(sql: SqlStorage, retention: RetentionPolicy) {
    this.#sql = sql;
    this.#retention = retention;
    sql.exec(`CREATE TABLE IF NOT EXISTS userhub_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS userhub_log (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, sender TEXT, data TEXT NOT NULL, bytes INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS userhub_idempotency (key TEXT PRIMARY KEY, seqs TEXT NOT NULL, at INTEGER NOT NULL);`);
    const meta = new Map(sql.exec<{ key: string; value: string }>("SELECT key, value FROM userhub_meta").toArray().map((r) => [r.key, r.value]));
    this.#epoch = meta.get("epoch") ?? crypto.randomUUID();
    if (!meta.has("epoch")) sql.exec("INSERT INTO userhub_meta (key, value) VALUES ('epoch', ?), ('seq', '0'), ('bytes', '0')", this.#epoch);
    else if (!meta.has("bytes")) {
      // A log written before the meta table kept the bytes: count them once, as of the seq it recorded.
      const total = sql.exec<{ total: number | null }>("SELECT SUM(bytes) AS total FROM userhub_log WHERE seq <= ?", Number(meta.get("seq") ?? 0)).one().total ?? 0;
      sql.exec("INSERT INTO userhub_meta (key, value) VALUES ('bytes', ?)", String(total));
      meta.set("bytes", String(total));
    }
    // The meta row holds the seq and bytes as of the last prune; only rows added since are read.
    const checkpoint = Number(meta.get("seq") ?? 0);
    const since = sql
      .exec<{ latest: number | null; bytes: number | null }>("SELECT MAX(seq) AS latest, SUM(bytes) AS bytes FROM userhub_log WHERE seq > ?", checkpoint)
      .one();
    this.#latest = Math.max(checkpoint, since.latest ?? 0);
    this.#bytes = Number(meta.get("bytes") ?? 0) + (since.bytes ?? 0);
    this.#oldest = sql.exec<{ seq: number | null }>("SELECT MIN(seq) AS seq FROM userhub_log").one().seq ?? this.#latest + 1;
  }

  epoch(): string {
    return this.#epoch;
  }

  latestSeq(): number {
    return this.#latest;
  }

  oldestSeq(): number {
    return this.#oldest;
  }

  append(entries: readonly NewDelivery[], at: number, idempotencyKey?: string): AppendResult {
    if (idempotencyKey !== undefined) {
      const seen = this.#sql.exec<{ seqs: string; at: number }>("SELECT seqs, at FROM userhub_idempotency WHERE key = ?", idempotencyKey).toArray()[0];
      if (seen && at - seen.at < this.#retention.ageMs) return { seqs: JSON.parse(seen.seqs) as number[], deliveries: [], duplicate: true };
    }
    const deliveries: Delivery[] = [];
    for (const entry of entries) {
      const seq = this.#latest + 1;
      const json = entry.json ?? JSON.stringify(entry.data ?? null);
      const bytes = jsonBytes(json);
      this.#sql.exec("INSERT INTO userhub_log (seq, at, sender, data, bytes) VALUES (?, ?, ?, ?, ?)", seq, at, entry.from ?? null, json, bytes);
      this.#latest = seq;
      this.#bytes += bytes;
      deliveries.push({ seq, at, data: entry.data, ...(entry.from ? { from: entry.from } : {}) });
    }
    const seqs = deliveries.map((d) => d.seq);
    if (idempotencyKey !== undefined) {
      this.#sql.exec("INSERT OR REPLACE INTO userhub_idempotency (key, seqs, at) VALUES (?, ?, ?)", idempotencyKey, JSON.stringify(seqs), at);
    }
    return { seqs, deliveries, duplicate: false };
  }

  since(seq: number): ReplayResult {
    const oldest = this.#oldest;
    if (seq > this.#latest || seq < oldest - 1) return { kind: "gap", oldest, latest: this.#latest };
    const rows = this.#sql.exec<Row>("SELECT seq, at, sender, data FROM userhub_log WHERE seq > ? ORDER BY seq", seq).toArray();
    return { kind: "replay", deliveries: rows.map(toDelivery) };
  }

  prune(now: number): void {
    const { count, ageMs, bytes } = this.#retention;
    let cutoff = 0;
    if (this.#latest - this.#oldest + 1 > count + slack(count)) cutoff = this.#latest - count;
    if (this.#bytes > bytes + slack(bytes)) {
      const row = this.#sql
        .exec<{ seq: number | null }>(
          "SELECT MAX(seq) AS seq FROM (SELECT seq, SUM(bytes) OVER (ORDER BY seq DESC) AS kept FROM userhub_log) WHERE kept > ?",
          bytes,
        )
        .one();
      if (row.seq !== null) cutoff = Math.max(cutoff, row.seq);
    }
    // Age: at most once a second, and a scan only when the oldest row is too old (seq order is time order).
    if (now - this.#lastAgeCheck >= 1000) {
      this.#lastAgeCheck = now;
      const oldest = this.#sql.exec<{ at: number }>("SELECT at FROM userhub_log ORDER BY seq LIMIT 1").toArray()[0];
      if (oldest && oldest.at < now - ageMs) {
        const row = this.#sql.exec<{ seq: number | null }>("SELECT MAX(seq) AS seq FROM userhub_log WHERE at < ?", now - ageMs).one();
        if (row.seq !== null) cutoff = Math.max(cutoff, row.seq);
      }
      this.#sql.exec("DELETE FROM userhub_idempotency WHERE at <= ?", now - ageMs);
    }
    if (cutoff < this.#oldest) return;
    const removed = this.#sql.exec<{ bytes: number }>("DELETE FROM userhub_log WHERE seq <= ? RETURNING bytes", cutoff).toArray();
    for (const row of removed) this.#bytes -= row.bytes;
    this.#oldest = cutoff + 1;
    this.#sql.exec("INSERT OR REPLACE INTO userhub_meta (key, value) VALUES ('seq', ?), ('bytes', ?)", String(this.#latest), String(this.#bytes));
  }

  /** The deliveries still kept, oldest first. */
  entries(): Delivery[] {
    return this.#sql.exec<Row>("SELECT seq, at, sender, data FROM userhub_log ORDER BY seq").toArray().map(toDelivery);
  }
}

function slack(bound: number): number {
  return Math.floor(bound * PRUNE_SLACK_SHARE);
}

function toDelivery(row: Row): Delivery {
  return { seq: row.seq, at: row.at, data: JSON.parse(row.data), ...(row.sender ? { from: row.sender } : {}) };
}
