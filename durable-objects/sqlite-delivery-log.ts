import {
  type AppendResult,
  type Delivery,
  type DeliveryLog,
  deliveryOrigin,
  isKeyRemembered,
  jsonBytes,
  type NewDelivery,
  type ReplayResult,
  retentionFloor,
  type RetentionPolicy,
} from "../src/host.ts";

/**
 * How far past a bound the log may grow before it is cut back: 1/16 of it.
 * Only the byte bound (and a count bound lowered by a new configuration)
 * ever deletes rows, in batches; a small bound (under 16) is kept exactly.
 */
const PRUNE_SLACK_SHARE = 1 / 16;

const SCHEMA = `CREATE TABLE IF NOT EXISTS userhub_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS userhub_deliveries (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, sender TEXT, data TEXT NOT NULL, bytes INTEGER NOT NULL, base INTEGER NOT NULL, from_user TEXT, to_user TEXT);`;

/** The columns added to `userhub_deliveries` after its first version (deliveries between users), added to a table made before them. */
const USER_COLUMNS = "ALTER TABLE userhub_deliveries ADD COLUMN from_user TEXT; ALTER TABLE userhub_deliveries ADD COLUMN to_user TEXT;";

/**
 * Where the log stands, in one statement: its epoch, the seq recorded at the
 * last delete (the log may be empty), and its first and last rows. `base` is
 * the running total of payload bytes before a row, so the bytes kept are
 * `last.base + last.bytes − first.base` without summing the log. It names
 * every column the log uses, so a table made by an earlier version fails it
 * ("no such column") and is brought up to date, at no statement of its own.
 */
const STATE = `SELECT (SELECT value FROM userhub_meta WHERE key = 'epoch') AS epoch,
  (SELECT from_user || to_user FROM userhub_deliveries WHERE 0) AS columnsCheck,
  (SELECT value FROM userhub_meta WHERE key = 'seq') AS checkpoint,
  (SELECT seq FROM userhub_deliveries ORDER BY seq DESC LIMIT 1) AS latest,
  (SELECT base + bytes FROM userhub_deliveries ORDER BY seq DESC LIMIT 1) AS latestEnd,
  (SELECT seq FROM userhub_deliveries ORDER BY seq LIMIT 1) AS first,
  (SELECT base FROM userhub_deliveries ORDER BY seq LIMIT 1) AS firstBase`;

type StateRow = { epoch: string | null; checkpoint: string | null; latest: number | null; latestEnd: number | null; first: number | null; firstBase: number | null };
type Row = { seq: number; at: number; sender: string | null; data: string; from_user: string | null; to_user: string | null };

/**
 * A user's {@link DeliveryLog} in the Durable Object's SQLite storage. Writes
 * are synchronous and the runtime's output gate holds every frame until they
 * are durable, so a client never sees a `seq` that a crash could take back.
 *
 * A delivery is one statement writing one row (SQLite rows written are what
 * a Durable Object is billed for, and a delete is a row written too). The
 * log is a ring of `count` rows: once full, a delivery rewrites its oldest
 * row in place (an UPDATE that gives it the new seq), so the count bound
 * costs no DELETE. What is replayed follows the rule every log shares
 * (`retentionFloor`), applied when the log is read: a delivery older than
 * `ageMs` is never replayed, and its row is rewritten by a later delivery
 * rather than deleted, which would bill a second row per delivery. Past the
 * byte bound, rows the floor no longer covers are deleted in batches (only
 * storage; they were not replayable any more). Idempotency keys live
 * in their own table, written only when a key is given.
 *
 * Nothing runs until the log is first used; then one statement tells it where
 * it stands (the schema is created on the first use ever, when that statement
 * finds no table). So a message to a hub woken from hibernation costs two
 * statements: that one and the delivery's.
 */
export class SqliteDeliveryLog implements DeliveryLog {
  readonly #sql: SqlStorage;
  readonly #retention: RetentionPolicy;
  readonly #clock: () => number;
  #loaded = false;
  #epoch = "";
  /** The latest seq (it survives deleting every row). */
  #latest = 0;
  /** Payload bytes written through `#latest`: the next row's `base`. */
  #latestEnd = 0;
  /** The first row kept on disk (`#latest + 1` when none is); rows are contiguous from it to `#latest`. */
  #first = 1;
  /** At least the bytes kept on disk: exact when loaded or measured, then only grows until measured again. */
  #bytesAtMost = 0;
  /** The latest time the log was told (an append's `at`, a prune's `now`): its clock for the age bound. */
  #lastNow: number | null = null;
  #keysReady = false;
  #keysWritten = false;
  #lastKeyPrune = Number.NEGATIVE_INFINITY;

  /**
   * @param clock What "now" is for the age bound before the log has been told a time (an append's `at`, a prune's `now`). @default Date.now
   */
  constructor(sql: SqlStorage, retention: RetentionPolicy, clock: () => number = Date.now) {
    this.#sql = sql;
    this.#retention = retention;
    this.#clock = clock;
  }

  async epoch(): Promise<string> {
    this.#load();
    return this.#epoch;
  }

  async latestSeq(): Promise<number> {
    this.#load();
    return this.#latest;
  }

  async oldestSeq(): Promise<number> {
    this.#load();
    return this.#oldest(this.#now());
  }

  append(entries: readonly NewDelivery[], at: number, idempotencyKey?: string): AppendResult {
    this.#load();
    this.#tell(at);
    if (idempotencyKey !== undefined) {
      this.#ensureKeys();
      const seen = this.#sql.exec<{ seqs: string; at: number }>("SELECT seqs, at FROM userhub_idempotency WHERE key = ?", idempotencyKey).toArray()[0];
      if (seen && isKeyRemembered(this.#retention, seen.at, at)) return { seqs: JSON.parse(seen.seqs) as number[], deliveries: [], duplicate: true };
    }
    const deliveries: Delivery[] = [];
    for (const entry of entries) {
      const seq = this.#latest + 1;
      const json = entry.json ?? JSON.stringify(entry.data ?? null);
      const bytes = jsonBytes(json);
      const sender = entry.from ?? null;
      const fromUser = entry.fromUser ?? null;
      const toUser = entry.toUser ?? null;
      const base = this.#latestEnd;
      // The row's values, in the column order both statements name.
      const row = [seq, at, sender, json, bytes, base, fromUser, toUser];
      let written = 0;
      if (this.#first <= this.#latest && this.#latest - this.#first + 1 >= this.#retention.count) {
        // The ring is full: the oldest row becomes this one.
        written = this.#sql.exec(
          "UPDATE userhub_deliveries SET seq = ?, at = ?, sender = ?, data = ?, bytes = ?, base = ?, from_user = ?, to_user = ? WHERE seq = ?",
          ...row,
          this.#first,
        ).rowsWritten;
        if (written > 0) this.#first++;
      }
      if (written === 0) {
        this.#sql.exec("INSERT INTO userhub_deliveries (seq, at, sender, data, bytes, base, from_user, to_user) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", ...row);
      }
      this.#latest = seq;
      this.#latestEnd = base + bytes;
      this.#bytesAtMost += bytes;
      deliveries.push({ seq, at, data: entry.data, ...deliveryOrigin(entry) });
    }
    const seqs = deliveries.map((d) => d.seq);
    if (idempotencyKey !== undefined) {
      this.#sql.exec("INSERT OR REPLACE INTO userhub_idempotency (key, seqs, at) VALUES (?, ?, ?)", idempotencyKey, JSON.stringify(seqs), at);
      this.#keysWritten = true;
    }
    return { seqs, deliveries, duplicate: false };
  }

  async since(seq: number): Promise<ReplayResult> {
    this.#load();
    const now = this.#now();
    const oldest = this.#oldest(now);
    if (seq > this.#latest || seq < oldest - 1) return { kind: "gap", oldest, latest: this.#latest };
    if (seq >= this.#latest) return { kind: "replay", deliveries: [] };
    const rows = this.#sql.exec<Row>("SELECT seq, at, sender, data, from_user, to_user FROM userhub_deliveries WHERE seq > ? ORDER BY seq", Math.max(seq, oldest - 1)).toArray();
    return { kind: "replay", deliveries: rows.map(toDelivery) };
  }

  prune(now: number): void {
    this.#load();
    this.#tell(now);
    const { count, bytes } = this.#retention;
    let cutoff = 0;
    // A count bound lowered since the ring was filled: cut back once, in a batch.
    if (this.#latest - this.#first + 1 > count + slack(count)) cutoff = this.#latest - count + 1;
    if (this.#bytesAtMost > bytes + slack(bytes)) {
      this.#bytesAtMost = this.#measureBytes();
      if (this.#bytesAtMost > bytes + slack(bytes)) {
        // The first row from which what is kept fits the bound (base only grows with seq).
        const row = this.#sql.exec<{ seq: number }>("SELECT seq FROM userhub_deliveries WHERE base >= ? ORDER BY seq LIMIT 1", this.#latestEnd - bytes).toArray()[0];
        cutoff = Math.max(cutoff, row?.seq ?? this.#latest + 1);
      }
    }
    if (this.#keysWritten && now - this.#lastKeyPrune >= 1000) {
      this.#lastKeyPrune = now;
      this.#keysWritten = false;
      this.#sql.exec("DELETE FROM userhub_idempotency WHERE at <= ?", now - this.#retention.ageMs);
    }
    if (cutoff <= this.#first) return;
    this.#sql.exec("DELETE FROM userhub_deliveries WHERE seq < ?", cutoff);
    this.#first = cutoff;
    this.#bytesAtMost = this.#measureBytes();
    // Every row may be gone: the seq must still only grow.
    this.#sql.exec("INSERT OR REPLACE INTO userhub_meta (key, value) VALUES ('seq', ?)", String(this.#latest));
  }

  /** The deliveries still kept, oldest first. */
  entries(): Delivery[] {
    this.#load();
    return this.#sql
      .exec<Row>("SELECT seq, at, sender, data, from_user, to_user FROM userhub_deliveries WHERE seq >= ? ORDER BY seq", this.#oldest(this.#now()))
      .toArray()
      .map(toDelivery);
  }

  /** The oldest seq kept at `now`: the first row on disk at or past the retention floor (the rule every log shares). */
  #oldest(now: number): number {
    const floor = retentionFloor(this.#retention, now, this.#latest, this.#latestEnd);
    const kept = Math.max(this.#first, floor.seq);
    if (kept > this.#latest) return this.#latest + 1;
    const row = this.#sql
      .exec<{ seq: number }>("SELECT seq FROM userhub_deliveries WHERE seq >= ? AND at >= ? AND base >= ? ORDER BY seq LIMIT 1", kept, floor.at, floor.base)
      .toArray()[0];
    return row?.seq ?? this.#latest + 1;
  }

  #measureBytes(): number {
    if (this.#first > this.#latest) return 0;
    const row = this.#sql.exec<{ base: number }>("SELECT base FROM userhub_deliveries WHERE seq = ?", this.#first).toArray()[0];
    return row ? this.#latestEnd - row.base : 0;
  }

  #tell(now: number): void {
    if (this.#lastNow === null || now > this.#lastNow) this.#lastNow = now;
  }

  #now(): number {
    return this.#lastNow ?? this.#clock();
  }

  #load(): void {
    if (this.#loaded) return;
    let state: StateRow;
    try {
      state = this.#sql.exec<StateRow>(STATE).one();
    } catch (error) {
      if (String(error).includes("no such table")) this.#createSchema();
      else if (String(error).includes("no such column")) this.#sql.exec(USER_COLUMNS);
      else throw error;
      state = this.#sql.exec<StateRow>(STATE).one();
    }
    if (state.epoch === null) {
      this.#epoch = crypto.randomUUID();
      this.#sql.exec("INSERT OR REPLACE INTO userhub_meta (key, value) VALUES ('epoch', ?)", this.#epoch);
    } else {
      this.#epoch = state.epoch;
    }
    this.#latest = Math.max(Number(state.checkpoint ?? 0), state.latest ?? 0);
    this.#latestEnd = state.latestEnd ?? 0;
    this.#first = state.first ?? this.#latest + 1;
    this.#bytesAtMost = state.first === null ? 0 : this.#latestEnd - (state.firstBase ?? 0);
    this.#loaded = true;
  }

  /** First use ever: the tables, and a log kept by an earlier version (one row per delivery in `userhub_log`, deleted when pruned) moved over once. */
  #createSchema(): void {
    this.#sql.exec(SCHEMA);
    let legacy = false;
    try {
      this.#sql.exec("SELECT 1 FROM userhub_log LIMIT 1").toArray();
      legacy = true;
    } catch {
      // No earlier log.
    }
    if (!legacy) return;
    this.#sql.exec(`INSERT INTO userhub_deliveries (seq, at, sender, data, bytes, base)
      SELECT seq, at, sender, data, bytes, SUM(bytes) OVER (ORDER BY seq) - bytes FROM userhub_log;
      DROP TABLE userhub_log;
      DELETE FROM userhub_meta WHERE key = 'bytes';`);
  }

  #ensureKeys(): void {
    if (this.#keysReady) return;
    this.#sql.exec("CREATE TABLE IF NOT EXISTS userhub_idempotency (key TEXT PRIMARY KEY, seqs TEXT NOT NULL, at INTEGER NOT NULL)");
    this.#keysReady = true;
  }
}

function slack(bound: number): number {
  return Math.floor(bound * PRUNE_SLACK_SHARE);
}

function toDelivery(row: Row): Delivery {
  return { seq: row.seq, at: row.at, data: JSON.parse(row.data), ...deliveryOrigin({ from: row.sender, fromUser: row.from_user, toUser: row.to_user }) };
}
