// The DeliveryLog contract, run against both logs: MemoryDeliveryLog and the
// Durable Object's SqliteDeliveryLog (inside a real object's SQLite storage).
// Numbering, replay and gaps, retention by count, bytes and age, and
// idempotency keys; then what only SQLite promises: it survives a restart.
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { type DeliveryLog, MemoryDeliveryLog, payloadBytes, type RetentionPolicy } from "../../src/index.ts";
import { SqliteDeliveryLog, type UserHub } from "../../durable-objects/index.ts";
import { hubOf } from "./hub-client.ts";

const LOOSE: RetentionPolicy = { count: 1000, ageMs: 60_000, bytes: 1 << 20 };

let objects = 0;

/** Runs `body` with a fresh log of `kind`; the SQLite one lives in an object of its own, and `body` runs inside it. */
async function withLog(kind: "memory" | "sqlite", retention: Partial<RetentionPolicy>, body: (log: DeliveryLog) => Promise<void>): Promise<void> {
  const policy = { ...LOOSE, ...retention };
  if (kind === "memory") return await body(new MemoryDeliveryLog(policy));
  await runInDurableObject(hubOf(`log-${++objects}`), async (_instance: UserHub, state) => {
    await body(new SqliteDeliveryLog(state.storage.sql, policy));
  });
}

const seqsOf = async (log: DeliveryLog, since: number) => {
  const result = await log.since(since);
  return result.kind === "replay" ? result.deliveries.map((d) => d.seq) : result;
};

for (const kind of ["memory", "sqlite"] as const) {
  describe(`${kind} log`, () => {
    it("numbers deliveries from 1 with no gaps, batch by batch, keeping payload, time and sender", async () => {
      await withLog(kind, {}, async (log) => {
        expect(await log.latestSeq()).toBe(0);
        expect(await log.oldestSeq()).toBe(1);
        expect((await log.append([{ data: "a" }], 100)).seqs).toEqual([1]);
        const batch = await log.append([{ data: { n: 2 }, from: "conn-1" }, { data: [3] }], 200);
        expect(batch).toMatchObject({ seqs: [2, 3], duplicate: false });
        expect(batch.deliveries).toEqual([
          { seq: 2, at: 200, data: { n: 2 }, from: "conn-1" },
          { seq: 3, at: 200, data: [3] },
        ]);
        expect(await log.latestSeq()).toBe(3);
        expect(await log.since(1)).toEqual({ kind: "replay", deliveries: batch.deliveries });
      });
    });

    it("replays what came after a seq, nothing when up to date, and reports a gap for a future seq", async () => {
      await withLog(kind, {}, async (log) => {
        await log.append([1, 2, 3, 4].map((n) => ({ data: n })), 0);
        expect(await seqsOf(log, 0)).toEqual([1, 2, 3, 4]);
        expect(await seqsOf(log, 2)).toEqual([3, 4]);
        expect(await seqsOf(log, 4)).toEqual([]);
        expect(await log.since(5)).toEqual({ kind: "gap", oldest: 1, latest: 4 });
      });
    });

    it("keeps at most `count` deliveries; an older seq becomes a gap; numbering goes on", async () => {
      await withLog(kind, { count: 3 }, async (log) => {
        await log.append([1, 2, 3, 4, 5].map((n) => ({ data: n })), 0);
        await log.prune(0);
        expect(await log.oldestSeq()).toBe(3);
        expect(await seqsOf(log, 2)).toEqual([3, 4, 5]);
        expect(await log.since(1)).toEqual({ kind: "gap", oldest: 3, latest: 5 });
        expect((await log.append([{ data: 6 }], 0)).seqs).toEqual([6]);
      });
    });

    it("keeps at most `bytes` of payload, newest first", async () => {
      const each = payloadBytes("abcd"); // 6: the JSON string with its quotes
      await withLog(kind, { bytes: each * 2 + 1 }, async (log) => {
        await log.append(["abcd", "abcd", "abcd", "abcd"].map((data) => ({ data })), 0);
        await log.prune(0);
        expect(await seqsOf(log, 2)).toEqual([3, 4]);
        expect(await log.oldestSeq()).toBe(3);
      });
    });

    it("drops deliveries older than `ageMs`, and keeps the seq when nothing is left", async () => {
      await withLog(kind, { ageMs: 1000 }, async (log) => {
        await log.append([{ data: "old" }, { data: "old" }], 10_000);
        await log.append([{ data: "new" }], 14_500);
        await log.prune(15_000);
        expect(await seqsOf(log, 2)).toEqual([3]);
        await log.prune(20_000);
        expect(await log.oldestSeq()).toBe(4);
        expect(await log.latestSeq()).toBe(3);
        expect(await log.since(3)).toEqual({ kind: "replay", deliveries: [] });
        expect(await log.since(2)).toEqual({ kind: "gap", oldest: 4, latest: 3 });
        expect((await log.append([{ data: "next" }], 20_000)).seqs).toEqual([4]);
      });
    });

    it("delivers a batch with a repeated idempotency key once, and forgets the key after `ageMs`", async () => {
      await withLog(kind, { ageMs: 1000 }, async (log) => {
        const first = await log.append([{ data: "a" }, { data: "b" }], 0, "order-42");
        const again = await log.append([{ data: "a" }, { data: "b" }], 500, "order-42");
        expect(again).toEqual({ seqs: first.seqs, deliveries: [], duplicate: true });
        expect(await log.latestSeq()).toBe(2);
        expect((await log.append([{ data: "c" }], 500, "order-43")).seqs).toEqual([3]);
        await log.prune(2000);
        expect((await log.append([{ data: "a" }], 2000, "order-42")).duplicate).toBe(false);
      });
    });
  });
}

describe("sqlite log across restarts", () => {
  it("keeps its seq and epoch when the object is rebuilt, even after pruning everything", async () => {
    const stub = hubOf(`log-${++objects}`);
    const first = await runInDurableObject(stub, async (_instance: UserHub, state) => {
      const log = new SqliteDeliveryLog(state.storage.sql, { ...LOOSE, count: 1 });
      log.append([{ data: 1 }, { data: 2 }, { data: 3 }], 0);
      log.prune(0);
      return { epoch: log.epoch(), latest: log.latestSeq() };
    });
    const second = await runInDurableObject(stub, async (_instance: UserHub, state) => {
      const log = new SqliteDeliveryLog(state.storage.sql, { ...LOOSE, count: 1 });
      return { epoch: log.epoch(), latest: log.latestSeq(), oldest: log.oldestSeq(), next: log.append([{ data: 4 }], 0).seqs };
    });
    expect(first).toEqual({ epoch: expect.stringMatching(/^[0-9a-f-]{36}$/), latest: 3 });
    expect(second).toEqual({ epoch: first.epoch, latest: 3, oldest: 3, next: [4] });
  });

  it("gives a memory log a new epoch per instance: a restart of it is a reset, and says so", () => {
    expect(new MemoryDeliveryLog().epoch()).not.toBe(new MemoryDeliveryLog().epoch());
  });
});
