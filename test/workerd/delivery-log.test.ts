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

  it("gives a memory log a new epoch per instance: a restart of it is a reset, and says so", () => {
    expect(new MemoryDeliveryLog().epoch()).not.toBe(new MemoryDeliveryLog().epoch());
  });
});
