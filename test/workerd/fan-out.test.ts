// POST /messages and its queue consumer inside workerd: the route's refusals
// (each bad input a 4xx naming it, nothing delivered), small lists pushed
// directly, long ones handed to the demo's real queue binding (Miniflare's
// queue, consumed by the demo Worker's own `queue` handler), and the
// consumer driven with `createMessageBatch`: acked per message, retried only
// where a hub failed, and never a second delivery to a user however often a
// message comes back. Each user's log is read from its hub's SQLite.
import { createExecutionContext, createMessageBatch, env, getQueueResult, runInDurableObject, SELF } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { userhubWorker } from "../../durable-objects/index.ts";
import { ConfigError, createUserhubRouter } from "../../src/index.ts";
import { consumeFanOut, type FanOutBatch, type FanOutMessage, fanOutPushOptions, type HubNamespace, MAX_FAN_OUT_RECIPIENTS } from "../../src/host.ts";
import worker from "../../worker/index.ts";
import { flakyHubNamespace, type InjectedFailure } from "../support/flaky-hub-namespace.ts";
import { connect, hubOf, tokenFor } from "./hub-client.ts";

const PUSH_KEY = env.PUSH_API_KEY!;

let runs = 0;
/** `count` fresh user ids, none used by another test. */
const usersOf = (name: string, count: number) => {
  const run = ++runs;
  return Array.from({ length: count }, (_, i) => `${name}-${run}-${i}`);
};

function postMessages(body: unknown, headers: Record<string, string> = { "Idempotency-Key": `k-${++runs}` }) {
  return SELF.fetch("https://hub.test/messages", {
    method: "POST",
    headers: { Authorization: `Bearer ${PUSH_KEY}`, "Content-Type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** What `userId`'s log holds, oldest first, read from its hub's SQLite (nothing when no delivery ever made the table). */
async function logOf(userId: string): Promise<{ seq: number; data: unknown }[]> {
  return await runInDurableObject(hubOf(userId), (_hub, state) => {
    const tables = state.storage.sql.exec("SELECT name FROM sqlite_master WHERE name = 'userhub_ring'").toArray();
    if (tables.length === 0) return [];
    return state.storage.sql
      .exec<{ seq: number; data: string }>("SELECT seq, data FROM userhub_ring ORDER BY seq")
      .toArray()
      .map((row) => ({ seq: row.seq, data: JSON.parse(row.data) as unknown }));
  });
}

/** Every user's log holds exactly `data`, once. */
async function expectOnceEach(userIds: readonly string[], data: unknown) {
  const logs = await Promise.all(userIds.map(async (userId) => [userId, await logOf(userId)] as const));
  for (const [userId, log] of logs) expect(log, userId).toEqual([{ seq: 1, data }]);
}

describe("POST /messages: refusals", () => {
  it("answers each bad input with a 4xx naming it, and delivers nothing", async () => {
    const [alice] = usersOf("refused", 1) as [string];
    const cases: [unknown, Record<string, string>, number, RegExp][] = [
      [{ userIds: [alice], data: 1 }, {}, 400, /needs an Idempotency-Key/],
      [{ userIds: [alice], data: 1 }, { "Idempotency-Key": "a b" }, 400, /Idempotency-Key must be 1-200 printable ASCII/],
      [{ userIds: [alice], data: 1 }, { "Idempotency-Key": "k".repeat(201) }, 400, /Idempotency-Key must be/],
      ["not json", { "Idempotency-Key": "k1" }, 400, /body must be JSON/],
      [[alice], { "Idempotency-Key": "k1" }, 400, /JSON object/],
      [{ data: 1 }, { "Idempotency-Key": "k1" }, 400, /"userIds" must be a non-empty array/],
      [{ userIds: [], data: 1 }, { "Idempotency-Key": "k1" }, 400, /"userIds" must be a non-empty array/],
      [{ userIds: alice, data: 1 }, { "Idempotency-Key": "k1" }, 400, /"userIds" must be a non-empty array/],
      [{ userIds: [alice] }, { "Idempotency-Key": "k1" }, 400, /needs "data"/],
      [{ userIds: [alice], messages: [1] }, { "Idempotency-Key": "k1" }, 400, /not "messages"/],
      [{ userIds: [alice, "bob smith"], data: 1 }, { "Idempotency-Key": "k1" }, 400, /userIds\[1\] is not a valid user id/],
      [{ userIds: [alice, 7], data: 1 }, { "Idempotency-Key": "k1" }, 400, /userIds\[1\] is not a valid user id/],
      [{ userIds: [alice, "x".repeat(129)], data: 1 }, { "Idempotency-Key": "k1" }, 400, /userIds\[1\]/],
      [{ userIds: Array.from({ length: MAX_FAN_OUT_RECIPIENTS + 1 }, (_, i) => `u${i}`), data: 1 }, { "Idempotency-Key": "k1" }, 413, /at most 10000 a request/],
      [{ userIds: [alice], data: "x".repeat(64 * 1024) }, { "Idempotency-Key": "k1" }, 413, /"data" may be at most 65536 bytes/],
      [{ userIds: [alice], data: "x".repeat(1024 * 1024) }, { "Idempotency-Key": "k1" }, 413, /at most 1048576 bytes/],
      // Workers RPC overflows between 2,000 and 5,000 levels; a queued push would find out only in the consumer.
      ['{"userIds":["' + alice + '"],"data":' + "[".repeat(1001) + "]".repeat(1001) + "}", { "Idempotency-Key": "k1" }, 400, /"data" nests deeper than 1000 levels/],
      ['{"userIds":["' + alice + '"],"data":' + '{"a":'.repeat(10_000) + "1" + "}".repeat(10_000) + "}", { "Idempotency-Key": "k1" }, 400, /nests deeper than 1000/],
    ];
    for (const [body, headers, status, message] of cases) {
      const response = await postMessages(body, headers);
      expect(response.status, JSON.stringify(body).slice(0, 60)).toBe(status);
      expect(await response.text()).toMatch(message);
    }
    expect(await logOf(alice)).toEqual([]);
    // 1,000 levels are delivered.
    const deep = await postMessages('{"userIds":["' + alice + '"],"data":' + "[".repeat(1000) + "]".repeat(1000) + "}");
    expect(deep.status).toBe(200);
    expect((await logOf(alice)).map((entry) => entry.seq)).toEqual([1]);
  });

  it("collapses duplicates before counting: 10,000 distinct users named twice each is not too many", async () => {
    // Not delivered (no queue would take 10,000 users in this test's time): the data is too large, which is checked after the count.
    const userIds = Array.from({ length: MAX_FAN_OUT_RECIPIENTS }, (_, i) => `u${i}`);
    const response = await postMessages({ userIds: [...userIds, ...userIds], data: "x".repeat(64 * 1024) });
    expect(response.status).toBe(413);
    expect(await response.text()).toMatch(/"data" may be at most/);
  });

  it("refuses a missing or wrong server key with 401, a user's token with 403, and answers 404 with no key configured", async () => {
    const [alice] = usersOf("auth", 1) as [string];
    const token = await tokenFor(alice);
    for (const [authorization, status, message] of [
      ["", 401, /server push key/],
      ["Bearer not-the-key", 401, /wrong push key/],
      [`Bearer ${token}`, 403, /a user's token cannot push/],
    ] as const) {
      const response = await postMessages({ userIds: [alice], data: 1 }, { Authorization: authorization, "Idempotency-Key": "k1" });
      expect(response.status).toBe(status);
      const text = await response.text();
      expect(text).toMatch(message);
      expect(text).not.toContain(token);
    }
    const off = await userhubWorker({ hub: "USER_HUB" }).request(
      "https://hub.test/messages",
      { method: "POST", headers: { Authorization: `Bearer ${PUSH_KEY}`, "Idempotency-Key": "k1" }, body: JSON.stringify({ userIds: [alice], data: 1 }) },
      { ...env, PUSH_API_KEY: undefined },
    );
    expect(off.status).toBe(404);
    expect(await logOf(alice)).toEqual([]);
  });

  it("answers a list longer than the direct limit with 413 naming the limit and the missing queue binding, when there is none", async () => {
    const userIds = usersOf("no-queue", 51);
    const app = userhubWorker({ hub: "USER_HUB" }); // no fanOutQueue
    const response = await app.request(
      "https://hub.test/messages",
      { method: "POST", headers: { Authorization: `Bearer ${PUSH_KEY}`, "Idempotency-Key": "k1" }, body: JSON.stringify({ userIds, data: 1 }) },
      env,
    );
    expect(response.status).toBe(413);
    expect(await response.text()).toMatch(/51 users; this server pushes to at most 50 a request itself.*queue binding/);
    expect(await logOf(userIds[0]!)).toEqual([]);
    // A queue named but not bound is the same: the deployer forgot [[queues.producers]].
    const unbound = await userhubWorker({ hub: "USER_HUB", fanOutQueue: "NO_SUCH_QUEUE" }).request(
      "https://hub.test/messages",
      { method: "POST", headers: { Authorization: `Bearer ${PUSH_KEY}`, "Idempotency-Key": "k1" }, body: JSON.stringify({ userIds, data: 1 }) },
      env,
    );
    expect(unbound.status).toBe(413);
  });
});

describe("POST /messages: direct", () => {
  it("delivers to each listed user once (a name listed twice too), live to an open socket, and a retry with the same key delivers nothing", async () => {
    const [alice, bob, carol] = usersOf("direct", 3) as [string, string, string];
    const socket = await connect(bob);
    const first = await postMessages({ userIds: [alice, bob, carol, bob], data: { text: "hi all" } }, { "Idempotency-Key": "announce-1" });
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ recipients: 3, delivered: 3, duplicates: 0, queued: 0 });
    expect(await socket.next()).toMatchObject({ type: "message", seq: 1, data: { text: "hi all" } });
    const retry = await postMessages({ userIds: [alice, bob, carol], data: { text: "hi all" } }, { "Idempotency-Key": "announce-1" });
    expect(retry.status).toBe(200);
    expect(await retry.json()).toEqual({ recipients: 3, delivered: 0, duplicates: 3, queued: 0 });
    await expectOnceEach([alice, bob, carol], { text: "hi all" });
    // The per-user key is apart from POST /users/:id/messages's: the same key there is another push.
    expect((await hubOf(alice).push(["single"], { idempotencyKey: "announce-1" })).duplicate).toBe(false);
    // Nothing more reached bob's socket.
    await hubOf(bob).push(["after"]);
    expect(await socket.next()).toMatchObject({ type: "message", seq: 2, data: "after" });
    socket.socket.close(1000);
  });

  it("a retry after a partial delivery delivers only to those that missed it", async () => {
    const [alice, bob] = usersOf("partial", 2) as [string, string];
    await hubOf(alice).push(["earlier"], fanOutPushOptions("partial-1")); // as if a first attempt reached alice only
    const response = await postMessages({ userIds: [alice, bob], data: "later" }, { "Idempotency-Key": "partial-1" });
    expect(await response.json()).toEqual({ recipients: 2, delivered: 1, duplicates: 1, queued: 0 });
    expect(await logOf(alice)).toEqual([{ seq: 1, data: "earlier" }]);
    expect(await logOf(bob)).toEqual([{ seq: 1, data: "later" }]);
  });
});

describe("POST /messages: keys apart from other pushes", () => {
  /** A push to `userId` through POST /users/:userId/messages, with `key`. */
  async function pushOne(userId: string, data: unknown, key: string) {
    const response = await SELF.fetch(`https://hub.test/users/${userId}/messages`, {
      method: "POST",
      headers: { Authorization: `Bearer ${PUSH_KEY}`, "Content-Type": "application/json", "Idempotency-Key": key },
      body: JSON.stringify({ data }),
    });
    return (await response.json()) as { duplicate: boolean };
  }

  it("a push to one user keyed fan-out:K, and POST /messages keyed K, are two pushes, in either order", async () => {
    const [alice, bob] = usersOf("apart", 2) as [string, string];
    expect((await pushOne(alice, "single", "fan-out:D1")).duplicate).toBe(false);
    expect(await (await postMessages({ userIds: [alice], data: "digest" }, { "Idempotency-Key": "D1" })).json()).toEqual({ recipients: 1, delivered: 1, duplicates: 0, queued: 0 });
    expect(await (await postMessages({ userIds: [bob], data: "digest" }, { "Idempotency-Key": "D2" })).json()).toEqual({ recipients: 1, delivered: 1, duplicates: 0, queued: 0 });
    expect((await pushOne(bob, "single", "fan-out:D2")).duplicate).toBe(false);
    expect(await logOf(alice)).toEqual([{ seq: 1, data: "single" }, { seq: 2, data: "digest" }]);
    expect(await logOf(bob)).toEqual([{ seq: 1, data: "digest" }, { seq: 2, data: "single" }]);
    // Each is still its own kind's duplicate.
    expect((await pushOne(alice, "single", "fan-out:D1")).duplicate).toBe(true);
    expect(await (await postMessages({ userIds: [alice], data: "digest" }, { "Idempotency-Key": "D1" })).json()).toMatchObject({ delivered: 0, duplicates: 1 });
  });
});

describe("POST /messages: queued", () => {
  it("hands a list longer than 50 to the queue (202), and the Worker's own consumer delivers it to each user once", async () => {
    const userIds = usersOf("queued", 60);
    const response = await postMessages({ userIds, data: "to many" }, { "Idempotency-Key": "queued-1" });
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ recipients: 60, delivered: 0, duplicates: 0, queued: 60 });
    // Waits for the consumer (the queue's batch timeout is 1 s); what it delivered is then checked exactly.
    await vi.waitFor(async () => {
      const lengths = await Promise.all(userIds.map(async (userId) => (await logOf(userId)).length));
      expect(lengths.every((length) => length > 0)).toBe(true);
    }, { timeout: 25_000, interval: 250 });
    await expectOnceEach(userIds, "to many");
  }, 30_000);
});

describe("the fan-out queue consumer", () => {
  const batchOf = (messages: FanOutMessage[], attempts = 1) =>
    createMessageBatch<FanOutMessage>("userhub-fan-out", messages.map((body, i) => ({ id: `m${i}`, timestamp: 0, attempts, body })));

  it("acknowledges each message once its users have the data; the same batch again delivers nothing new", async () => {
    const userIds = usersOf("consumer", 40);
    const messages: FanOutMessage[] = [
      { v: 1, key: "c-1", userIds: userIds.slice(0, 25), data: { n: 1 } },
      { v: 1, key: "c-1", userIds: userIds.slice(25), data: { n: 1 } },
    ];
    for (let attempt = 1; attempt <= 2; attempt++) {
      const batch = batchOf(messages, attempt);
      const ctx = createExecutionContext();
      await worker.queue(batch, env, ctx);
      const result = await getQueueResult(batch, ctx);
      expect(result.explicitAcks.sort()).toEqual(["m0", "m1"]);
      expect(result.retryMessages).toEqual([]);
    }
    await expectOnceEach(userIds, { n: 1 });
  }, 30_000);

  it("retries only the message whose hub failed, and its users reached before (or reached with the answer lost) get nothing twice", async () => {
    const userIds = usersOf("flaky", 40);
    const failing = new Map<string, InjectedFailure>([
      [userIds[10]!, "before"],
      [userIds[20]!, "after"],
    ]);
    const flakyEnv = { ...env, USER_HUB: flakyHubNamespace(env.USER_HUB, failing) };
    const messages: FanOutMessage[] = [
      { v: 1, key: "f-1", userIds: userIds.slice(0, 25), data: "flaky" },
      { v: 1, key: "f-1", userIds: userIds.slice(25), data: "flaky" },
    ];
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const first = batchOf(messages);
      const ctx = createExecutionContext();
      await worker.queue(first, flakyEnv, ctx);
      const result = await getQueueResult(first, ctx);
      expect(result.explicitAcks).toEqual(["m1"]);
      expect(result.retryMessages).toEqual([{ msgId: "m0" }]);
      expect(errors.mock.calls.flat().join("\n")).toMatch(/message m0: 2 of 25 users could not be reached \(attempt 1\); retrying/);
    } finally {
      errors.mockRestore();
    }
    expect(await logOf(userIds[10]!)).toEqual([]);
    expect(await logOf(userIds[20]!)).toEqual([{ seq: 1, data: "flaky" }]);
    // The queue brings back m0 alone.
    const again = batchOf([messages[0]!], 2);
    const ctx = createExecutionContext();
    await worker.queue(again, flakyEnv, ctx);
    expect((await getQueueResult(again, ctx)).explicitAcks).toEqual(["m0"]);
    await expectOnceEach(userIds, "flaky");
  }, 30_000);

  it("acknowledges without delivering, and logs, a message that is not a push to many users", async () => {
    const [alice] = usersOf("foreign", 1) as [string];
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const batch = createMessageBatch<unknown>("userhub-fan-out", [
        { id: "x0", timestamp: 0, attempts: 1, body: "hello" },
        { id: "x1", timestamp: 0, attempts: 1, body: { v: 2, key: "k", userIds: [alice], data: 1 } },
        { id: "x2", timestamp: 0, attempts: 1, body: { v: 1, key: "k", userIds: ["not valid"], data: 1 } },
      ]);
      const ctx = createExecutionContext();
      await worker.queue(batch, env, ctx);
      const result = await getQueueResult(batch, ctx);
      expect(result.explicitAcks.sort()).toEqual(["x0", "x1", "x2"]);
      expect(result.retryMessages).toEqual([]);
      expect(errors.mock.calls.flat().join("\n")).toMatch(/message x0 is not a push to many users/);
    } finally {
      errors.mockRestore();
    }
    expect(await logOf(alice)).toEqual([]);
  });
});

describe("a hub namespace whose push throws a ConfigError", () => {
  // What a namespace that checks its hubs' configuration lazily, per push, does: no retry or queue can help.
  const misconfigured = { push: () => Promise.reject(new ConfigError("LOG_RETENTION", 'must be a positive whole number, got "abc"')) } as unknown as HubNamespace;

  it("POST /messages answers 500 naming the variable, and queues nothing (not 202, not 503)", async () => {
    const sent: unknown[] = [];
    const app = createUserhubRouter({
      hubs: () => misconfigured,
      secret: () => "s",
      pushKey: () => PUSH_KEY,
      fanOutQueue: () => ({ sendBatch: async (batch) => void sent.push(batch) }),
    });
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const response = await app.request("https://hub.test/messages", {
        method: "POST",
        headers: { Authorization: `Bearer ${PUSH_KEY}`, "Idempotency-Key": "cfg-route" },
        body: JSON.stringify({ userIds: ["a", "b"], data: 1 }),
      });
      expect(response.status).toBe(500);
      expect(await response.text()).toBe('500 Internal Server Error: server misconfigured: LOG_RETENTION: must be a positive whole number, got "abc".\n');
      expect(sent).toEqual([]);
    } finally {
      errors.mockRestore();
    }
  });

  it("the consumer retries the message and its log line names the variable, not an unreachable hub", async () => {
    const batch = createMessageBatch<FanOutMessage>("userhub-fan-out", [{ id: "c0", timestamp: 0, attempts: 2, body: { v: 1, key: "cfg", userIds: ["a", "b"], data: 1 } }]);
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const outcome = await consumeFanOut(misconfigured, batch as unknown as FanOutBatch);
      expect(outcome).toMatchObject({ acked: 0, retried: 1, dropped: 0 });
      expect(errors.mock.calls.map((call) => call.join(" "))).toEqual([
        'userhub: queue userhub-fan-out: message c0: configuration error: LOG_RETENTION: must be a positive whole number, got "abc"; 2 of 2 users not pushed (attempt 2); retrying the message',
      ]);
    } finally {
      errors.mockRestore();
    }
  });
});
