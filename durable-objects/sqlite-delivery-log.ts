import type { Delivery, DeliveryLog } from "../src/index.ts";

/**
 * A user's {@link DeliveryLog} in the Durable Object's SQLite storage. Writes
 * are synchronous and coalesced by the runtime's output gate, so a delivery
 * is durable before its frames leave the hub.
 */
export class SqliteDeliveryLog implements DeliveryLog {
  readonly #sql: SqlStorage;
  readonly #retention: number;
  #latest: number;

  constructor(sql: SqlStorage, retention: number) {
    this.#sql = sql;
    this.#retention = retention;
    sql.exec(
      "CREATE TABLE IF NOT EXISTS userhub_log (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, sender TEXT, data TEXT NOT NULL)",
    );
    // Retention keeps at least one row, so the newest row always carries the latest seq.
    this.#latest = Number(sql.exec("SELECT COALESCE(MAX(seq), 0) AS seq FROM userhub_log").one().seq);
  }

  append(entry: { data: unknown; at: number; from?: string }): Delivery {
    const seq = this.#latest + 1;
    this.#sql.exec("INSERT INTO userhub_log (seq, at, sender, data) VALUES (?, ?, ?, ?)", seq, entry.at, entry.from ?? null, JSON.stringify(entry.data ?? null));
    this.#latest = seq;
    if (seq > this.#retention) this.#sql.exec("DELETE FROM userhub_log WHERE seq <= ?", seq - this.#retention);
    return { seq, at: entry.at, data: entry.data, ...(entry.from ? { from: entry.from } : {}) };
  }

  latestSeq(): number {
    return this.#latest;
  }

  /** The deliveries still kept, oldest first. */
  entries(): Delivery[] {
    return this.#sql
      .exec<{ seq: number; at: number; sender: string | null; data: string }>("SELECT seq, at, sender, data FROM userhub_log ORDER BY seq")
      .toArray()
      .map((row) => ({ seq: row.seq, at: row.at, data: JSON.parse(row.data), ...(row.sender ? { from: row.sender } : {}) }));
  }
}
