import { type AppendResult, type Delivery, type DeliveryLog, type NewDelivery, payloadBytes, type ReplayResult, type RetentionPolicy } from "../src/index.ts";

/**
 * A user's {@link DeliveryLog} in the Durable Object's SQLite storage. Writes
 * are synchronous and the runtime's output gate holds every frame until they
 * are durable, so a client never sees a `seq` that a crash could take back.
 * The latest `seq` and the epoch live in a meta table, so the sequence only
 * grows even when retention has pruned every row.
 */
export class SqliteDeliveryLog implements DeliveryLog {
  readonly #sql: SqlStorage;
  readonly #retention: RetentionPolicy;
  readonly #epoch: string;
  #latest: number;
  #bytes: number;
  #lastAgePrune = 0;

  constructor(sql: SqlStorage, retention: RetentionPolicy) {
    this.#sql = sql;
    this.#retention = retention;
    sql.exec(`CREATE TABLE IF NOT EXISTS userhub_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS userhub_log (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, sender TEXT, data TEXT NOT NULL, bytes INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS userhub_idempotency (key TEXT PRIMARY KEY, seqs TEXT NOT NULL, at INTEGER NOT NULL);`);
    const meta = new Map(sql.exec<{ key: string; value: string }>("SELECT key, value FROM userhub_meta").toArray().map((r) => [r.key, r.value]));
    this.#epoch = meta.get("epoch") ?? crypto.randomUUID();
    this.#latest = Number(meta.get("seq") ?? 0);
    if (!meta.has("epoch")) sql.exec("INSERT INTO userhub_meta (key, value) VALUES ('epoch', ?), ('seq', '0')", this.#epoch);
    this.#bytes = Number(sql.exec("SELECT COALESCE(SUM(bytes), 0) AS total FROM userhub_log").one().total);
  }

  epoch(): string {
    return this.#epoch;
  }

  latestSeq(): number {
    return this.#latest;
  }

  oldestSeq(): number {
    const row = this.#sql.exec<{ seq: number | null }>("SELECT MIN(seq) AS seq FROM userhub_log").one();
    return row.seq ?? this.#latest + 1;
  }

  append(entries: readonly NewDelivery[], at: number, idempotencyKey?: string): AppendResult {
    if (idempotencyKey !== undefined) {
      const seen = this.#sql.exec<{ seqs: string; at: number }>("SELECT seqs, at FROM userhub_idempotency WHERE key = ?", idempotencyKey).toArray()[0];
      if (seen && at - seen.at < this.#retention.ageMs) return { seqs: JSON.parse(seen.seqs) as number[], deliveries: [], duplicate: true };
    }
    const deliveries: Delivery[] = [];
    for (const entry of entries) {
      const seq = ++this.#latest;
      const data = JSON.stringify(entry.data ?? null);
      const bytes = payloadBytes(entry.data);
      this.#sql.exec("INSERT INTO userhub_log (seq, at, sender, data, bytes) VALUES (?, ?, ?, ?, ?)", seq, at, entry.from ?? null, data, bytes);
      this.#bytes += bytes;
      deliveries.push({ seq, at, data: entry.data, ...(entry.from ? { from: entry.from } : {}) });
    }
    this.#sql.exec("UPDATE userhub_meta SET value = ? WHERE key = 'seq'", String(this.#latest));
    const seqs = deliveries.map((d) => d.seq);
    if (idempotencyKey !== undefined) {
      this.#sql.exec("INSERT OR REPLACE INTO userhub_idempotency (key, seqs, at) VALUES (?, ?, ?)", idempotencyKey, JSON.stringify(seqs), at);
    }
    return { seqs, deliveries, duplicate: false };
  }

  since(seq: number): ReplayResult {
    const oldest = this.oldestSeq();
    if (seq > this.#latest || seq < oldest - 1) return { kind: "gap", oldest, latest: this.#latest };
    const rows = this.#sql
      .exec<{ seq: number; at: number; sender: string | null; data: string }>("SELECT seq, at, sender, data FROM userhub_log WHERE seq > ? ORDER BY seq", seq)
      .toArray();
    return { kind: "replay", deliveries: rows.map(toDelivery) };
  }

  prune(now: number): void {
    const { count, ageMs, bytes } = this.#retention;
    // The count bound is one indexed delete; age and bytes need a scan, so they run at most once a second.
    let cutoff = this.#latest - count;
    if (this.#bytes > bytes) {
      const row = this.#sql
        .exec<{ seq: number | null }>(
          "SELECT MAX(seq) AS seq FROM (SELECT seq, SUM(bytes) OVER (ORDER BY seq DESC) AS kept FROM userhub_log) WHERE kept > ?",
          bytes,
        )
        .one();
      if (row.seq !== null) cutoff = Math.max(cutoff, row.seq);
    }
    if (now - this.#lastAgePrune >= 1000) {
      this.#lastAgePrune = now;
      const row = this.#sql.exec<{ seq: number | null }>("SELECT MAX(seq) AS seq FROM userhub_log WHERE at < ?", now - ageMs).one();
      if (row.seq !== null) cutoff = Math.max(cutoff, row.seq);
      this.#sql.exec("DELETE FROM userhub_idempotency WHERE at <= ?", now - ageMs);
    }
    if (cutoff < this.oldestSeq()) return;
    const removed = this.#sql.exec<{ total: number | null }>("SELECT SUM(bytes) AS total FROM userhub_log WHERE seq <= ?", cutoff).one().total ?? 0;
    this.#sql.exec("DELETE FROM userhub_log WHERE seq <= ?", cutoff);
    this.#bytes -= removed;
  }

  /** The deliveries still kept, oldest first. */
  entries(): Delivery[] {
    return this.#sql
      .exec<{ seq: number; at: number; sender: string | null; data: string }>("SELECT seq, at, sender, data FROM userhub_log ORDER BY seq")
      .toArray()
      .map(toDelivery);
  }
}

function toDelivery(row: { seq: number; at: number; sender: string | null; data: string }): Delivery {
  return { seq: row.seq, at: row.at, data: JSON.parse(row.data), ...(row.sender ? { from: row.sender } : {}) };
}
