// The UserHub Durable Object inside workerd, through the demo Worker: welcome,
// attachments, fan-out and isolation, limits, bad frames, hibernation, and the
// alarm that sweeps stale sockets. The test bindings (vitest.config.ts) set a
// 1 s heartbeat interval, a 3 s timeout, 4 sockets per user and 1 KiB frames.
import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject, SELF } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { CloseCode, ErrorCode, InvalidUserIdError } from "../../src/index.ts";
import { CloseReason, type ConnectionAttachment, InvalidIdempotencyKeyError, InvalidPushError } from "../../src/host.ts";
import { durableObjectHubs, type UserHub } from "../../durable-objects/index.ts";
import { accept, connect, hubOf, tokenFor, upgradeHeaders } from "./hub-client.ts";

const TIMEOUT_MS = 3000;
/** The ping interval: also how far past a recorded frame the hub judges a socket's last sign of life (see ZombieSweep). */
const INTERVAL_MS = 1000;

/** Each test gets users of its own, so no hub state leaks between tests. */
let users = 0;
const user = (name: string) => `${name}-${++users}`;

/** What the hub holds for `userId`: each open socket's attachment and auto-response time, and the alarm. */
async function hubState(userId: string) {
  return await runInDurableObject(hubOf(userId), async (_instance: UserHub, state) => ({
    sockets: state.getWebSockets().filter((ws) => ws.readyState === WebSocket.OPEN).map((ws) => ({
      attachment: ws.deserializeAttachment() as ConnectionAttachment,
      tags: state.getTags(ws),
      autoResponseAt: state.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? null,
    })),
    alarm: await state.storage.getAlarm(),
  }));
}

/**
 * Moves open sockets' last sign of life `ms` into the past (all of them, or
 * those in `only`), as if they had been silent that long, then evicts the
 * object (sockets hibernate) so the hub reads the attachments afresh, as
 * after hibernation: a live instance keeps its own copy.
 */
async function age(userId: string, ms: number, only?: readonly string[], changes: Partial<ConnectionAttachment> = {}): Promise<void> {
  await runInDurableObject(hubOf(userId), (_instance: UserHub, state) => {
    for (const ws of state.getWebSockets()) {
      const a = ws.deserializeAttachment() as ConnectionAttachment;
      if (only && !only.includes(a.connectionId)) continue;
      ws.serializeAttachment({ ...a, connectedAt: a.connectedAt - ms, lastMessageAt: a.lastMessageAt - ms, ...changes });
    }
  });
  await evictDurableObject(hubOf(userId));
}

describe("connecting", () => {
  it("greets with the contract's welcome and stores a small attachment without the token", async () => {
    const alice = user("alice");
    const token = await tokenFor(alice);
    const client = await accept(await SELF.fetch("https://hub.test/ws", { headers: upgradeHeaders({ Authorization: `Bearer ${token}` }) }));
    expect(client.welcome).toMatchObject({
      type: "welcome",
      userId: alice,
      connections: 1,
      seq: 0,
      heartbeat: { intervalMs: 1000, timeoutMs: TIMEOUT_MS },
    });
    expect(client.welcome.connectionId).toMatch(/^[0-9a-f-]{36}$/);

    const { sockets } = await hubState(alice);
    expect(sockets).toHaveLength(1);
    const { attachment, tags } = sockets[0]!;
    expect(attachment.connectionId).toBe(client.welcome.connectionId);
    expect(attachment.userId).toBe(alice);
    expect(tags).toEqual([`conn:${attachment.connectionId}`]);
    expect(JSON.stringify(attachment)).not.toContain(token);
    expect(JSON.stringify(attachment)).not.toMatch(/https?:|ws:/);
    client.socket.close(1000);
  });

  it("assigns the connection id itself, whatever the client sends", async () => {
    const alice = user("alice");
    const client = await connect(alice, { "X-Connection-Id": "chosen-by-client" });
    const again = await accept(
      await SELF.fetch("https://hub.test/ws?connectionId=chosen-by-client", { headers: upgradeHeaders({ Authorization: `Bearer ${await tokenFor(alice)}` }) }),
    );
    expect(client.welcome.connectionId).not.toBe("chosen-by-client");
    expect(again.welcome.connectionId).not.toBe("chosen-by-client");
    expect(again.welcome.connectionId).not.toBe(client.welcome.connectionId);
    client.socket.close(1000);
    again.socket.close(1000);
  });

  it("counts only open sockets in the welcome: no ghost after a socket closes", async () => {
    const alice = user("alice");
    const first = await connect(alice);
    const second = await connect(alice);
    expect(second.welcome.connections).toBe(2);
    first.socket.close(1000, "page refresh");
    await vi.waitFor(async () => expect((await hubState(alice)).sockets).toHaveLength(1));
    const third = await connect(alice);
    expect(third.welcome.connections).toBe(2);
    second.socket.close(1000);
    third.socket.close(1000);
  });

  it("tells a user's other sockets how many are open when one joins or leaves (the demo app's presence)", async () => {
    const alice = user("alice");
    const first = await connect(alice);
    const second = await connect(alice);
    const bob = await connect(user("bob"));
    await vi.waitFor(() => expect(first.presence).toEqual([2]));
    second.socket.close(1000);
    await vi.waitFor(() => expect(first.presence).toEqual([2, 1]));
    // The newcomer learns the count from its welcome, and another user hears nothing.
    expect(second.presence).toEqual([]);
    expect(bob.presence).toEqual([]);
    first.socket.close(1000);
    bob.socket.close(1000);
  });

  it("refuses a socket over the per-user cap with 429 before upgrading, and takes one again after a close", async () => {
    const alice = user("alice");
    const clients = await Promise.all([1, 2, 3, 4].map(() => connect(alice)));
    const refused = await SELF.fetch("https://hub.test/ws", { headers: upgradeHeaders({ Authorization: `Bearer ${await tokenFor(alice)}` }) });
    expect(refused.status).toBe(429);
    expect(refused.webSocket).toBeNull();
    expect(await refused.text()).toMatch(/already has 4 open connections/);
    // When to try again: a socket that died unclosed counts until the heartbeat timeout after its last frame, recorded
    // up to one ping interval late; then a sweep drops it.
    expect(refused.headers.get("Retry-After")).toBe(String(Math.ceil((Number(env.HEARTBEAT_TIMEOUT_MS) + Number(env.HEARTBEAT_INTERVAL_MS)) / 1000)));
    // Another user is not affected by alice's cap.
    const bob = await connect(user("bob"));
    clients[0]!.socket.close(1000);
    await vi.waitFor(async () => expect((await hubState(alice)).sockets).toHaveLength(3));
    const again = await connect(alice);
    expect(again.welcome.connections).toBe(4);
    for (const c of [...clients.slice(1), again, bob]) c.socket.close(1000);
  });

  it("answers 400 to a request that did not come through the router", async () => {
    const response = await hubOf(user("alice")).fetch("https://hub.test/connect", { headers: { Upgrade: "websocket" } });
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/only accepts sockets handed over by the userhub router/);
  });
});

describe("messages", () => {
  it("fans a send out to every socket of the user, the sender's included, and to no other user", async () => {
    const alice = user("alice");
    const [a1, a2] = [await connect(alice), await connect(alice)];
    const bob = await connect(user("bob"));
    a1.sendJson({ type: "send", data: { text: "hi" } });
    for (const client of [a1, a2]) {
      expect(await client.next()).toMatchObject({ type: "message", seq: 1, data: { text: "hi" }, from: a1.welcome.connectionId });
    }
    a2.sendJson({ type: "send", data: "second" });
    expect(await a1.next()).toMatchObject({ type: "message", seq: 2, data: "second" });
    expect(await a2.next()).toMatchObject({ type: "message", seq: 2, data: "second" });
    // bob's own delivery is the next frame he sees: alice's never reached him.
    bob.sendJson({ type: "send", data: "bob's" });
    expect(await bob.next()).toMatchObject({ type: "message", seq: 1, data: "bob's" });
    expect(bob.frames).toHaveLength(2);
    for (const c of [a1, a2, bob]) c.socket.close(1000);
  });

  it("answers each malformed frame with an error frame that names the problem, and keeps the socket", async () => {
    const client = await connect(user("alice"));
    const cases: [string | ArrayBuffer, string, RegExp][] = [
      ["not json", ErrorCode.MalformedJson, /not valid JSON/],
      ["[1,2]", ErrorCode.InvalidFrame, /JSON object/],
      ['{"type":""}', ErrorCode.InvalidFrame, /string "type"/],
      ['{"data":1}', ErrorCode.InvalidFrame, /string "type"/],
      ['{"type":"nope"}', ErrorCode.UnknownType, /"nope"/],
      ['{"type":"send"}', ErrorCode.InvalidFrame, /"data"/],
      [new Uint8Array([1, 2, 3]).buffer, ErrorCode.BinaryNotSupported, /binary/],
      ['{"type":"auth"}', ErrorCode.InvalidFrame, /"token"/],
    ];
    for (const [frame, code, message] of cases) {
      client.socket.send(frame);
      const error = (await client.next()) as { type: string; code: string; message: string };
      expect(error).toMatchObject({ type: "error", code });
      expect(error.message).toMatch(message);
    }
    client.sendJson({ type: "send", data: "still here" });
    expect(await client.next()).toMatchObject({ type: "message", data: "still here" });
    client.socket.close(1000);
  });

  it("closes a socket that sends a frame over MAX_MESSAGE_BYTES with 1009; the user's other sockets carry on", async () => {
    const alice = user("alice");
    const [big, other] = [await connect(alice), await connect(alice)];
    big.socket.send("x".repeat(1025));
    expect(await big.closed).toEqual({ code: CloseCode.MessageTooBig, reason: "message too big" });
    // A multi-byte frame under 1024 characters but over 1024 bytes is too big too.
    const multi = await connect(alice);
    multi.socket.send("€".repeat(400));
    expect((await multi.closed).code).toBe(CloseCode.MessageTooBig);
    other.sendJson({ type: "send", data: "after" });
    expect(await other.next()).toMatchObject({ type: "message", data: "after" });
    other.socket.close(1000);
  });

  it("refreshes credentials in band only with a valid token for the same user", async () => {
    const alice = user("alice");
    const client = await connect(alice);
    client.sendJson({ type: "auth", token: await tokenFor(user("mallory")) });
    expect(await client.next()).toMatchObject({ type: "error", code: ErrorCode.AuthFailed, message: "token is for another user" });
    client.sendJson({ type: "auth", token: await tokenFor(alice, { secret: "another-secret" }) });
    expect(await client.next()).toMatchObject({ type: "error", code: ErrorCode.AuthFailed, message: "token signature invalid" });
    const before = (await hubState(alice)).sockets[0]!.attachment.expiresAt;
    client.sendJson({ type: "auth", token: await tokenFor(alice, { ttlSeconds: 7200 }) });
    const answer = (await client.next()) as { type: string; expiresAt: number };
    expect(answer.type).toBe("auth");
    expect(answer.expiresAt).toBeGreaterThan(before!);
    expect((await hubState(alice)).sockets[0]!.attachment.expiresAt).toBe(answer.expiresAt);
    client.socket.close(1000);
  });

  it("delivers a push over RPC to every open socket, with the seq it assigned", async () => {
    const alice = user("alice");
    const [a1, a2] = [await connect(alice), await connect(alice)];
    const result = await hubOf(alice).push(["one", { two: 2 }]);
    expect(result).toMatchObject({ seqs: [1, 2], delivered: 2, duplicate: false });
    for (const client of [a1, a2]) {
      expect(await client.next()).toMatchObject({ type: "message", seq: 1, data: "one" });
      expect(await client.next()).toMatchObject({ type: "message", seq: 2, data: { two: 2 } });
    }
    a1.socket.close(1000);
    await vi.waitFor(async () => expect((await hubState(alice)).sockets).toHaveLength(1));
    expect((await hubOf(alice).push(["three"])).delivered).toBe(1);
    a2.socket.close(1000);
  });
});

describe("the push RPC method's arguments", () => {
  /** What `push` answers inside the object (an RPC method's throw is also logged by workerd as uncaught, which the test pool reports), or the error's name and message. */
  async function pushIn(userId: string, messages: unknown, options?: unknown): Promise<unknown> {
    return await runInDurableObject(hubOf(userId), (instance: UserHub) =>
      instance.push(messages as unknown[], options as never).then(
        (result) => result,
        (error: Error) => `${error.name}: ${error.message}`,
      ),
    );
  }

  it.each([
    ["a string", "hello", undefined, /^InvalidPushError: a push needs an array of messages, not a string$/],
    ["undefined", undefined, undefined, /^InvalidPushError: a push needs an array of messages, not undefined$/],
    ["a number", 5, undefined, /^InvalidPushError: a push needs an array of messages, not a number$/],
    ["an object", { 0: "x", length: 1 }, undefined, /^InvalidPushError: a push needs an array of messages, not an object$/],
    ["no message", [], undefined, /^InvalidPushError: a push needs at least one message/],
    ["null options", ["x"], null, /^InvalidPushError: a push's options must be an object \(or left out\), not null$/],
    ["options as a string", ["x"], "K1", /^InvalidPushError: a push's options must be an object \(or left out\), not a string$/],
    ["an unknown keyScope", ["x"], { keyScope: "direct" }, /^InvalidPushError: keyScope must be "push" or "fan-out", not "direct"$/],
    ["a number key", ["x"], { idempotencyKey: 5 }, /^InvalidIdempotencyKeyError: idempotencyKey must be a string of 1 to 200 characters of well-formed Unicode, not a number$/],
    ["an object key", ["x"], { idempotencyKey: { a: 1 } }, /^InvalidIdempotencyKeyError: .*, not an object$/],
    ["an empty key", ["x"], { idempotencyKey: "" }, /^InvalidIdempotencyKeyError: .*, not 0 characters$/],
    ["a key of 201 characters", ["x"], { idempotencyKey: "k".repeat(201) }, /^InvalidIdempotencyKeyError: .*, not 201 characters$/],
    ["a 1 MB key", ["x"], { idempotencyKey: "k".repeat(1_000_000) }, /^InvalidIdempotencyKeyError: .*, not 1000000 characters$/],
    ["a message with no JSON form", ["fine", 10n], { idempotencyKey: "K" }, /^UnserializablePayloadError: /],
    ["an undefined message", ["fine", undefined], undefined, /^InvalidPushError: messages\[1\] is undefined: every message needs a JSON value$/],
    // eslint-disable-next-line no-sparse-arrays
    ["a sparse array's hole", [, "after"], undefined, /^InvalidPushError: messages\[0\] is undefined/],
    ["more messages than a push carries", Array.from({ length: 101 }, (_, i) => i), undefined, /^InvalidPushError: a push carries at most 100 messages, not 101$/],
    ["a misspelt option (no key would be used)", ["x"], { idempotencyKy: "K" }, /^InvalidPushError: a push takes no option "idempotencyKy" \(its options: idempotencyKey, keyScope\)$/],
    ["a key with a lone surrogate", ["x"], { idempotencyKey: "m\ud801" }, /^InvalidIdempotencyKeyError: .*, not one with a lone surrogate/],
  ])("refuses %s with a named error, and logs nothing", async (_name, messages, options, refusal) => {
    const alice = user("alice");
    expect(await pushIn(alice, messages, options)).toMatch(refusal);
    expect(await hubOf(alice).push(["first"])).toMatchObject({ seqs: [1], duplicate: false });
  });

  it("a refused push uses up no key: the same key then delivers", async () => {
    const alice = user("alice");
    expect(await pushIn(alice, [], { idempotencyKey: "K0" })).toMatch(/^InvalidPushError/);
    expect(await pushIn(alice, ["fine", 10n], { idempotencyKey: "K0" })).toMatch(/^UnserializablePayloadError/);
    expect(await hubOf(alice).push(["real"], { idempotencyKey: "K0" })).toEqual({ seqs: [1], delivered: 0, duplicate: false });
    expect(await hubOf(alice).push(["real"], { idempotencyKey: "K0" })).toEqual({ seqs: [1], delivered: 0, duplicate: true });
  });

  it("takes a key of 1 and of 200 characters, an explicit keyScope, 100 messages, and null as a message", async () => {
    const alice = user("alice");
    expect(await hubOf(alice).push(["a"], { idempotencyKey: "k" })).toMatchObject({ seqs: [1], duplicate: false });
    expect(await hubOf(alice).push(["b"], { idempotencyKey: "k".repeat(200), keyScope: "push" })).toMatchObject({ seqs: [2], duplicate: false });
    expect(await hubOf(alice).push(["c"], { idempotencyKey: "k", keyScope: "fan-out" })).toMatchObject({ seqs: [3], duplicate: false });
    expect(await pushIn(alice, [null, "after"])).toMatchObject({ seqs: [4, 5] });
    expect(await pushIn(user("bulk"), Array.from({ length: 100 }, (_, i) => i))).toMatchObject({ seqs: Array.from({ length: 100 }, (_, i) => i + 1) });
    const client = await connect(alice, {}, "since=3");
    expect(await client.next()).toMatchObject({ seq: 4, data: null });
    expect(await client.next()).toMatchObject({ seq: 5, data: "after" });
  });

  it("over RPC, a refusal arrives with its name and message; through the namespace, as the named error itself, before any RPC", async () => {
    const alice = user("alice");
    const viaRpc = await hubOf(alice).push("hello" as unknown as unknown[]).then(
      () => "accepted",
      (error: Error) => `${error.name}: ${error.message}`,
    );
    expect(viaRpc).toBe("InvalidPushError: a push needs an array of messages, not a string");
    const hubs = durableObjectHubs(env.USER_HUB);
    await expect(hubs.push(alice, "hello" as unknown as unknown[])).rejects.toBeInstanceOf(InvalidPushError);
    await expect(hubs.push(alice, ["x"], { idempotencyKey: "" })).rejects.toBeInstanceOf(InvalidIdempotencyKeyError);
    // A user id no route could name is refused too, rather than given a hub of its own.
    for (const userId of ["a b", "", undefined]) {
      await expect(hubs.push(userId as string, ["x"])).rejects.toBeInstanceOf(InvalidUserIdError);
      await expect(hubs.disconnect(userId as string)).rejects.toBeInstanceOf(InvalidUserIdError);
    }
    expect(await hubs.push(alice, ["x"])).toMatchObject({ seqs: [1] });
  });
});

describe("hibernation", () => {
  it("keeps serving sockets after the object is evicted and rebuilt: all it needs is in attachments and storage", async () => {
    const alice = user("alice");
    const [a1, a2] = [await connect(alice), await connect(alice)];
    a1.sendJson({ type: "send", data: "before" });
    await a2.next();
    await a1.next();
    const stub = hubOf(alice);
    await runInDurableObject(stub, (instance: UserHub) => {
      (instance as unknown as { marker?: string }).marker = "first instance";
    });
    await evictDurableObject(stub);
    // The sockets stayed open through the eviction (hibernated, not closed).
    expect(a1.socket.readyState).toBe(WebSocket.OPEN);
    a2.sendJson({ type: "send", data: "after" });
    for (const client of [a1, a2]) {
      expect(await client.next()).toMatchObject({ type: "message", seq: 2, data: "after", from: a2.welcome.connectionId });
    }
    const rebuilt = await runInDurableObject(stub, (instance: UserHub) => (instance as unknown as { marker?: string }).marker);
    expect(rebuilt).toBeUndefined();
    const third = await connect(alice);
    expect(third.welcome).toMatchObject({ connections: 3, seq: 2 });
    for (const c of [a1, a2, third]) c.socket.close(1000);
  });

  it("writes a message to a hub woken from hibernation in one statement, from the latest seq its sockets remember, and numbers on", async () => {
    const alice = user("alice");
    const [a1, a2] = [await connect(alice), await connect(alice)];
    const stub = hubOf(alice);
    // More deliveries than the ring's 20 slots (the test bindings' LOG_RETENTION): a full ring.
    await stub.push(Array.from({ length: 25 }, (_, i) => i + 1));
    for (let i = 0; i < 25; i++) for (const client of [a1, a2]) await client.next();
    const remembered = await runInDurableObject(stub, (_instance: UserHub, state) =>
      state.getWebSockets().map((ws) => (ws.deserializeAttachment() as ConnectionAttachment).logSeq ?? 0),
    );
    expect(Math.max(...remembered)).toBe(25);
    await evictDurableObject(stub);
    // The woken instance's statements, counted before any event builds its hub.
    await runInDurableObject(stub, (_instance: UserHub, state) => {
      const sql = state.storage.sql;
      const exec = sql.exec.bind(sql);
      const seen: string[] = [];
      (globalThis as { woken?: string[] }).woken = seen;
      sql.exec = ((query: string, ...bindings: unknown[]) => {
        seen.push(query.trim().split(/\s+/)[0]!);
        return exec(query, ...bindings);
      }) as typeof sql.exec;
    });
    a1.sendJson({ type: "send", data: "woken" });
    for (const client of [a1, a2]) expect(await client.next()).toMatchObject({ type: "message", seq: 26, data: "woken" });
    const statements = await runInDurableObject(stub, () => [...((globalThis as { woken?: string[] }).woken ?? [])]);
    expect(statements).toEqual(["UPDATE"]);
    // A socket that remembers nothing newer (the hint stale: a push came from elsewhere) costs the usual way, and numbering goes on.
    await runInDurableObject(stub, (_instance: UserHub, state) => {
      for (const ws of state.getWebSockets()) ws.serializeAttachment({ ...(ws.deserializeAttachment() as ConnectionAttachment), logSeq: 3 });
    });
    await evictDurableObject(stub);
    a2.sendJson({ type: "send", data: "stale" });
    for (const client of [a1, a2]) expect(await client.next()).toMatchObject({ type: "message", seq: 27, data: "stale" });
    const third = await connect(alice);
    expect(third.welcome).toMatchObject({ seq: 27 });
    for (const c of [a1, a2, third]) c.socket.close(1000);
  });

  it("keeps an acknowledging socket's unacknowledged bound (512 KiB) across rebuilds of the object: 4002 past it, and a resume loses nothing", async () => {
    const alice = user("alice");
    const ackingUpgrade = async (query: string) =>
      await accept(await SELF.fetch(`https://hub.test/ws?ack=1${query}`, { headers: upgradeHeaders({ Authorization: `Bearer ${await tokenFor(alice)}` }) }));
    const client = await ackingUpgrade("");
    expect(client.welcome).toMatchObject({ seq: 0, maxUnackedBytes: 512 * 1024 });
    const stub = hubOf(alice);
    const pad = "x".repeat(150_000);
    // Heartbeats keep it alive (the test bindings time out in 3 s); their pongs are skipped.
    const pinger = setInterval(() => client.socket.readyState === WebSocket.OPEN && client.socket.send("ping"), 500);
    const nextMessage = async (of: typeof client) => {
      for (;;) {
        const frame = await of.next();
        if (frame !== "pong") return frame;
      }
    };
    const pushOne = async (n: number) => {
      await stub.push([{ n, pad }]);
      expect(await nextMessage(client)).toMatchObject({ type: "message", seq: n });
    };
    // Two pushes, acknowledged: the attachment keeps seq 2 as the acknowledged point.
    await pushOne(1);
    await pushOne(2);
    client.sendJson({ type: "ack", seq: 2 });
    await vi.waitFor(async () => expect((await hubState(alice)).sockets[0]!.attachment.ackedSeq).toBe(2));
    await evictDurableObject(stub);
    // Three unacknowledged (~450 KB, under the bound), each on a freshly rebuilt object.
    for (const n of [3, 4, 5]) {
      await pushOne(n);
      await evictDurableObject(stub);
    }
    expect(client.socket.readyState).toBe(WebSocket.OPEN);
    // The fourth unacknowledged (~600 KB): a rebuilt object still counts the three before it, and closes.
    await stub.push([{ n: 6, pad }]);
    expect(await client.closed).toMatchObject({ code: CloseCode.SlowConsumer });
    clearInterval(pinger);
    // Resuming from the acknowledged point replays everything after it, the undelivered sixth included.
    const resumed = await ackingUpgrade(`&since=2&epoch=${client.welcome.epoch}`);
    const replayed: number[] = [];
    for (let i = 0; i < 4; i++) replayed.push(((await nextMessage(resumed)) as { seq: number }).seq);
    expect(replayed).toEqual([3, 4, 5, 6]);
    resumed.socket.close(1000);
  }, 30_000);

  it("answers ping with pong through the runtime's auto-response and records when", async () => {
    const alice = user("alice");
    const client = await connect(alice);
    const stub = hubOf(alice);
    await evictDurableObject(stub);
    client.socket.send("ping");
    expect(await client.next()).toBe("pong");
    const { sockets } = await hubState(alice);
    expect(sockets[0]!.autoResponseAt).not.toBeNull();
    client.socket.close(1000);
  });
});

describe("heartbeat alarm (eager sweep: HEARTBEAT_SWEEP_MS = the timeout, as the test bindings set it)", () => {
  it("is set when the first socket opens, for its heartbeat deadline (one interval past its recorded frame), and cleared when the last one leaves", async () => {
    const alice = user("alice");
    const client = await connect(alice);
    const state = await hubState(alice);
    const { connectedAt } = state.sockets[0]!.attachment;
    expect(state.alarm).toBe(connectedAt + INTERVAL_MS + TIMEOUT_MS);
    client.socket.close(1000);
    await vi.waitFor(async () => expect((await hubState(alice)).alarm).toBeNull());
  });

  it("closes a socket that has been silent for the timeout with 4000, keeps the live ones, and sets itself again a sweep period on", async () => {
    const alice = user("alice");
    const [silent, pinging] = [await connect(alice), await connect(alice)];
    await age(alice, TIMEOUT_MS + INTERVAL_MS + 1000);
    // The pinging socket's heartbeat is answered by the runtime; the sweep must read that answer's time.
    pinging.socket.send("ping");
    expect(await pinging.next()).toBe("pong");

    const before = Date.now();
    expect(await runDurableObjectAlarm(hubOf(alice))).toBe(true);
    expect(await silent.closed).toEqual({ code: CloseCode.HeartbeatTimeout, reason: CloseReason[CloseCode.HeartbeatTimeout] });
    const after = await hubState(alice);
    expect(after.sockets.map((s) => s.attachment.connectionId)).toEqual([pinging.welcome.connectionId]);
    // The next wake: no sooner than one sweep period after this one, no later than the pinging socket's deadline allows.
    const pingedAt = after.sockets[0]!.autoResponseAt!;
    expect(after.alarm).toBeGreaterThanOrEqual(Math.max(pingedAt + TIMEOUT_MS, before + TIMEOUT_MS));
    expect(after.alarm).toBeLessThanOrEqual(Date.now() + TIMEOUT_MS);
    pinging.sendJson({ type: "send", data: "alive" });
    expect(await pinging.next()).toMatchObject({ type: "message", data: "alive" });
    pinging.socket.close(1000);
  });

  it("leaves no alarm behind after sweeping the last socket", async () => {
    const alice = user("alice");
    const client = await connect(alice);
    await age(alice, TIMEOUT_MS + INTERVAL_MS);
    expect(await runDurableObjectAlarm(hubOf(alice))).toBe(true);
    expect((await client.closed).code).toBe(CloseCode.HeartbeatTimeout);
    expect(await hubState(alice)).toEqual({ sockets: [], alarm: null });
  });

  it("closes a socket whose token expired with 4001", async () => {
    const alice = user("alice");
    const client = await connect(alice);
    await age(alice, 0, undefined, { expiresAt: Date.now() - 1 });
    expect(await runDurableObjectAlarm(hubOf(alice))).toBe(true);
    expect(await client.closed).toEqual({ code: CloseCode.TokenExpired, reason: "token expired" });
  });
});

describe("zombies: every wake closes stale sockets first", () => {
  /** A user with a live socket and a zombie (silent past the timeout, or with an expired token), the hub woken from hibernation. */
  async function withZombie(kind: "silent" | "expired") {
    const id = user(`zombie-${kind}`);
    const [live, zombie] = [await connect(id), await connect(id)];
    await expect.poll(() => live.presence.at(-1)).toBe(2);
    if (kind === "silent") await age(id, TIMEOUT_MS + INTERVAL_MS + 1000, [zombie.welcome.connectionId as string]);
    else await age(id, 0, [zombie.welcome.connectionId as string], { expiresAt: Date.now() - 1 });
    return { id, live, zombie, code: kind === "silent" ? CloseCode.HeartbeatTimeout : CloseCode.TokenExpired };
  }

  for (const kind of ["silent", "expired"] as const) {
    it(`a connect (${kind}): the newcomer's welcome and the cap do not count the zombie`, async () => {
      const { id, live, zombie, code } = await withZombie(kind);
      const fresh = await connect(id);
      expect(fresh.welcome.connections).toBe(2);
      expect((await zombie.closed).code).toBe(code);
      for (const c of [live, fresh]) c.socket.close(1000);
    });

    it(`a push (${kind}): the zombie gets nothing and is not in "delivered"`, async () => {
      const { id, live, zombie, code } = await withZombie(kind);
      expect(await hubOf(id).push(["after"])).toMatchObject({ delivered: 1 });
      expect((await zombie.closed).code).toBe(code);
      expect(zombie.frames.some((f) => (f as { type?: string }).type === "message")).toBe(false);
      expect(await live.next()).toMatchObject({ type: "message", data: "after" });
      live.socket.close(1000);
    });

    it(`a message (${kind}): the zombie gets no delivery, and the presence count drops before it`, async () => {
      const { live, zombie, code } = await withZombie(kind);
      live.sendJson({ type: "send", data: "hello" });
      expect(await live.next()).toMatchObject({ type: "message", data: "hello" });
      expect((await zombie.closed).code).toBe(code);
      expect(zombie.frames.some((f) => (f as { type?: string }).type === "message")).toBe(false);
      await expect.poll(() => live.presence.at(-1)).toBe(1);
      live.socket.close(1000);
    });

    it(`a close (${kind}): onClose's presence count never includes the zombie`, async () => {
      const { id, live, zombie, code } = await withZombie(kind);
      const leaving = await connect(id);
      // The connect already swept the zombie; make a second one and let a close be the wake that finds it.
      expect((await zombie.closed).code).toBe(code);
      await age(id, TIMEOUT_MS + INTERVAL_MS + 1000, [live.welcome.connectionId as string]);
      const observer = await connect(id);
      expect(observer.welcome.connections).toBe(2); // leaving + observer: the second zombie went at this connect too
      expect((await live.closed).code).toBe(CloseCode.HeartbeatTimeout);
      leaving.socket.close(1000);
      await expect.poll(() => observer.presence.at(-1)).toBe(1);
      observer.socket.close(1000);
    });
  }

  it("a socket whose token expired gets no delivery after exp, even from its own frame", async () => {
    const { live, zombie } = await withZombie("expired");
    zombie.sendJson({ type: "send", data: "from the expired socket" });
    expect((await zombie.closed).code).toBe(CloseCode.TokenExpired);
    live.sendJson({ type: "send", data: "marker" });
    expect(await live.next()).toMatchObject({ type: "message", data: "marker", seq: 1 });
    live.socket.close(1000);
  });
});

describe("signals", () => {
  it("go to every socket of the user with the sender's connection id, unlogged: no seq, nothing to replay", async () => {
    const alice = user("alice");
    const [a, b] = [await connect(alice), await connect(alice)];
    const bob = await connect(user("bob"));
    a.sendJson({ type: "send", data: "durable-1" });
    for (const c of [a, b]) expect(await c.next()).toMatchObject({ type: "message", seq: 1, data: "durable-1" });
    a.sendJson({ type: "signal", data: { typing: true } });
    for (const c of [a, b]) expect(await c.next()).toEqual({ type: "signal", data: { typing: true }, from: a.welcome.connectionId });
    // A socket resuming from seq 0 gets the logged delivery replayed, never the signal; the next delivery is seq 2.
    const resumed = await accept(
      await SELF.fetch("https://hub.test/ws?since=0", { headers: upgradeHeaders({ Authorization: `Bearer ${await tokenFor(alice)}` }) }),
    );
    expect(resumed.welcome).toMatchObject({ seq: 1 });
    expect(await resumed.next()).toMatchObject({ type: "message", seq: 1, data: "durable-1" });
    a.sendJson({ type: "send", data: "durable-2" });
    expect(await resumed.next()).toMatchObject({ type: "message", seq: 2, data: "durable-2" });
    expect(resumed.frames.some((f) => (f as { type?: string }).type === "signal")).toBe(false);
    expect(await a.next()).toMatchObject({ type: "message", seq: 2 });
    a.sendJson({ type: "signal" });
    expect(await a.next()).toMatchObject({ type: "error", code: ErrorCode.InvalidFrame });
    expect(bob.frames).toHaveLength(1);
    for (const c of [a, b, resumed, bob]) c.socket.close(1000);
  });
});

describe("closing", () => {
  it("cleans up a socket the client closed: it is gone from the hub and a later push skips it without error", async () => {
    const alice = user("alice");
    const client = await connect(alice);
    client.socket.close(4100, "bye");
    await vi.waitFor(async () => expect((await hubState(alice)).sockets).toHaveLength(0));
    expect(await hubOf(alice).push(["nobody home"])).toMatchObject({ seqs: [1], delivered: 0 });
    expect((await hubState(alice)).alarm).toBeNull();
  });
});
