/**
 * The DeliveryLog contract, written once and run against every log: the
 * memory and SQLite logs in workerd (test/workerd/delivery-log.test.ts) and
 * the memory and Deno KV logs in Deno (test/deno/delivery-log_test.ts).
 * Each case gets a fresh log with its retention and a deep-equality check.
 */
import { type DeliveryLog, payloadBytes, type RetentionPolicy } from "../../src/host.ts";

/** Fails the case unless `actual` deeply equals `expected`. */
export type ExpectEqual = (actual: unknown, expected: unknown, message?: string) => void;

export interface DeliveryLogCase {
  readonly name: string;
  readonly retention: Partial<RetentionPolicy>;
  run(log: DeliveryLog, expectEqual: ExpectEqual): Promise<void>;
}

/** A retention that keeps everything a case writes, unless the case narrows it. */
export const LOOSE_RETENTION: RetentionPolicy = { count: 1000, ageMs: 60_000, bytes: 1 << 20 };

async function seqsAfter(log: DeliveryLog, since: number): Promise<unknown> {
  const result = await log.since(since);
  return result.kind === "replay" ? result.deliveries.map((d) => d.seq) : result;
}

export const deliveryLogContract: readonly DeliveryLogCase[] = [
  {
    name: "numbers deliveries from 1 with no gaps, batch by batch, keeping payload, time and sender",
    retention: {},
    async run(log, expectEqual) {
      expectEqual(await log.latestSeq(), 0);
      expectEqual(await log.oldestSeq(), 1);
      expectEqual((await log.append([{ data: "a" }], 100)).seqs, [1]);
      const batch = await log.append([{ data: { n: 2 }, from: "conn-1" }, { data: [3] }], 200);
      expectEqual(batch.seqs, [2, 3]);
      expectEqual(batch.duplicate, false);
      expectEqual(batch.deliveries, [
        { seq: 2, at: 200, data: { n: 2 }, from: "conn-1" },
        { seq: 3, at: 200, data: [3] },
      ]);
      expectEqual(await log.latestSeq(), 3);
      expectEqual(await log.since(1), { kind: "replay", deliveries: batch.deliveries });
    },
  },
  {
    name: "replays what came after a seq, nothing when up to date, and reports a gap for a future seq",
    retention: {},
    async run(log, expectEqual) {
      await log.append([1, 2, 3, 4].map((n) => ({ data: n })), 0);
      expectEqual(await seqsAfter(log, 0), [1, 2, 3, 4]);
      expectEqual(await seqsAfter(log, 2), [3, 4]);
      expectEqual(await seqsAfter(log, 4), []);
      expectEqual(await log.since(5), { kind: "gap", oldest: 1, latest: 4 });
    },
  },
  {
    name: "keeps at most `count` deliveries; an older seq becomes a gap; numbering goes on",
    retention: { count: 3 },
    async run(log, expectEqual) {
      await log.append([1, 2, 3, 4, 5].map((n) => ({ data: n })), 0);
      await log.prune(0);
      expectEqual(await log.oldestSeq(), 3);
      expectEqual(await seqsAfter(log, 2), [3, 4, 5]);
      expectEqual(await log.since(1), { kind: "gap", oldest: 3, latest: 5 });
      expectEqual((await log.append([{ data: 6 }], 0)).seqs, [6]);
    },
  },
  {
    name: "pruned after every delivery, one at a time, keeps exactly the newest `count`, replays and reports gaps right throughout",
    retention: { count: 5 },
    async run(log, expectEqual) {
      for (let seq = 1; seq <= 40; seq++) {
        await log.append([{ data: seq }], seq);
        await log.prune(seq);
        const oldest = Math.max(1, seq - 4);
        expectEqual(await log.oldestSeq(), oldest, `oldest after ${seq}`);
        expectEqual(await seqsAfter(log, oldest - 1), Array.from({ length: seq - oldest + 1 }, (_, i) => oldest + i), `replay after ${seq}`);
        expectEqual(await seqsAfter(log, seq - 1), [seq], `the latest after ${seq}`);
        if (oldest > 2) expectEqual(await log.since(oldest - 2), { kind: "gap", oldest, latest: seq }, `gap after ${seq}`);
      }
    },
  },
  {
    name: "keeps at most `bytes` of payload, newest first",
    retention: { bytes: payloadBytes("abcd") * 2 + 1 },
    async run(log, expectEqual) {
      await log.append(["abcd", "abcd", "abcd", "abcd"].map((data) => ({ data })), 0);
      await log.prune(0);
      expectEqual(await seqsAfter(log, 2), [3, 4]);
      expectEqual(await log.oldestSeq(), 3);
    },
  },
  {
    name: "drops deliveries older than `ageMs`, and keeps the seq when nothing is left",
    retention: { ageMs: 1000 },
    async run(log, expectEqual) {
      await log.append([{ data: "old" }, { data: "old" }], 10_000);
      await log.append([{ data: "new" }], 14_500);
      await log.prune(15_000);
      expectEqual(await seqsAfter(log, 2), [3]);
      await log.prune(20_000);
      expectEqual(await log.oldestSeq(), 4);
      expectEqual(await log.latestSeq(), 3);
      expectEqual(await log.since(3), { kind: "replay", deliveries: [] });
      expectEqual(await log.since(2), { kind: "gap", oldest: 4, latest: 3 });
      expectEqual((await log.append([{ data: "next" }], 20_000)).seqs, [4]);
    },
  },
  {
    name: "a read told a time past `ageMs` replays nothing older and reports the oldest kept, with nothing written or pruned since",
    retention: { ageMs: 1000 },
    async run(log, expectEqual) {
      await log.append([{ data: "old" }], 10_000);
      await log.append([{ data: "newer" }], 10_800);
      // A hub whose sockets only send signals tells the log no time between the appends and the resume.
      expectEqual(await log.since(0, 11_500), { kind: "gap", oldest: 2, latest: 2 });
      expectEqual(await seqsAfter(log, 1), [2]);
      expectEqual(await log.oldestSeq(12_000), 3);
      expectEqual(await log.since(2, 12_000), { kind: "replay", deliveries: [] });
      expectEqual(await log.since(1, 12_000), { kind: "gap", oldest: 3, latest: 2 });
      // The log's clock only moves forward: an earlier read does not bring back what a later one found too old.
      expectEqual(await log.oldestSeq(10_000), 3);
      expectEqual((await log.append([{ data: "next" }], 12_000)).seqs, [3]);
      expectEqual(await seqsAfter(log, 2), [3]);
    },
  },
  {
    name: "keeps a delivery larger than `bytes` while it is the newest, and drops it for the next",
    retention: { bytes: payloadBytes("abcd") * 2 + 1 },
    async run(log, expectEqual) {
      const large = "x".repeat(100);
      expectEqual((await log.append([{ data: "abcd" }, { data: large }], 0)).seqs, [1, 2]);
      await log.prune(0);
      expectEqual(await log.oldestSeq(), 2);
      expectEqual(await seqsAfter(log, 1), [2]);
      expectEqual(await log.since(0), { kind: "gap", oldest: 2, latest: 2 });
      await log.append([{ data: "ab" }], 0);
      await log.prune(0);
      expectEqual(await log.oldestSeq(), 3);
      expectEqual(await log.since(1), { kind: "gap", oldest: 3, latest: 3 });
      // The age bound still applies to the newest.
      expectEqual(await log.since(2, LOOSE_RETENTION.ageMs + 1), { kind: "gap", oldest: 4, latest: 3 });
    },
  },
  {
    name: "delivers a batch with a repeated idempotency key once, and forgets the key after `ageMs`",
    retention: { ageMs: 1000 },
    async run(log, expectEqual) {
      const first = await log.append([{ data: "a" }, { data: "b" }], 0, "order-42");
      const again = await log.append([{ data: "a" }, { data: "b" }], 500, "order-42");
      expectEqual(again, { seqs: first.seqs, deliveries: [], duplicate: true });
      expectEqual(await log.latestSeq(), 2);
      expectEqual((await log.append([{ data: "c" }], 500, "order-43")).seqs, [3]);
      await log.prune(2000);
      expectEqual((await log.append([{ data: "a" }], 2000, "order-42")).duplicate, false);
    },
  },
  {
    name: "keeps a large payload whole (64 KiB of multi-byte text) and replays it unchanged",
    retention: {},
    async run(log, expectEqual) {
      const large = { text: "é€😀".repeat(8 * 1024), n: 1 };
      await log.append([{ data: large }, { data: "small" }], 0);
      const replay = await log.since(0);
      expectEqual(replay.kind === "replay" ? replay.deliveries.map((d) => d.data) : replay, [large, "small"]);
    },
  },
  {
    name: "says which seqs a key it remembers was given (remembered), and forgets it after `ageMs` as append does",
    retention: { ageMs: 1000 },
    async run(log, expectEqual) {
      expectEqual(typeof log.remembered, "function", "every log of this package can say");
      expectEqual(await log.remembered!("order-42", 0), null, "before any key");
      await log.append([{ data: "a" }, { data: "b" }], 0, "order-42");
      await log.append([{ data: "c" }], 10);
      expectEqual(await log.remembered!("order-42", 999), [1, 2]);
      expectEqual(await log.remembered!("order-43", 999), null);
      // Forgotten exactly when an append with it is no duplicate any more.
      expectEqual(await log.remembered!("order-42", 1000), null);
      expectEqual((await log.append([{ data: "a" }], 1000, "order-42")).duplicate, false);
      expectEqual(await log.remembered!("order-42", 1000), [4]);
    },
  },
];
