/**
 * `POST /messages` on Deno: no queue, the request itself pushes to every
 * listed user in process, 16 at a time, into each user's durable log (Deno
 * KV, in memory here). 1,000 users, most of them offline, each get the data
 * once; the same request again delivers nothing; bad input gets its 4xx.
 */
import { deepStrictEqual, equal } from "node:assert";
import { readHubConfig } from "../../src/index.ts";
import { retentionOf } from "../../src/host.ts";
import { KvDeliveryLog, serve } from "../../src/deno/mod.ts";
import { fanOutApp } from "../../worker/demo-app.ts";
import { TEST_SECRET } from "./local-server.ts";

const PUSH_KEY = "deno-fan-out-key";

async function withServer(run: (url: string, kv: Deno.Kv) => Promise<void>): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  const config = readHubConfig({});
  const server = serve({
    secret: TEST_SECRET,
    config,
    app: fanOutApp,
    log: (userId) => new KvDeliveryLog(kv, userId, retentionOf(config)),
    router: { pushKey: () => PUSH_KEY },
    port: 0,
  });
  try {
    await run(server.url, kv);
  } finally {
    await server.shutdown();
    kv.close();
  }
}

function postMessages(url: string, body: unknown, key: string | null): Promise<Response> {
  return fetch(`${url}/messages`, {
    method: "POST",
    headers: { Authorization: `Bearer ${PUSH_KEY}`, ...(key === null ? {} : { "Idempotency-Key": key }) },
    body: JSON.stringify(body),
  });
}

/** What `userId`'s log holds, read from the same Deno KV the hubs write. */
async function logOf(kv: Deno.Kv, userId: string): Promise<{ seq: number; data: unknown }[]> {
  const replay = await new KvDeliveryLog(kv, userId).since(0);
  if (replay.kind !== "replay") throw new Error(`${userId}: ${replay.kind}`);
  return replay.deliveries.map((delivery) => ({ seq: delivery.seq, data: delivery.data }));
}

Deno.test("POST /messages pushes to 1,000 users in process, each log once, and a retry with the same key delivers nothing", async () => {
  await withServer(async (url, kv) => {
    const userIds = Array.from({ length: 1000 }, (_, i) => `deno-many-${i}`);
    const first = await postMessages(url, { userIds: [...userIds, userIds[0]], data: { text: "to all" } }, "deno-1");
    equal(first.status, 200);
    deepStrictEqual(await first.json(), { recipients: 1000, delivered: 1000, duplicates: 0, queued: 0 });
    const retry = await postMessages(url, { userIds, data: { text: "to all" } }, "deno-1");
    equal(retry.status, 200);
    deepStrictEqual(await retry.json(), { recipients: 1000, delivered: 0, duplicates: 1000, queued: 0 });
    const wrong: string[] = [];
    for (const userId of userIds) {
      const log = await logOf(kv, userId);
      if (JSON.stringify(log) !== JSON.stringify([{ seq: 1, data: { text: "to all" } }])) wrong.push(`${userId}: ${JSON.stringify(log)}`);
    }
    deepStrictEqual(wrong, []);
  });
});

Deno.test("POST /messages on Deno refuses bad input with the same 4xx as on Cloudflare, and delivers nothing", async () => {
  await withServer(async (url, kv) => {
    const cases: [unknown, string | null, number, RegExp][] = [
      [{ userIds: ["deno-bad"], data: 1 }, null, 400, /needs an Idempotency-Key/],
      [{ userIds: ["deno-bad", "not valid"], data: 1 }, "k", 400, /userIds\[1\] is not a valid user id/],
      [{ userIds: ["deno-bad"] }, "k", 400, /needs "data"/],
      [{ userIds: ["deno-bad"], data: "x".repeat(64 * 1024) }, "k", 413, /"data" may be at most 65536 bytes/],
      [{ userIds: Array.from({ length: 10_001 }, (_, i) => `u${i}`), data: 1 }, "k", 413, /at most 10000 a request/],
      [{ userIds: ["deno-bad"], data: JSON.parse("[".repeat(1001) + "]".repeat(1001)) }, "k", 400, /nests deeper than 1000 levels/],
    ];
    for (const [body, key, status, message] of cases) {
      const response = await postMessages(url, body, key);
      equal(response.status, status);
      const text = await response.text();
      equal(message.test(text), true, text);
    }
    deepStrictEqual(await logOf(kv, "deno-bad"), []);
  });
});
