/**
 * The SQLite delivery log's tables, and the rare work that makes or moves
 * them: the schema on first use ever, a log kept in an earlier layout moved
 * over once, a ring rebuilt at a new size. Each costs a row written per row
 * kept, once; `SqliteDeliveryLog` runs it when its one statement of
 * "where the log stands" finds no mark, or a mark for another size.
 *
 * @module
 */

const RING = `CREATE TABLE IF NOT EXISTS userhub_ring (slot INTEGER PRIMARY KEY, seq INTEGER NOT NULL, at INTEGER NOT NULL, sender TEXT, data TEXT NOT NULL, bytes INTEGER NOT NULL, base INTEGER NOT NULL, from_user TEXT, to_user TEXT)`;

const SCHEMA = `CREATE TABLE IF NOT EXISTS userhub_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  ${RING};
  CREATE TABLE IF NOT EXISTS userhub_mark (id INTEGER PRIMARY KEY CHECK (id = 0), seq INTEGER NOT NULL, end_bytes INTEGER NOT NULL, first INTEGER NOT NULL, kept_from INTEGER NOT NULL, ring INTEGER NOT NULL);`;

/** The columns a `userhub_deliveries` table (the layout before the ring was keyed by slot) gained for deliveries between users. */
const USER_COLUMNS = "ALTER TABLE userhub_deliveries ADD COLUMN from_user TEXT; ALTER TABLE userhub_deliveries ADD COLUMN to_user TEXT;";

/** Where the log stood, as its mark says (what a resize needs of it). */
export interface LogPosition {
  readonly mark: number;
  readonly markEnd: number;
  readonly first: number;
  readonly ring: number;
}

/**
 * The schema, on first use ever; a log kept in an earlier layout
 * (`userhub_log`, then `userhub_deliveries` keyed by seq) moved over once;
 * or a ring of a new size (`count` changed) rebuilt from the rows kept.
 * Rare: each costs a row written per row kept, once.
 */
export function buildLog(sql: SqlStorage, count: number, state: LogPosition | undefined): void {
  sql.exec(SCHEMA);
  if (state === undefined) {
    // Where an earlier layout stood: its seq checkpoint, and its rows moved into the ring (the newest `count`).
    const checkpoint = Number(sql.exec<{ value: string | null }>("SELECT (SELECT value FROM userhub_meta WHERE key = 'seq') AS value").one().value ?? 0);
    const moved = moveOldLayout(sql, count);
    const latest = Math.max(checkpoint, moved?.latest ?? 0);
    sql.exec("DELETE FROM userhub_meta WHERE key IN ('seq', 'bytes')");
    const first = moved ? Math.max(moved.first, latest - count + 1) : latest + 1;
    sql.exec("INSERT OR REPLACE INTO userhub_mark (id, seq, end_bytes, first, kept_from, ring) VALUES (0, ?, ?, ?, 0, ?)", latest, moved?.end ?? 0, first, count);
    return;
  }
  // A new ring size: the kept rows, newest `count` of them, move into slots of the new size (the old ring is read whole, once).
  const edge = sql.exec<{ latest: number | null; end: number | null }>("SELECT MAX(seq) AS latest, (SELECT base + bytes FROM userhub_ring ORDER BY seq DESC LIMIT 1) AS end FROM userhub_ring").one();
  const latest = Math.max(state.mark, edge.latest ?? 0);
  const first = Math.max(state.first, latest - state.ring + 1, latest - count + 1);
  sql.exec(`${RING.replace("userhub_ring", "userhub_ring_resized")};
    INSERT INTO userhub_ring_resized SELECT seq % ${count}, seq, at, sender, data, bytes, base, from_user, to_user FROM userhub_ring WHERE seq >= ${first};
    DROP TABLE userhub_ring;
    ALTER TABLE userhub_ring_resized RENAME TO userhub_ring;`);
  sql.exec("UPDATE userhub_mark SET seq = ?, end_bytes = ?, first = ?, ring = ? WHERE id = 0", latest, edge.latest === null || edge.latest < state.mark ? state.markEnd : (edge.end ?? 0), first, count);
}

/** Moves the rows of an earlier layout into the ring, and drops it; null when there was none. */
function moveOldLayout(sql: SqlStorage, count: number): { latest: number; end: number; first: number } | null {
  const tables = new Set(sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('userhub_log', 'userhub_deliveries')").toArray().map((t) => t.name));
  if (tables.size === 0) return null;
  if (tables.has("userhub_log")) {
    // One row per delivery, no running byte total: `base` is made here.
    sql.exec(`CREATE TABLE IF NOT EXISTS userhub_deliveries (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, sender TEXT, data TEXT NOT NULL, bytes INTEGER NOT NULL, base INTEGER NOT NULL, from_user TEXT, to_user TEXT);
      INSERT INTO userhub_deliveries (seq, at, sender, data, bytes, base) SELECT seq, at, sender, data, bytes, SUM(bytes) OVER (ORDER BY seq) - bytes FROM userhub_log;
      DROP TABLE userhub_log;`);
  }
  try {
    sql.exec("SELECT from_user, to_user FROM userhub_deliveries WHERE 0").toArray();
  } catch {
    sql.exec(USER_COLUMNS);
  }
  const edge = sql
    .exec<{ latest: number | null; first: number | null; end: number | null }>(
      "SELECT MAX(seq) AS latest, MIN(seq) AS first, (SELECT base + bytes FROM userhub_deliveries ORDER BY seq DESC LIMIT 1) AS end FROM userhub_deliveries",
    )
    .one();
  const latest = edge.latest ?? 0;
  sql.exec(`INSERT INTO userhub_ring SELECT seq % ${count}, seq, at, sender, data, bytes, base, from_user, to_user FROM userhub_deliveries WHERE seq > ?`, latest - count);
  sql.exec("DROP TABLE userhub_deliveries");
  if (edge.latest === null) return null;
  return { latest, end: edge.end ?? 0, first: Math.max(edge.first ?? latest + 1, latest - count + 1) };
}
