import type { RevocationWatermark } from "../src/host.ts";

/**
 * The user's revocation watermark in the Durable Object's SQLite storage:
 * one row, kept across hibernation, eviction and restarts. The object is
 * its only writer, so the value read once is kept in memory after that.
 */
export class SqliteRevocationWatermark implements RevocationWatermark {
  readonly #sql: SqlStorage;
  #cached: number | null | undefined;

  // Nothing runs at construction: a hub woken from hibernation by a message never reads the watermark, and a statement is CPU it would pay on every wake.
  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  read(): number | null {
    if (this.#cached === undefined) {
      try {
        this.#cached = this.#sql.exec<{ at: number }>("SELECT tokens_issued_before AS at FROM userhub_revocation WHERE id = 1").toArray()[0]?.at ?? null;
      } catch (error) {
        // No table yet: nothing was ever revoked.
        if (!String(error).includes("no such table")) throw error;
        this.#cached = null;
      }
    }
    return this.#cached;
  }

  raise(at: number): void {
    const current = this.read();
    if (current !== null && current >= at) return;
    this.#sql.exec("CREATE TABLE IF NOT EXISTS userhub_revocation (id INTEGER PRIMARY KEY CHECK (id = 1), tokens_issued_before INTEGER NOT NULL)");
    this.#sql.exec("INSERT OR REPLACE INTO userhub_revocation (id, tokens_issued_before) VALUES (1, ?)", at);
    this.#cached = at;
  }
}
