import { type Identity } from "../src/index.ts";
import { newTicket, type TicketStore } from "../src/host.ts";

/**
 * Connect tickets in the user's Durable Object. Redeeming is one
 * `DELETE … RETURNING` inside the object's single thread, so a ticket is
 * good for exactly one upgrade however many arrive at once.
 */
export class SqliteTicketStore implements TicketStore {
  readonly #sql: SqlStorage;
  #ready = false;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  async issue(identity: Identity, now: number, ttlMs: number): Promise<string> {
    this.#ensureTable();
    this.#sql.exec("DELETE FROM userhub_tickets WHERE expires_at <= ?", now);
    const ticket = newTicket(identity.userId);
    this.#sql.exec(
      "INSERT INTO userhub_tickets (ticket, user_id, token_expires_at, expires_at, token_issued_at, session_id) VALUES (?, ?, ?, ?, ?, ?)",
      ticket,
      identity.userId,
      identity.expiresAt,
      now + ttlMs,
      identity.issuedAt ?? null,
      identity.sessionId ?? null,
    );
    return ticket;
  }

  async redeem(ticket: string, now: number): Promise<Identity | null> {
    this.#ensureTable();
    const row = this.#sql
      .exec<{ user_id: string; token_expires_at: number | null; expires_at: number; token_issued_at: number | null; session_id: string | null }>(
        "DELETE FROM userhub_tickets WHERE ticket = ? RETURNING user_id, token_expires_at, expires_at, token_issued_at, session_id",
        ticket,
      )
      .toArray()[0];
    if (!row || row.expires_at <= now) return null;
    return { userId: row.user_id, expiresAt: row.token_expires_at, issuedAt: row.token_issued_at, sessionId: row.session_id };
  }

  async revokeAll(): Promise<void> {
    this.#ensureTable();
    this.#sql.exec("DELETE FROM userhub_tickets");
  }

  /** On first use, not in the constructor: a hub woken for a message or an alarm never touches tickets, so it runs no statement for them. */
  #ensureTable(): void {
    if (this.#ready) return;
    const sql = this.#sql;
    sql.exec(
      "CREATE TABLE IF NOT EXISTS userhub_tickets (ticket TEXT PRIMARY KEY, user_id TEXT NOT NULL, token_expires_at INTEGER, expires_at INTEGER NOT NULL, token_issued_at INTEGER, session_id TEXT)",
    );
    // A table made before tickets kept the token's iat and sid gets the two columns (tickets live seconds; none is lost).
    const columns = sql.exec<{ name: string }>("SELECT name FROM pragma_table_info('userhub_tickets')").toArray().map((c) => c.name);
    if (!columns.includes("token_issued_at")) sql.exec("ALTER TABLE userhub_tickets ADD COLUMN token_issued_at INTEGER");
    if (!columns.includes("session_id")) sql.exec("ALTER TABLE userhub_tickets ADD COLUMN session_id TEXT");
    this.#ready = true;
  }
}
