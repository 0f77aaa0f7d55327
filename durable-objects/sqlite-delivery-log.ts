import {
  type AppendResult,
  type Delivery,
  type DeliveryLog,
  newDelivery,
  isKeyRemembered,
  jsonBytes,
  type NewDelivery,
  type ReplayResult,
  retentionFloor,
  type RetentionPolicy,
} from "../src/host.ts";
import { buildLog } from "./sqlite-log-layout.ts";

/**
 * How far past the byte bound the log may grow before it is cut back: 1/16
 * of it. Only the byte bound ever deletes rows, in batches; a small bound
 * (under 16) is kept exactly.
 */
const PRUNE_SLACK_SHARE = 1 / 16;

/**
 * Every this many deliveries the log's mark (where it stands) is written: a
 * row per 256 deliveries (1.004 rows written per delivery), so that a hub
 * woken from hibernation finds its latest delivery within 256 slots of the
 * mark, by a binary search of 8 steps (8 rows read), instead of reading
 * the whole ring.
 */
// A power of two: the binary search below halves its step from MARK_EVERY / 2 to 1.
export const MARK_EVERY = 256;


/**
 * Where the log stands, in one statement: its epoch and its mark (the latest
 * seq, the payload bytes through it, the first row kept and where the kept
 * bytes began, as of the mark's last write, and the ring's size), and how far
 * past the mark the latest delivery is. The deliveries after the mark, m + 1
 * to the latest, sit in the slots after the mark's, in order, and no further
 * than {@link MARK_EVERY} − 1 of them; past them a slot holds an older lap's row
 * or none. So "slot (m + i) % ring holds seq m + i" is true, then false, as i
 * grows, and a binary search over i (steps of 128, 64, … 1, each taken when
 * the slot it reaches holds its seq) finds the last true one in 8 lookups by
 * primary key. A ring no larger than that is read whole instead.
 */
const STATE = `WITH RECURSIVE step(lo, w, m, c) AS (
    SELECT 0, ${MARK_EVERY / 2}, seq, ring FROM userhub_mark WHERE id = 0 AND ring > ${MARK_EVERY}
    UNION ALL
    SELECT lo + CASE WHEN EXISTS (SELECT 1 FROM userhub_ring WHERE slot = (m + lo + w) % c AND seq = m + lo + w) THEN w ELSE 0 END, w / 2, m, c
    FROM step WHERE w >= 1)
  SELECT (SELECT value FROM userhub_meta WHERE key = 'epoch') AS epoch, k.seq AS mark, k.end_bytes AS markEnd, k.first AS first, k.kept_from AS keptFrom, k.ring AS ring,
    CASE WHEN k.ring <= ${MARK_EVERY} THEN (SELECT seq || ' ' || (base + bytes) FROM userhub_ring WHERE seq > k.seq ORDER BY seq DESC LIMIT 1)
    ELSE (SELECT seq || ' ' || (base + bytes) FROM userhub_ring, (SELECT MAX(lo) AS lo FROM step) AS found WHERE found.lo > 0 AND slot = (k.seq + found.lo) % k.ring AND seq = k.seq + found.lo)
    END AS top
  FROM userhub_mark AS k WHERE k.id = 0`;

type StateRow = { epoch: string | null; mark: number; markEnd: number; first: number; keptFrom: number; ring: number; top: string | null };
/** One way of writing a delivery: for one within the user, or between users. */
type WriteForm = "own" | "between";

/**
 * The statements that write a delivery into a ring of `ring` slots. Every
 * value bound is converted from JavaScript on each delivery, so what can be
 * in the text is: the slot (`seq % ring`) and the ring's size, and for a
 * delivery within the user (most of them, the `own` form) `from_user` and
 * `to_user` as NULL; a delivery between users binds those two. Each value
 * left out saves about 0.2 µs a delivery, some 1% of a durable echo's
 * server CPU (bench/results/attribution.md). Bound, in order:
 * seq, at, sender, data, bytes, base (not in the hinted write), then
 * from_user and to_user in the `between` form.
 */
function ringWrites(ring: number): Readonly<Record<"update" | "insert" | "hinted", Readonly<Record<WriteForm, string>>>> {
  // The ring's size goes into SQL text: it must be what the log made it, a whole number of slots.
  if (!Number.isSafeInteger(ring) || ring < 1) throw new RangeError(`a delivery ring has a whole number of slots, not ${ring}`);
  // Each statement in both forms: from_user and to_user NULL in its text, or bound as the parameters numbered from `first`.
  const forms = (first: number, make: (from: string, to: string) => string) => ({ own: make("NULL", "NULL"), between: make(`?${first}`, `?${first + 1}`) });
  return {
    // A full ring's slot rewritten in place.
    update: forms(7, (from, to) => `UPDATE userhub_ring SET seq = ?1, at = ?2, sender = ?3, data = ?4, bytes = ?5, base = ?6, from_user = ${from}, to_user = ${to} WHERE slot = ?1 % ${ring}`),
    // An empty slot filled (a ring filling, or emptied by a prune).
    insert: forms(7, (from, to) => `INSERT INTO userhub_ring (slot, seq, at, sender, data, bytes, base, from_user, to_user) VALUES (?1 % ${ring}, ?1, ?2, ?3, ?4, ?5, ?6, ${from}, ${to})`),
    /*
     * A delivery written from a hinted latest seq (?1 − 1), in one statement
     * that checks the hint as it writes: the slot before holds that seq, the
     * slot written holds an older one (deliveries fill slots in order, so
     * nothing later exists), and the ring on disk is the size this log numbers
     * slots by. Any of them false: no row changes, and the log reads where it
     * stands.
     */
    hinted: forms(
      6,
      (from, to) => `UPDATE userhub_ring SET seq = ?1, at = ?2, sender = ?3, data = ?4, bytes = ?5,
        base = (SELECT base + bytes FROM userhub_ring WHERE slot = (?1 - 1) % ${ring} AND seq = ?1 - 1), from_user = ${from}, to_user = ${to}
      WHERE slot = ?1 % ${ring} AND seq < ?1 AND EXISTS (SELECT 1 FROM userhub_ring WHERE slot = (?1 - 1) % ${ring} AND seq = ?1 - 1)
        AND (SELECT ring FROM userhub_mark WHERE id = 0) = ${ring}`,
    ),
  };
}

type Row = { seq: number; at: number; sender: string | null; data: string; from_user: string | null; to_user: string | null };

/**
 * A user's {@link DeliveryLog} in the Durable Object's SQLite storage. Writes
 * are synchronous and the runtime's output gate holds every frame until they
 * are durable, so a client never sees a `seq` that a crash could take back.
 *
 * A delivery is one statement writing one row (SQLite rows written are what
 * a Durable Object is billed for, and a delete is a row written too). The
 * log is a ring of `count` slots, keyed by `seq % count`: once full, a
 * delivery rewrites its slot's row in place (an UPDATE that keeps the row's
 * key and touches one page, as an INSERT does; re-keying the oldest row by seq
 * moved it across the table and cost the hot path a sixth more CPU). What is
 * replayed follows the rule every log shares (`retentionFloor`), applied when
 * the log is read: a delivery older than `ageMs` is never replayed, and its row
 * is rewritten by a later delivery rather than deleted, which would bill a
 * second row per delivery. Past the byte bound, rows the floor no longer covers
 * are deleted in batches (only storage; they were not replayable any more).
 * Every {@link MARK_EVERY} deliveries one more row, the mark, records where the
 * log stands. Idempotency keys live in their own table, written only when a
 * key is given. A new `count` (a deploy that changes `LOG_RETENTION`) moves the
 * rows kept into a ring of the new size, once, when the log is first used.
 *
 * Nothing runs until the log is first used; then one statement tells it where
 * it stands (the schema is created on the first use ever, when that statement
 * finds no table). A hub woken from hibernation usually skips even that: its
 * sockets remember the latest seq (`hint`), and the delivery's own statement
 * checks it as it writes. So a message to a woken hub costs one statement, or
 * two when the seq remembered is not the latest (after a burst, say).
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
  /** The ring's size: the retention count it was made for. */
  #ring = 1;
  /** The write statements for a ring of the size they name (made once per size: building the text per delivery would cost what it saves). */
  #writes: { readonly ring: number; readonly statements: ReturnType<typeof ringWrites> } | null = null;
  /** At least the bytes kept on disk: exact when loaded or measured, then only grows until measured again. */
  #bytesAtMost = 0;
  /** The latest time the log was told (an append's `at`, a prune's or a read's `now`): its clock for the age bound. */
  #lastNow: number | null = null;
  /**
   * The latest seq as a hint said and the log's own writes since confirmed, while
   * the log has not read where it stands (`#loaded` false); null otherwise.
   */
  #hintedLatest: number | null = null;
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

  async oldestSeq(now?: number): Promise<number> {
    this.#load();
    if (now !== undefined) this.#tell(now);
    return this.#oldest(this.#now());
  }

  /**
   * Takes the latest seq a host remembered, for a log that has not read where
   * it stands: its next delivery is written from it, checked in the same
   * statement (see `ringWrites`), so that a hub woken from
   * hibernation writes a delivery in one statement. Ignored once the log has
   * read where it stands.
   */
  hint(latestSeq: number): void {
    if (!this.#loaded && Number.isSafeInteger(latestSeq) && latestSeq > 0) this.#hintedLatest = latestSeq;
  }

  append(entries: readonly NewDelivery[], at: number, idempotencyKey?: string): AppendResult {
    if (!this.#loaded && this.#hintedLatest !== null && entries.length === 1 && idempotencyKey === undefined) {
      const delivered = this.#appendHinted(entries[0]!, at, this.#hintedLatest);
      if (delivered) return { seqs: [delivered.seq], deliveries: [delivered], duplicate: false };
    }
    this.#load();
    this.#tell(at);
    if (idempotencyKey !== undefined) {
      this.#ensureKeys();
      const seqs = this.#seqsOf(idempotencyKey, at);
      if (seqs) return { seqs, deliveries: [], duplicate: true };
    }
    const deliveries: Delivery[] = [];
    const ring = this.#ring;
    const writes = this.#writesFor(ring);
    for (const entry of entries) {
      const seq = this.#latest + 1;
      const json = entry.json ?? JSON.stringify(entry.data ?? null);
      const bytes = jsonBytes(json);
      const base = this.#latestEnd;
      // The row's values, in the order both statements bind them (see ringWrites).
      const row: SqlStorageValue[] = [seq, at, entry.from ?? null, json, bytes, base];
      const form = bindOrigin(row, entry);
      // A slot that holds a row (a full ring) is rewritten in place; an empty one (a ring filling, or emptied by a prune) is filled.
      const written = seq > ring ? this.#sql.exec(writes.update[form], ...row).rowsWritten : 0;
      if (written === 0) this.#sql.exec(writes.insert[form], ...row);
      this.#latest = seq;
      this.#latestEnd = base + bytes;
      this.#bytesAtMost += bytes;
      // The ring now holds the latest `ring` seqs at most: the one this row replaced is gone.
      if (this.#latest - this.#first + 1 > ring) this.#first = this.#latest - ring + 1;
      if (seq % MARK_EVERY === 0) this.#writeMark();
      deliveries.push(newDelivery(seq, at, entry.data, entry));
    }
    const seqs = deliveries.map((d) => d.seq);
    if (idempotencyKey !== undefined) {
      this.#sql.exec("INSERT OR REPLACE INTO userhub_idempotency (key, seqs, at) VALUES (?, ?, ?)", idempotencyKey, JSON.stringify(seqs), at);
      this.#keysWritten = true;
    }
    return { seqs, deliveries, duplicate: false };
  }

  /**
   * One delivery written from `latest`, a hint, without reading where the log
   * stands; null (nothing written, the hint dropped) when the statement's
   * check says the hint is wrong, or when this delivery must write the mark,
   * which needs the log's whole position.
   */
  #appendHinted(entry: NewDelivery, at: number, latest: number): Delivery | null {
    const seq = latest + 1;
    const ring = this.#retention.count;
    this.#hintedLatest = null;
    if (seq % MARK_EVERY === 0) return null;
    const json = entry.json ?? JSON.stringify(entry.data ?? null);
    const values: SqlStorageValue[] = [seq, at, entry.from ?? null, json, jsonBytes(json)];
    const form = bindOrigin(values, entry);
    // Told by the rows it wrote, not a RETURNING clause: a woken instance prepares this statement afresh, and the
    // clause made that about an eighth dearer (14.8 against 13.0 µs in Node's SQLite, 2026-11-30).
    if (this.#sql.exec(this.#writesFor(ring).hinted[form], ...values).rowsWritten === 0) return null;
    this.#tell(at);
    this.#hintedLatest = seq;
    return newDelivery(seq, at, entry.data, entry);
  }

  deliveredFrom(fromUser: string, since: number): number {
    this.#load();
    return this.#sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM userhub_ring WHERE from_user = ? AND at >= ?", fromUser, since).one().n;
  }

  async since(seq: number, now?: number): Promise<ReplayResult> {
    this.#load();
    if (now !== undefined) this.#tell(now);
    const oldest = this.#oldest(this.#now());
    if (seq > this.#latest || seq < oldest - 1) return { kind: "gap", oldest, latest: this.#latest };
    if (seq >= this.#latest) return { kind: "replay", deliveries: [] };
    // The ring is not ordered by seq on disk: a resume reads it whole (at most `count` rows) and sorts.
    const rows = this.#sql.exec<Row>("SELECT seq, at, sender, data, from_user, to_user FROM userhub_ring WHERE seq > ? ORDER BY seq", Math.max(seq, oldest - 1)).toArray();
    return { kind: "replay", deliveries: rows.map(toDelivery) };
  }

  prune(now: number): void {
    // A log writing from a hint has not read what it keeps: the byte bound waits for the next event that reads where
    // the log stands (every welcome does), while the ring bounds its rows; what is replayed follows retention anyway.
    if (!this.#loaded && this.#hintedLatest !== null) return;
    this.#load();
    this.#tell(now);
    const { bytes } = this.#retention;
    if (this.#keysWritten && now - this.#lastKeyPrune >= 1000) {
      this.#lastKeyPrune = now;
      this.#keysWritten = false;
      this.#sql.exec("DELETE FROM userhub_idempotency WHERE at <= ?", now - this.#retention.ageMs);
    }
    if (this.#bytesAtMost <= bytes + slack(bytes)) return;
    this.#bytesAtMost = this.#measureBytes();
    if (this.#bytesAtMost <= bytes + slack(bytes)) return;
    // The first row from which what is kept fits the bound (base only grows with seq), or the latest, which the
    // byte bound keeps whatever its size (retentionFloor).
    const row = this.#sql.exec<{ seq: number }>("SELECT MIN(seq) AS seq FROM userhub_ring WHERE base >= ? OR seq >= ?", this.#latestEnd - bytes, this.#latest).toArray()[0];
    const cutoff = row?.seq ?? this.#latest + 1;
    if (cutoff <= this.#first) return;
    this.#sql.exec("DELETE FROM userhub_ring WHERE seq < ?", cutoff);
    this.#first = cutoff;
    this.#bytesAtMost = this.#measureBytes();
    // Every row may be gone: the mark keeps the seq (it must still only grow) and where the kept rows start.
    this.#writeMark();
  }

  async remembered(idempotencyKey: string, now: number): Promise<readonly number[] | null> {
    try {
      return this.#seqsOf(idempotencyKey, now);
    } catch (error) {
      // A log that never took a key has no table for them: a read does not make one.
      if (String(error).includes("no such table")) return null;
      throw error;
    }
  }

  /** The seqs `idempotencyKey` was given, if it is still remembered at `now`; null if not. Throws when no key was ever taken (no table). */
  #seqsOf(idempotencyKey: string, now: number): number[] | null {
    const seen = this.#sql.exec<{ seqs: string; at: number }>("SELECT seqs, at FROM userhub_idempotency WHERE key = ?", idempotencyKey).toArray()[0];
    return seen && isKeyRemembered(this.#retention, seen.at, now) ? (JSON.parse(seen.seqs) as number[]) : null;
  }

  /** The deliveries still kept, oldest first. */
  entries(): Delivery[] {
    this.#load();
    return this.#sql
      .exec<Row>("SELECT seq, at, sender, data, from_user, to_user FROM userhub_ring WHERE seq >= ? ORDER BY seq", this.#oldest(this.#now()))
      .toArray()
      .map(toDelivery);
  }

  /** The oldest seq kept at `now`: the first row on disk at or past the retention floor (the rule every log shares). */
  #oldest(now: number): number {
    const floor = retentionFloor(this.#retention, now, this.#latest, this.#latestEnd);
    const kept = Math.max(this.#first, floor.seq);
    if (kept > this.#latest) return this.#latest + 1;
    const row = this.#sql.exec<{ seq: number | null }>("SELECT MIN(seq) AS seq FROM userhub_ring WHERE seq >= ? AND at >= ? AND (base >= ? OR seq >= ?)", kept, floor.at, floor.base, floor.latestSeq).toArray()[0];
    return row?.seq ?? this.#latest + 1;
  }

  #measureBytes(): number {
    if (this.#first > this.#latest) return 0;
    const row = this.#sql.exec<{ base: number }>("SELECT base FROM userhub_ring WHERE slot = ? AND seq = ?", this.#first % this.#ring, this.#first).toArray()[0];
    return row ? this.#latestEnd - row.base : 0;
  }

  #writeMark(): void {
    this.#sql.exec("UPDATE userhub_mark SET seq = ?, end_bytes = ?, first = ?, kept_from = ? WHERE id = 0", this.#latest, this.#latestEnd, this.#first, this.#latestEnd - this.#bytesAtMost);
  }

  #writesFor(ring: number): ReturnType<typeof ringWrites> {
    if (this.#writes?.ring !== ring) this.#writes = { ring, statements: ringWrites(ring) };
    return this.#writes.statements;
  }

  #tell(now: number): void {
    if (this.#lastNow === null || now > this.#lastNow) this.#lastNow = now;
  }

  #now(): number {
    return this.#lastNow ?? this.#clock();
  }

  #load(): void {
    if (this.#loaded) return;
    this.#hintedLatest = null;
    let state: StateRow | undefined;
    try {
      state = this.#sql.exec<StateRow>(STATE).toArray()[0];
    } catch (error) {
      if (!String(error).includes("no such table")) throw error;
    }
    if (state === undefined || state.ring !== this.#retention.count) {
      buildLog(this.#sql, this.#retention.count, state);
      state = this.#sql.exec<StateRow>(STATE).one();
    }
    if (state.epoch === null) {
      this.#epoch = crypto.randomUUID();
      this.#sql.exec("INSERT OR REPLACE INTO userhub_meta (key, value) VALUES ('epoch', ?)", this.#epoch);
    } else {
      this.#epoch = state.epoch;
    }
    this.#ring = state.ring;
    // No delivery since the mark: the mark is where the log stands (its own row may be gone, pruned).
    const top = state.top?.split(" ").map(Number);
    const [latest, latestEnd] = top ? [top[0]!, top[1]!] : [state.mark, state.markEnd];
    this.#latest = latest;
    this.#latestEnd = latestEnd;
    this.#first = Math.max(state.first, latest - state.ring + 1);
    // At least the bytes kept (where they began at the mark; a full ring has moved past some since): prune measures when it matters.
    this.#bytesAtMost = this.#first > latest ? 0 : latestEnd - state.keptFrom;
    this.#loaded = true;
  }

  #ensureKeys(): void {
    if (this.#keysReady) return;
    this.#sql.exec("CREATE TABLE IF NOT EXISTS userhub_idempotency (key TEXT PRIMARY KEY, seqs TEXT NOT NULL, at INTEGER NOT NULL)");
    this.#keysReady = true;
  }
}

/**
 * The form a delivery is written in: `between` for one that names another
 * user (`hub.users.deliver`), whose `from_user` and `to_user` are appended to
 * `values`; `own` otherwise, and `values` is left as it is.
 */
function bindOrigin(values: SqlStorageValue[], entry: NewDelivery): WriteForm {
  if (!entry.fromUser && !entry.toUser) return "own";
  values.push(entry.fromUser ?? null, entry.toUser ?? null);
  return "between";
}

function slack(bound: number): number {
  return Math.floor(bound * PRUNE_SLACK_SHARE);
}

function toDelivery(row: Row): Delivery {
  return newDelivery(row.seq, row.at, JSON.parse(row.data), { from: row.sender, fromUser: row.from_user, toUser: row.to_user });
}
