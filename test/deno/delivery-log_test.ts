/**
 * The DeliveryLog contract (test/contract/) on Deno's two logs: the memory log
 * and the Deno KV log; then what only the KV log promises: it survives a
 * restart of the process, with the same seq and epoch.
 */
import { deepStrictEqual, ok as assert } from "node:assert";
import { type DeliveryLog, MemoryDeliveryLog } from "../../src/host.ts";
import { KvDeliveryLog } from "../../src/deno/mod.ts";
import { deliveryLogContract, LOOSE_RETENTION } from "../contract/delivery-log-contract.ts";

const expectEqual = (actual: unknown, expected: unknown, message?: string) => deepStrictEqual(actual, expected, message);

for (const contractCase of deliveryLogContract) {
  const retention = { ...LOOSE_RETENTION, ...contractCase.retention };
  Deno.test(`memory log: ${contractCase.name}`, async () => {
    await contractCase.run(new MemoryDeliveryLog(retention), expectEqual);
  });
  Deno.test(`kv log: ${contractCase.name}`, async () => {
    using kv = await Deno.openKv(":memory:");
    await contractCase.run(new KvDeliveryLog(kv, "alice", retention), expectEqual);
  });
}

Deno.test("kv log: keeps its seq and epoch across a restart (a new process opening the same file), even after pruning everything", async () => {
  const dir = await Deno.makeTempDir({ prefix: "userhub-kv-" });
  try {
    const path = `${dir}/userhub.kv`;
    let first: { epoch: string; latest: number };
    {
      using kv = await Deno.openKv(path);
      const log: DeliveryLog = new KvDeliveryLog(kv, "alice", { ...LOOSE_RETENTION, count: 1 });
      await log.append([{ data: 1 }, { data: 2 }, { data: 3 }], 0);
      await log.prune(0);
      first = { epoch: await log.epoch(), latest: await log.latestSeq() };
    }
    using kv = await Deno.openKv(path);
    // A clock at the deliveries' time: the age bound is applied when the log is read, as on every log.
    const log = new KvDeliveryLog(kv, "alice", { ...LOOSE_RETENTION, count: 1 }, { clock: () => 0 });
    deepStrictEqual(first.latest, 3);
    deepStrictEqual(await log.epoch(), first.epoch);
    deepStrictEqual(await log.oldestSeq(), 3);
    deepStrictEqual((await log.append([{ data: 4 }], 0)).seqs, [4]);
    // Another user's log in the same store starts on its own.
    deepStrictEqual((await new KvDeliveryLog(kv, "bob").append([{ data: "b" }], 0)).seqs, [1]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kv log: concurrent appends are numbered in call order with no gaps", async () => {
  using kv = await Deno.openKv(":memory:");
  const log = new KvDeliveryLog(kv, "alice");
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => log.append([{ data: i }, { data: i }], 0)));
  deepStrictEqual(results.map((r) => r.seqs), Array.from({ length: 20 }, (_, i) => [2 * i + 1, 2 * i + 2]));
});

/** A log whose retention keeps everything these tests write. */
const ROOMY = { count: 1000, ageMs: 60_000, bytes: 64 << 20 };

/** What `log` replays after `since`: each delivery's seq and data. */
async function replayed(log: DeliveryLog, since = 0): Promise<{ seq: number; data: unknown }[]> {
  const result = await log.since(since);
  if (result.kind !== "replay") throw new Error(`expected a replay, got ${JSON.stringify(result)}`);
  return result.deliveries.map((d) => ({ seq: d.seq, data: d.data }));
}

Deno.test("kv log: a delivery of up to 1 MiB, a batch of 100 × 9 KiB and a two-byte text past Deno KV's 800 KiB a commit are written and replayed whole", async () => {
  using kv = await Deno.openKv(":memory:");
  const log = new KvDeliveryLog(kv, "alice", ROOMY);
  // A push body may be 1 MiB: its one delivery a little less.
  const big = "x".repeat(1024 * 1024 - 16);
  const batch = Array.from({ length: 100 }, (_, i) => `${i}:${"y".repeat(9 * 1024)}`);
  // Two bytes a character wherever V8 keeps the string (1.2 MB of UTF-8).
  const euros = "€".repeat(400_000);
  deepStrictEqual((await log.append([{ data: big }], 0)).seqs, [1]);
  deepStrictEqual((await log.append(batch.map((data) => ({ data })), 0)).seqs, Array.from({ length: 100 }, (_, i) => i + 2));
  deepStrictEqual((await log.append([{ data: { text: euros } }], 0)).seqs, [102]);
  const all = await replayed(log);
  deepStrictEqual(all.length, 102);
  deepStrictEqual(all[0], { seq: 1, data: big });
  deepStrictEqual(all.slice(1, 101).map((d) => d.data), batch);
  deepStrictEqual(all[101], { seq: 102, data: { text: euros } });
});

for (
  const [what, data] of [
    ["a 40 KB delivery whose one commit of parts went through and whose meta commit failed", "w".repeat(40_000)],
    ["a 1 MiB delivery whose second commit of parts failed", "z".repeat(1024 * 1024 - 16)],
  ] as const
) {
  Deno.test(`kv log: an append that fails part-way takes no seq, and its leftover parts never reach the delivery that takes the seq next: ${what}`, async () => {
    using kv = await Deno.openKv(":memory:");
    // The store refuses the second commit of the failing append: the parts of seq 2 its first commit wrote are left behind.
    let commits = 0;
    let failing = false;
    const flaky = new Proxy(kv, {
      get(target, name) {
        if (name !== "atomic") {
          const value = Reflect.get(target, name, target);
          return typeof value === "function" ? value.bind(target) : value;
        }
        return () => {
          const op = target.atomic();
          const commit = op.commit.bind(op);
          op.commit = () => (failing && ++commits === 2 ? Promise.reject(new TypeError("injected: the store went away")) : commit());
          return op;
        };
      },
    });
    const log = new KvDeliveryLog(flaky, "alice", ROOMY);
    deepStrictEqual((await log.append([{ data: "first" }], 0)).seqs, [1]);
    failing = true;
    await log.append([{ data }], 0).then(
      () => assert(false, "the append should have failed"),
      (error: Error) => deepStrictEqual(error.message, "injected: the store went away"),
    );
    failing = false;
    deepStrictEqual(await log.latestSeq(), 1);
    deepStrictEqual((await log.append([{ data: "second" }], 0)).seqs, [2]);
    const expected = [{ seq: 1, data: "first" }, { seq: 2, data: "second" }];
    deepStrictEqual(await replayed(log), expected);
    // And from a process that opens the store afresh.
    deepStrictEqual(await replayed(new KvDeliveryLog(kv, "alice", ROOMY, { clock: () => 0 })), expected);
  });
}
