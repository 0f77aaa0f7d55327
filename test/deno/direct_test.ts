// Deliveries between users on Deno: the sender's hub reaches the recipient's
// through the LocalHubNamespace (PeerHubs), on real Deno with real sockets.
// What `hub.users.deliver` answers, a recipient without a hub (made for the
// delivery, then let go), a durable log that keeps it for resume, and the
// in-memory default that does not.
import { deepStrictEqual as assertEquals, match as assertMatch, ok as assert, rejects as assertRejects } from "node:assert";
import { type HubApp, InvalidUserIdError, issueToken, readHubConfig } from "../../src/index.ts";
import { retentionOf } from "../../src/host.ts";
import { KvDeliveryLog, LocalHubNamespace, serve, type UserhubServer } from "../../src/deno/mod.ts";
import { fanOutApp } from "../../worker/demo-app.ts";
import { eventually, ofType, openSocket, type TestSocket } from "./socket-client.ts";

const SECRET = "deno-direct-secret";

/** An app whose `tell` frame answers with what `hub.users.deliver` returned. */
const tellApp: HubApp = {
  frames: {
    ...fanOutApp.frames,
    async tell(frame, connection, hub) {
      const result = await hub.users.deliver(String(frame.to), frame.data, {
        copy: frame.copy === true,
        from: connection.id,
        ...(typeof frame.id === "string" ? { idempotencyKey: frame.id } : {}),
      });
      await connection.send({ type: "told", result });
    },
  },
};

async function withServer(
  options: { kv?: Deno.Kv; app?: HubApp; vars?: Record<string, string> },
  run: (server: UserhubServer, socket: (user: string) => Promise<TestSocket>) => Promise<void>,
) {
  const config = readHubConfig(options.vars ?? {});
  const server = serve({
    secret: SECRET,
    config,
    port: 0,
    app: options.app ?? tellApp,
    ...(options.kv ? { log: (userId: string) => new KvDeliveryLog(options.kv!, userId, retentionOf(config)) } : {}),
  });
  const sockets: TestSocket[] = [];
  const open = async (user: string, query = "") => {
    const socket = openSocket(`${server.url.replace(/^http/, "ws")}/ws${query}`, await issueToken(user, { secret: SECRET, ttlSeconds: 600 }));
    sockets.push(socket);
    await socket.next(ofType("welcome"));
    return socket;
  };
  try {
    await run(server, (user) => open(user));
  } finally {
    await Promise.all(sockets.map((s) => s.close(1000)));
    await server.shutdown();
  }
}

const messages = (socket: TestSocket) => socket.frames.filter((f) => typeof f === "object" && (f as { type?: unknown }).type === "message") as Record<string, unknown>[];

Deno.test("hub.users.deliver on Deno: the recipient's seq and sockets, the sender's copy, a repeated key is a duplicate on both sides", async () => {
  await withServer({}, async (_server, open) => {
    const b = await open("bob");
    const a = await open("alice");
    a.send(JSON.stringify({ type: "tell", to: "bob", data: { text: "hi" }, id: "m1", copy: true }));
    const told = await a.next<{ result: unknown }>(ofType("told"));
    assertEquals(told.result, { seq: 1, delivered: 1, duplicate: false, copy: { seq: 1, delivered: 1, duplicate: false } });
    const got = await b.next<Record<string, unknown>>(ofType("message"));
    assertEquals({ ...got, at: 0 }, { type: "message", seq: 1, data: { text: "hi" }, at: 0, fromUser: "alice" });
    const copy = await a.next<Record<string, unknown>>(ofType("message"));
    assertEquals(copy.toUser, "bob");
    assertEquals(copy.fromUser, undefined);

    a.send(JSON.stringify({ type: "tell", to: "bob", data: { text: "hi" }, id: "m1", copy: true }));
    await eventually(() => a.frames.filter((f) => (f as { type?: unknown }).type === "told").length === 2, 10_000, "the second answer");
    const again = a.frames.filter((f) => (f as { type?: unknown }).type === "told")[1] as { result: unknown };
    assertEquals(again.result, { seq: 1, delivered: 0, duplicate: true, copy: { seq: 1, delivered: 0, duplicate: true } });
    assertEquals(messages(b).length, 1);
    assertEquals(messages(a).length, 1);
  });
});

Deno.test("an invalid user id is an InvalidUserIdError (through the app) and an invalid_frame naming \"to\" (through the demo's direct frame)", async () => {
  await withServer({}, async (server, open) => {
    const a = await open("alice");
    a.send(JSON.stringify({ type: "direct", to: "not a user", data: "x" }));
    const refused = await a.next<{ code: string; message: string }>(ofType("error"));
    assertEquals(refused.code, "invalid_frame");
    assertMatch(refused.message, /^"to" is not a valid user id/);
    await assertRejects(server.hubs.deliverDirect("bob", { fromUser: "not a user", json: "1" }), InvalidUserIdError);
    // No hub was kept for bob by the refusal.
    assertEquals(server.hubs.hub("bob"), undefined);
  });
});

Deno.test("a recipient with no socket gets a hub for the delivery, which goes again; with a Deno KV log the delivery waits for bob's resume", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    await withServer({ kv }, async (server, open) => {
      const a = await open("alice");
      a.send(JSON.stringify({ type: "direct", to: "bob", data: "while away", id: "w1" }));
      assertEquals((await a.next<Record<string, unknown>>(ofType("message"))).toUser, "bob");
      // bob's hub was made for the delivery and let go: only alice's is live.
      assertEquals(server.hubs.hub("bob"), undefined);
      assertEquals(server.hubs.stats().hubs, 1);
      const url = `${server.url.replace(/^http/, "ws")}/ws?since=0`;
      const b = openSocket(url, await issueToken("bob", { secret: SECRET, ttlSeconds: 600 }));
      try {
        const welcome = await b.next<{ seq: number }>(ofType("welcome"));
        assertEquals(welcome.seq, 1);
        const replayed = await b.next<Record<string, unknown>>(ofType("message"));
        assertEquals({ ...replayed, at: 0 }, { type: "message", seq: 1, data: "while away", at: 0, fromUser: "alice" });
      } finally {
        await b.close(1000);
      }
    });
  } finally {
    kv.close();
  }
});

Deno.test("with the default in-memory log, a delivery to a user with no socket goes with the hub made for it (as the README says)", async () => {
  await withServer({}, async (server, open) => {
    const a = await open("alice");
    a.send(JSON.stringify({ type: "tell", to: "bob", data: "lost", id: "l1" }));
    const told = await a.next<{ result: { seq: number; delivered: number; duplicate: boolean } }>(ofType("told"));
    assertEquals(told.result, { seq: 1, delivered: 0, duplicate: false });
    assertEquals(server.hubs.hub("bob"), undefined);
    const b = await open("bob");
    assert(b.frames.some((f) => (f as { type?: unknown; seq?: unknown }).type === "welcome" && (f as { seq: unknown }).seq === 0));
  });
});

Deno.test("a push keyed like a direct message's log key is a push on Deno too: neither is taken for the other, in either order", async () => {
  using kv = await Deno.openKv(":memory:");
  const config = readHubConfig({});
  const hubs = new LocalHubNamespace({ config, log: (userId) => new KvDeliveryLog(kv, userId, retentionOf(config)) });
  assertEquals(await hubs.push("bob", ["server notice"], { idempotencyKey: "direct from carol m1" }), { seqs: [1], delivered: 0, duplicate: false });
  assertEquals(await hubs.deliverDirect("bob", { fromUser: "carol", json: '"hello"', idempotencyKey: "m1" }), { seq: 2, delivered: 0, duplicate: false });
  assertEquals(await hubs.deliverDirect("bob", { fromUser: "dave", json: '"hi"', idempotencyKey: "m1" }), { seq: 3, delivered: 0, duplicate: false });
  assertEquals(await hubs.push("bob", ["another notice"], { idempotencyKey: "direct from dave m1" }), { seqs: [4], delivered: 0, duplicate: false });
  assertEquals(await hubs.push("bob", ["server notice"], { idempotencyKey: "direct from carol m1" }), { seqs: [1], delivered: 0, duplicate: true });
  assertEquals(await hubs.deliverDirect("bob", { fromUser: "dave", json: '"hi"', idempotencyKey: "m1" }), { seq: 3, delivered: 0, duplicate: true });
});

Deno.test("past the sender's quota, a retry of a delivery already logged is the duplicate it is; a new one is still refused", async () => {
  using kv = await Deno.openKv(":memory:");
  const config = readHubConfig({ DIRECT_DELIVERIES_PER_MINUTE: "3" });
  const hubs = new LocalHubNamespace({ config, log: (userId) => new KvDeliveryLog(kv, userId, retentionOf(config)) });
  for (let i = 0; i < 3; i++) assertEquals(await hubs.deliverDirect("bob", { fromUser: "mallory", json: String(i), idempotencyKey: `k${i}` }), { seq: i + 1, delivered: 0, duplicate: false });
  assertMatch(JSON.stringify(await hubs.deliverDirect("bob", { fromUser: "mallory", json: '"new"', idempotencyKey: "new" })), /"refused":"rate_limited"/);
  assertEquals(await hubs.deliverDirect("bob", { fromUser: "mallory", json: "0", idempotencyKey: "k0" }), { seq: 1, delivered: 0, duplicate: true });
  assertMatch(JSON.stringify(await hubs.deliverDirect("bob", { fromUser: "mallory", json: '"new"', idempotencyKey: "new" })), /"refused":"rate_limited"/);
  assertEquals(await hubs.push("bob", ["after"]), { seqs: [4], delivered: 0, duplicate: false });
});

Deno.test("with a Deno KV log, a send frame and a direct message of 900 KB (MAX_MESSAGE_BYTES raised) are delivered, past Deno KV's 800 KiB a commit", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    await withServer({ kv, vars: { MAX_MESSAGE_BYTES: String(2 << 20) } }, async (_server, open) => {
      const b = await open("bob");
      const a = await open("alice");
      const big = "s".repeat(900_000);
      a.send(JSON.stringify({ type: "send", data: big }));
      const sent = await a.next<Record<string, unknown>>(ofType("message"));
      assertEquals({ seq: sent.seq, length: (sent.data as string).length }, { seq: 1, length: big.length });
      a.send(JSON.stringify({ type: "direct", to: "bob", data: big, id: "big-1" }));
      const got = await b.next<Record<string, unknown>>(ofType("message"));
      assertEquals({ seq: got.seq, fromUser: got.fromUser, length: (got.data as string).length }, { seq: 1, fromUser: "alice", length: big.length });
      await eventually(() => messages(a).length === 2, 10_000, "alice's copy of the direct message");
      assertEquals(a.frames.filter((f) => (f as { type?: unknown }).type === "error"), []);
    });
  } finally {
    kv.close();
  }
});
