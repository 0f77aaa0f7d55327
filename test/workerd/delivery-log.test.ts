// The DeliveryLog contract (test/contract/) run against both logs of this
// runtime: MemoryDeliveryLog and the Durable Object's SqliteDeliveryLog (inside
// a real object's SQLite storage); then what only SQLite promises here: it
// survives a restart.
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { type DeliveryLog, MemoryDeliveryLog, type RetentionPolicy } from "../../src/host.ts";
import { deliveryLogContract, LOOSE_RETENTION as LOOSE } from "../contract/delivery-log-contract.ts";
import { SqliteDeliveryLog, type UserHub } from "../../durable-objects/index.ts";
import { MARK_EVERY } from "../../durable-objects/sqlite-delivery-log.ts";
import { hubOf } from "./hub-client.ts";

let objects = 0;

/** Runs `body` with a fresh log of `kind`; the SQLite one lives in an object of its own, and `body` runs inside it. */
async function withLog(kind: "memory" | "sqlite", retention: Partial<RetentionPolicy>, body: (log: DeliveryLog) => Promise<void>): Promise<void> {
  const policy = { ...LOOSE, ...retention };
  if (kind === "memory") return await body(new MemoryDeliveryLog(policy));
  await runInDurableObject(hubOf(`log-${++objects}`), async (_instance: UserHub, state) => {
    await body(new SqliteDeliveryLog(state.storage.sql, policy));
  });
}

for (const kind of ["memory", "sqlite"] as const) {
  describe(`${kind} log`, () => {
    for (const contractCase of deliveryLogContract) {
      it(contractCase.name, async () => {
        await withLog(kind, contractCase.retention, (log) => contractCase.run(log, (actual, expected, message) => expect(actual, message).toEqual(expected)));
      });
    }
  });
}

/** SqlStorage that counts the statements run and the rows they wrote (the cursors' own counters). */
function countingSql(sql: SqlStorage): SqlStorage & { statements: number; readonly rowsWritten: number; reset(): void } {
  let cursors: SqlStorageCursor<Record<string, SqlStorageValue>>[] = [];
  const counting = Object.create(sql) as SqlStorage & { statements: number; readonly rowsWritten: number; reset(): void };
  Object.defineProperties(counting, {
    exec: {
      value: (query: string, ...bindings: unknown[]) => {
        const cursor = sql.exec(query, ...bindings);
        cursors.push(cursor);
        counting.statements++;
        return cursor;
      },
    },
    statements: { value: 0, writable: true },
    rowsWritten: { get: () => cursors.reduce((sum, cursor) => sum + cursor.rowsWritten, 0) },
    reset: { value: () => ((cursors = []), (counting.statements = 0)) },
  });
  return counting;
}

describe("sqlite log across restarts", () => {
  it("keeps its seq and epoch when the object is rebuilt, even with every row gone", async () => {
    const stub = hubOf(`log-${++objects}`);
    const first = await runInDurableObject(stub, async (_instance: UserHub, state) => {
      const log = new SqliteDeliveryLog(state.storage.sql, { ...LOOSE, bytes: 1 });
      await log.append([{ data: 10 }, { data: 20 }, { data: 30 }], 0);
      await log.prune(0);
      const rows = () => state.storage.sql.exec<{ seq: number }>("SELECT seq FROM userhub_ring").toArray().map((row) => row.seq);
      // The byte bound keeps the newest row whatever its size; an earlier version's could delete it too, as here.
      expect(rows()).toEqual([3]);
      state.storage.sql.exec("DELETE FROM userhub_ring; UPDATE userhub_mark SET first = seq + 1, kept_from = end_bytes");
      return { epoch: await log.epoch(), latest: await log.latestSeq(), rows: rows().length };
    });
    const second = await runInDurableObject(stub, async (_instance: UserHub, state) => {
      const log = new SqliteDeliveryLog(state.storage.sql, LOOSE, () => 0);
      return { epoch: await log.epoch(), latest: await log.latestSeq(), oldest: await log.oldestSeq(), next: (await log.append([{ data: 4 }], 0)).seqs };
    });
    expect(first).toEqual({ epoch: expect.stringMatching(/^[0-9a-f-]{36}$/), latest: 3, rows: 0 });
    expect(second).toEqual({ epoch: first.epoch, latest: 3, oldest: 4, next: [4] });
  });

  it("is a ring of `count` slots: once full, a delivery rewrites the oldest row in its slot, so the count bound deletes nothing", async () => {
    await runInDurableObject(hubOf(`log-${++objects}`), async (_instance: UserHub, state) => {
      const sql = countingSql(state.storage.sql);
      const log = new SqliteDeliveryLog(sql, { ...LOOSE, count: 32 });
      const add = (n: number) => log.append(Array.from({ length: n }, (_, i) => ({ data: i })), 0);
      await add(40);
      await log.prune(0);
      expect(await log.oldestSeq()).toBe(9);
      expect(log.entries().map((d) => d.seq)).toEqual(Array.from({ length: 32 }, (_, i) => i + 9));
      expect(state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM userhub_ring").one().n).toBe(32);
      // A rebuilt log reads where it stands in one statement, and goes on from there.
      sql.reset();
      const rebuilt = new SqliteDeliveryLog(sql, { ...LOOSE, count: 32 });
      expect(await rebuilt.latestSeq()).toBe(40);
      expect(sql.statements).toBe(1);
      expect((await rebuilt.append([{ data: "next" }], 0)).seqs).toEqual([41]);
      expect(sql.statements).toBe(2);
      expect(await rebuilt.oldestSeq()).toBe(10);
    });
  });

  it("writes one row per delivery, full or not, prunes included, and its mark once every MARK_EVERY (rows counted by SQLite's cursors)", async () => {
    await runInDurableObject(hubOf(`log-${++objects}`), async (_instance: UserHub, state) => {
      const sql = countingSql(state.storage.sql);
      const log = new SqliteDeliveryLog(sql, { ...LOOSE, count: 50 });
      await log.latestSeq();
      sql.reset();
      for (let i = 0; i < 600; i++) {
        await log.append([{ data: { text: "hello", i } }], 1000 + i);
        await log.prune(1000 + i);
      }
      // One row per delivery, and the mark once every MARK_EVERY (twice in 600).
      expect(sql.rowsWritten).toBe(600 + Math.floor(600 / MARK_EVERY));
      expect(sql.statements).toBe(600 + Math.floor(600 / MARK_EVERY));
      expect(sql.rowsWritten / 600).toBeLessThanOrEqual(1.005);
    });
  });

  it("replays nothing older than `ageMs` though its row waits to be rewritten, and keeps the byte bound on disk", async () => {
    await runInDurableObject(hubOf(`log-${++objects}`), async (_instance: UserHub, state) => {
      const log = new SqliteDeliveryLog(state.storage.sql, { ...LOOSE, ageMs: 1000, bytes: 100 });
      await log.append([{ data: "old" }], 10_000);
      await log.append([{ data: "new" }], 12_000);
      await log.prune(12_000);
      expect(await log.since(0)).toEqual({ kind: "gap", oldest: 2, latest: 2 });
      expect(log.entries().map((d) => d.data)).toEqual(["new"]);
      await log.append(Array.from({ length: 20 }, () => ({ data: "x".repeat(20) })), 12_000);
      await log.prune(12_000);
      const onDisk = state.storage.sql.exec<{ bytes: number }>("SELECT SUM(bytes) AS bytes FROM userhub_ring").one().bytes;
      expect(onDisk).toBeLessThanOrEqual(100);
      expect(await log.oldestSeq()).toBe(await log.latestSeq() - 3);
    });
  });

  it("moves a log kept by the earlier layout (userhub_log, one row per delivery) over once, seq and bytes included", async () => {
    await runInDurableObject(hubOf(`log-${++objects}`), async (_instance: UserHub, state) => {
      const sql = state.storage.sql;
      sql.exec(`CREATE TABLE userhub_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE userhub_log (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, sender TEXT, data TEXT NOT NULL, bytes INTEGER NOT NULL);
        INSERT INTO userhub_meta (key, value) VALUES ('epoch', 'old-epoch'), ('seq', '7'), ('bytes', '0');
        INSERT INTO userhub_log (seq, at, sender, data, bytes) VALUES (8, 0, 'c1', '"a"', 3), (9, 0, NULL, '"b"', 3);`);
      const log = new SqliteDeliveryLog(sql, LOOSE, () => 0);
      expect([await log.epoch(), await log.latestSeq(), await log.oldestSeq()]).toEqual(["old-epoch", 9, 8]);
      expect(await log.since(7)).toEqual({ kind: "replay", deliveries: [{ seq: 8, at: 0, data: "a", from: "c1" }, { seq: 9, at: 0, data: "b" }] });
      expect((await log.append([{ data: "c" }], 0)).seqs).toEqual([10]);
      expect(sql.exec("SELECT name FROM sqlite_master WHERE name = 'userhub_log'").toArray()).toEqual([]);
    });
  });

  it("finds where it stands after a restart at any point of the mark's period, in one statement", async () => {
    for (const count of [5, 100, 300, 1000]) {
      for (const n of [0, 1, 255, 256, 257, 300, 511, 512, 513, 601, 767, 1000, 1100]) {
        await runInDurableObject(hubOf(`log-${++objects}`), async (_instance: UserHub, state) => {
          const log = new SqliteDeliveryLog(state.storage.sql, { ...LOOSE, count });
          // Payloads of different lengths, so the byte total tells a wrong row from the right one.
          for (let i = 1; i <= n; i++) await log.append([{ data: "x".repeat(i % 7) }], 0);
          await log.latestSeq(); // the schema is made on first use, also with nothing appended
          const sql = countingSql(state.storage.sql);
          const rebuilt = new SqliteDeliveryLog(sql, { ...LOOSE, count }, () => 0);
          const latest = await rebuilt.latestSeq();
          expect(sql.statements, `count ${count}, ${n} deliveries`).toBe(1);
          const where = { latest, oldest: await rebuilt.oldestSeq() };
          expect(where, `count ${count}, ${n} deliveries`).toEqual({ latest: n, oldest: Math.max(1, n - count + 1) });
          await rebuilt.append([{ data: "next" }], 0);
          let bytes = 0;
          for (let i = 1; i <= n; i++) bytes += JSON.stringify("x".repeat(i % 7)).length;
          const next = state.storage.sql.exec<{ base: number }>("SELECT base FROM userhub_ring WHERE seq = ?", n + 1).one();
          expect(next.base, `count ${count}, ${n} deliveries: the next row's byte offset`).toBe(bytes);
          expect((await rebuilt.since(Math.max(0, n - 2))).kind).toBe("replay");
        });
      }
    }
  });

  it("finds where it stands after a prune cut it back to its newest row at the mark and deliveries followed", async () => {
    const stub = hubOf(`log-${++objects}`);
    await runInDurableObject(stub, async (_instance: UserHub, state) => {
      const log = new SqliteDeliveryLog(state.storage.sql, { ...LOOSE, count: 1000, bytes: 1 });
      for (let i = 1; i <= 300; i++) await log.append([{ data: i }], 0);
      await log.prune(0); // the byte bound of 1 keeps only the newest row, and the mark says where it stood
      const kept = new SqliteDeliveryLog(state.storage.sql, { ...LOOSE, count: 1000 });
      for (let i = 301; i <= 305; i++) await kept.append([{ data: i }], 0);
    });
    await runInDurableObject(stub, async (_instance: UserHub, state) => {
      const log = new SqliteDeliveryLog(state.storage.sql, { ...LOOSE, count: 1000 }, () => 0);
      expect([await log.latestSeq(), await log.oldestSeq()]).toEqual([305, 300]);
      expect(log.entries().map((d) => d.data)).toEqual([300, 301, 302, 303, 304, 305]);
      expect((await log.append([{ data: 306 }], 0)).seqs).toEqual([306]);
    });
  });

  it("moves its rows into a ring of the new size when `count` changes, once, and goes on numbering", async () => {
    const stub = hubOf(`log-${++objects}`);
    await runInDurableObject(stub, async (_instance: UserHub, state) => {
      const log = new SqliteDeliveryLog(state.storage.sql, { ...LOOSE, count: 10 });
      for (let i = 1; i <= 25; i++) await log.append([{ data: i }], 0);
    });
    for (const [count, oldest] of [[4, 22], [50, 22], [50, 22]] as const) {
      await runInDurableObject(stub, async (_instance: UserHub, state) => {
        const log = new SqliteDeliveryLog(state.storage.sql, { ...LOOSE, count }, () => 0);
        expect([await log.latestSeq(), await log.oldestSeq()], `count ${count}`).toEqual([25, oldest]);
        expect((await log.since(oldest - 1)).kind).toBe("replay");
        expect(log.entries().map((d) => d.data)).toEqual(Array.from({ length: 25 - oldest + 1 }, (_, i) => oldest + i));
        expect(state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM userhub_ring").one().n).toBe(25 - oldest + 1);
      });
    }
    await runInDurableObject(stub, async (_instance: UserHub, state) => {
      const log = new SqliteDeliveryLog(state.storage.sql, { ...LOOSE, count: 50 }, () => 0);
      expect((await log.append([{ data: 26 }], 0)).seqs).toEqual([26]);
      expect(log.entries().map((d) => d.data)).toEqual([22, 23, 24, 25, 26]);
    });
  });

  it("writes a delivery from a hinted latest seq in one statement, checked as it writes; a wrong hint costs that statement, then the usual way", async () => {
    const stub = hubOf(`log-${++objects}`);
    await runInDurableObject(stub, async (_instance: UserHub, state) => {
      const log = new SqliteDeliveryLog(state.storage.sql, { ...LOOSE, count: 50 });
      for (let i = 1; i <= 120; i++) await log.append([{ data: `m${i}` }], i);
    });
    const rowOf = (sql: SqlStorage, seq: number) => sql.exec<{ base: number; bytes: number }>("SELECT base, bytes FROM userhub_ring WHERE seq = ?", seq).one();
    // Each a new instance, told the latest seq right, one short, past it, far past it, and right again.
    const hints: [string, (latest: number) => number, number][] = [
      ["right", (latest) => latest, 1],
      ["one short", (latest) => latest - 1, 3],
      ["past it", (latest) => latest + 3, 3],
      ["far past it", () => 10_000, 3],
      ["a lap short", (latest) => latest - 50, 3],
      ["right again", (latest) => latest, 1],
    ];
    for (const [name, hintOf, statements] of hints) {
      await runInDurableObject(stub, async (_instance: UserHub, state) => {
        const latest = state.storage.sql.exec<{ seq: number }>("SELECT MAX(seq) AS seq FROM userhub_ring").one().seq;
        const sql = countingSql(state.storage.sql);
        const log = new SqliteDeliveryLog(sql, { ...LOOSE, count: 50 }, () => 0);
        log.hint(hintOf(latest));
        expect((await log.append([{ data: name, from: "c1" }], 500)).seqs, name).toEqual([latest + 1]);
        await log.prune(500);
        expect(sql.statements, `${name}: statements`).toBe(statements);
        expect(sql.rowsWritten, `${name}: rows written`).toBe(1);
        // The row continues the byte count, whichever way it was written.
        const previous = rowOf(state.storage.sql, latest);
        expect(rowOf(state.storage.sql, latest + 1).base, name).toBe(previous.base + previous.bytes);
      });
    }
    await runInDurableObject(stub, async (_instance: UserHub, state) => {
      const log = new SqliteDeliveryLog(state.storage.sql, { ...LOOSE, count: 50 }, () => 0);
      expect(await log.latestSeq()).toBe(126);
      const replay = await log.since(119);
      expect(replay.kind === "replay" && replay.deliveries.map((d) => [d.seq, d.data, d.from ?? null])).toEqual([
        [120, "m120", null],
        ...hints.map(([name], i) => [121 + i, name, "c1"]),
      ]);
    });
  });

  it("a delivery within the user that takes a slot from one between users leaves no origin behind, and the other way round, written warm or from a hint", async () => {
    const stub = hubOf(`log-${++objects}`);
    const between = (n: number) => ({ data: `d${n}`, from: "c1", fromUser: "alice", toUser: "bob" });
    const own = (n: number) => ({ data: `o${n}`, from: "c2" });
    // A ring of 10: seqs 1–10 fill it between users, 11–20 rewrite those slots within the user, 21–25 between users again.
    await runInDurableObject(stub, async (_instance: UserHub, state) => {
      const log = new SqliteDeliveryLog(state.storage.sql, { ...LOOSE, count: 10 });
      for (let n = 1; n <= 10; n++) await log.append([between(n)], 0);
      for (let n = 11; n <= 20; n++) await log.append([own(n)], 0);
      for (let n = 21; n <= 25; n++) await log.append([between(n)], 0);
    });
    // From a hint: 26 within the user over 16 (within), 27 between users over 17 (within), 28 within over 18.
    await runInDurableObject(stub, async (_instance: UserHub, state) => {
      const sql = countingSql(state.storage.sql);
      const log = new SqliteDeliveryLog(sql, { ...LOOSE, count: 10 }, () => 0);
      log.hint(25);
      await log.append([own(26)], 0);
      await log.append([between(27)], 0);
      await log.append([own(28)], 0);
      expect(sql.statements, "each delivery one statement, the hint right").toBe(3);
    });
    await runInDurableObject(stub, async (_instance: UserHub, state) => {
      const rows = state.storage.sql.exec<{ seq: number; sender: string | null; from_user: string | null; to_user: string | null }>("SELECT seq, sender, from_user, to_user FROM userhub_ring ORDER BY seq").toArray();
      const expected = (seq: number) => (seq >= 21 && seq <= 25) || seq === 27 ? { sender: "c1", from_user: "alice", to_user: "bob" } : { sender: "c2", from_user: null, to_user: null };
      expect(rows).toEqual(Array.from({ length: 10 }, (_, i) => ({ seq: 19 + i, ...expected(19 + i) })));
      const log = new SqliteDeliveryLog(state.storage.sql, { ...LOOSE, count: 10 }, () => 0);
      expect(log.entries().map((d) => [d.seq, d.data, d.fromUser ?? null, d.toUser ?? null])).toEqual(
        rows.map(({ seq }) => [seq, expected(seq).from_user ? `d${seq}` : `o${seq}`, expected(seq).from_user, expected(seq).to_user]),
      );
    });
  });

  it("refuses a hint across a change of ring size, and for a delivery that writes the mark, and goes on numbering", async () => {
    const stub = hubOf(`log-${++objects}`);
    // 230 and 231 sit at the same slots of a 50-slot ring and a 40-slot one: a hinted write lines up with either layout.
    await runInDurableObject(stub, async (_instance: UserHub, state) => {
      const log = new SqliteDeliveryLog(state.storage.sql, { ...LOOSE, count: 50 });
      for (let i = 1; i <= 230; i++) await log.append([{ data: i }], 0);
    });
    await runInDurableObject(stub, async (_instance: UserHub, state) => {
      const log = new SqliteDeliveryLog(state.storage.sql, { ...LOOSE, count: 40 }, () => 0);
      log.hint(230);
      expect((await log.append([{ data: 231 }], 0)).seqs).toEqual([231]);
      expect(log.entries().map((d) => d.data)).toEqual(Array.from({ length: 40 }, (_, i) => 192 + i));
    });
    await runInDurableObject(stub, async (_instance: UserHub, state) => {
      const sql = countingSql(state.storage.sql);
      const log = new SqliteDeliveryLog(sql, { ...LOOSE, count: 40 }, () => 0);
      log.hint(231);
      expect((await log.append([{ data: 232 }], 0)).seqs).toEqual([232]);
      expect((await log.append([{ data: 233 }], 0)).seqs).toEqual([233]);
      expect(sql.statements).toBe(2);
      for (let seq = 234; seq < MARK_EVERY; seq++) await log.append([{ data: seq }], 0);
    });
    await runInDurableObject(stub, async (_instance: UserHub, state) => {
      const log = new SqliteDeliveryLog(state.storage.sql, { ...LOOSE, count: 40 }, () => 0);
      log.hint(MARK_EVERY - 1);
      expect((await log.append([{ data: MARK_EVERY }], 0)).seqs).toEqual([MARK_EVERY]);
      expect(state.storage.sql.exec<{ seq: number }>("SELECT seq FROM userhub_mark WHERE id = 0").one().seq).toBe(MARK_EVERY);
      expect(log.entries().map((d) => d.data)).toEqual(Array.from({ length: 40 }, (_, i) => MARK_EVERY - 39 + i));
    });
  });

  it("moves a log kept by the layout keyed by seq (userhub_deliveries) into the ring once, newest `count` rows", async () => {
    await runInDurableObject(hubOf(`log-${++objects}`), async (_instance: UserHub, state) => {
      const sql = state.storage.sql;
      sql.exec(`CREATE TABLE userhub_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE userhub_deliveries (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, sender TEXT, data TEXT NOT NULL, bytes INTEGER NOT NULL, base INTEGER NOT NULL, from_user TEXT, to_user TEXT);
        INSERT INTO userhub_meta (key, value) VALUES ('epoch', 'old-epoch');`);
      for (let seq = 3; seq <= 12; seq++) sql.exec("INSERT INTO userhub_deliveries VALUES (?, 0, NULL, ?, 1, ?, ?, NULL)", seq, String(seq % 10), seq - 3, seq === 12 ? "alice" : null);
      const log = new SqliteDeliveryLog(sql, { ...LOOSE, count: 4 }, () => 0);
      expect([await log.epoch(), await log.latestSeq(), await log.oldestSeq()]).toEqual(["old-epoch", 12, 9]);
      expect(await log.since(10)).toEqual({ kind: "replay", deliveries: [{ seq: 11, at: 0, data: 1 }, { seq: 12, at: 0, data: 2, fromUser: "alice" }] });
      expect((await log.append([{ data: "c" }], 0)).seqs).toEqual([13]);
      expect(sql.exec<{ base: number }>("SELECT base FROM userhub_ring WHERE seq = 13").one().base).toBe(10);
      expect(sql.exec("SELECT name FROM sqlite_master WHERE name = 'userhub_deliveries'").toArray()).toEqual([]);
    });
  });

  it("gives a memory log a new epoch per instance: a restart of it is a reset, and says so", () => {
    expect(new MemoryDeliveryLog().epoch()).not.toBe(new MemoryDeliveryLog().epoch());
  });
});
