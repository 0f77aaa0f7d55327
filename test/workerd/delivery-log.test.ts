// The DeliveryLog contract (test/contract/) run against both logs of this
// runtime: MemoryDeliveryLog and the Durable Object's SqliteDeliveryLog (inside
// a real object's SQLite storage); then what only SQLite promises here: it
// survives a restart.
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { type DeliveryLog, MemoryDeliveryLog, type RetentionPolicy } from "../../src/index.ts";
import { deliveryLogContract, LOOSE_RETENTION as LOOSE } from "../contract/delivery-log-contract.ts";
import { SqliteDeliveryLog, type UserHub } from "../../durable-objects/index.ts";
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

  it("prunes in batches: a count bound may be passed by 1/16 before the log is cut back to it", async () => {
    await runInDurableObject(hubOf(`log-${++objects}`), (_instance: UserHub, state) => {
      const log = new SqliteDeliveryLog(state.storage.sql, { ...LOOSE, count: 32 });
      const add = (n: number) => log.append(Array.from({ length: n }, (_, i) => ({ data: i })), 0);
      add(34);
      log.prune(0);
      expect(log.oldestSeq()).toBe(1); // 34 kept: within 32 + 2
      add(1);
      log.prune(0);
      expect(log.oldestSeq()).toBe(4); // 35 > 34: back to the latest 32
      expect(log.entries().map((d) => d.seq)).toEqual(Array.from({ length: 32 }, (_, i) => i + 4));
      // A rebuilt log reads the bytes and seq it left, and goes on from there.
      const rebuilt = new SqliteDeliveryLog(state.storage.sql, { ...LOOSE, count: 32 });
      expect([rebuilt.latestSeq(), rebuilt.oldestSeq()]).toEqual([35, 4]);
      expect(rebuilt.append([{ data: "next" }], 0).seqs).toEqual([36]);
    });
  });

  it("gives a memory log a new epoch per instance: a restart of it is a reset, and says so", () => {
    expect(new MemoryDeliveryLog().epoch()).not.toBe(new MemoryDeliveryLog().epoch());
  });
});
