// userhub's delivery row as the attribution targets write it (bench/targets/
// userhub-parts for the network echo, bench/targets/in-process for the
// in-process one): the 8 columns of the log's ring, and the log's own two
// statements for a ring keyed by slot, and the message and signal frames
// sent back. One place, so that every bench's targets write exactly the same
// row and send the same frames.

/** A connection id of the length userhub's are, for the frames and rows the targets build. */
export const CONNECTION_ID = "00000000-0000-4000-8000-000000000000";

/** The slots of the targets' rings: as many as userhub's default LOG_RETENTION keeps. */
export const RING_SLOTS = 1000;

/** The ring's columns after its key, as durable-objects/sqlite-log-layout.ts makes them. */
export const ROW_COLUMNS = "at INTEGER NOT NULL, sender TEXT, data TEXT NOT NULL, bytes INTEGER NOT NULL, base INTEGER NOT NULL, from_user TEXT, to_user TEXT";

/** The `message` frame userhub sends for delivery `seq` of `json` at `at`, from {@link CONNECTION_ID}: what the row targets send back. */
export function messageText(seq, json, at) {
  return `{"type":"message","seq":${seq},"data":${json},"at":${at},"from":"${CONNECTION_ID}"}`;
}

/** The `signal` frame userhub sends for a payload's `json`, from {@link CONNECTION_ID}: what the signal targets send back. */
export function signalText(json) {
  return `{"type":"signal","data":${json},"from":"${CONNECTION_ID}"}`;
}

/** userhub's row for delivery `seq` of `json`: seq, at, sender, data, bytes, base, from_user, to_user. */
export function userhubRow(seq, at, json) {
  return [seq, at, CONNECTION_ID, json, json.length, seq * 16, null, null];
}

/**
 * Writes `row` to its slot (`seq % ring`) of `table` (keyed by slot) as the
 * log does: the slot's row rewritten in place once the ring of `ring` slots
 * is full, or inserted while it fills; the slot and, for a delivery within
 * the user (`row`'s from_user and to_user null), those two columns' NULLs in
 * the statement's text, not bound. `allBound` binds all eight and the slot,
 * as the log wrote every delivery until 2026-11-30 (in-process target `row-bound`).
 */
export function writeSlotRow(sql, table, row, ring, allBound = false) {
  if (allBound) {
    const slot = row[0] % ring;
    const written = row[0] > ring ? sql.exec(`UPDATE ${table} SET seq = ?, at = ?, sender = ?, data = ?, bytes = ?, base = ?, from_user = ?, to_user = ? WHERE slot = ?`, ...row, slot).rowsWritten : 0;
    if (written === 0) sql.exec(`INSERT INTO ${table} (seq, at, sender, data, bytes, base, from_user, to_user, slot) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, ...row, slot);
    return;
  }
  const own = row[6] === null && row[7] === null;
  const values = own ? row.slice(0, 6) : row;
  const [from, to] = own ? ["NULL", "NULL"] : ["?7", "?8"];
  const written = row[0] > ring ? sql.exec(`UPDATE ${table} SET seq = ?1, at = ?2, sender = ?3, data = ?4, bytes = ?5, base = ?6, from_user = ${from}, to_user = ${to} WHERE slot = ?1 % ${ring}`, ...values).rowsWritten : 0;
  if (written === 0) sql.exec(`INSERT INTO ${table} (slot, seq, at, sender, data, bytes, base, from_user, to_user) VALUES (?1 % ${ring}, ?1, ?2, ?3, ?4, ?5, ?6, ${from}, ${to})`, ...values);
}
