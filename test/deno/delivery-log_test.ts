/**
 * The DeliveryLog contract (test/contract/) on Deno's two logs: the memory log
 * and the Deno KV log; then what only the KV log promises: it survives a
 * restart of the process, with the same seq and epoch.
 */
import { deepStrictEqual } from "node:assert";
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
