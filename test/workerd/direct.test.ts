// Deliveries between users on Cloudflare, inside workerd: the sender's
// UserHub reaches the recipient's over Durable Object RPC (`receiveDirect`,
// through the binding `USER_HUB`), the recipient logs it in SQLite with
// `from_user`, the sender logs its copy with `to_user`, and neither ever
// waits on the other in a cycle.
import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { ConfigError, ErrorCode, type HubApp, readHubConfig } from "../../src/index.ts";
import { type PeerHubs, retentionOf } from "../../src/host.ts";
import { SqliteDeliveryLog, type UserHub } from "../../durable-objects/index.ts";
import { connect, hubOf } from "./hub-client.ts";
import { hubWith } from "./memory-hub.ts";

let users = 0;
const user = (name: string) => `${name}-direct-${++users}`;

type LogRow = { seq: number; sender: string | null; data: string; from_user: string | null; to_user: string | null };

/** The rows of `userId`'s delivery log, as SQLite holds them. */
async function logRows(userId: string): Promise<LogRow[]> {
  return await runInDurableObject(hubOf(userId), (_instance: UserHub, state) =>
    state.storage.sql.exec<LogRow>("SELECT seq, sender, data, from_user, to_user FROM userhub_ring ORDER BY seq").toArray(),
  );
}

describe("receiveDirect (the RPC one hub calls on another)", () => {
  it("logs with the recipient's next seq and fromUser, sends it to every socket, and a repeated key from that sender is a duplicate", async () => {
    const bob = user("bob");
    const b = await connect(bob);
    const stub = hubOf(bob);
    const first = await stub.receiveDirect({ fromUser: "alice", json: '{"text":"hi"}', idempotencyKey: "m1" });
    expect(first).toEqual({ seq: 1, delivered: 1, duplicate: false });
    expect(await b.next()).toEqual({ type: "message", seq: 1, data: { text: "hi" }, at: expect.any(Number), fromUser: "alice" });
    expect(await stub.receiveDirect({ fromUser: "alice", json: '{"text":"hi"}', idempotencyKey: "m1" })).toEqual({ seq: 1, delivered: 0, duplicate: true });
    // Another sender's same key is another message.
    expect(await stub.receiveDirect({ fromUser: "carol", json: '"yo"', idempotencyKey: "m1" })).toEqual({ seq: 2, delivered: 1, duplicate: false });
    expect(await b.next()).toMatchObject({ seq: 2, data: "yo", fromUser: "carol" });
    // A server push with the same key is not taken for either.
    expect(await stub.push(["pushed"], { idempotencyKey: "m1" })).toEqual({ seqs: [3], delivered: 1, duplicate: false });
    expect(await logRows(bob)).toEqual([
      { seq: 1, sender: null, data: '{"text":"hi"}', from_user: "alice", to_user: null },
      { seq: 2, sender: null, data: '"yo"', from_user: "carol", to_user: null },
      { seq: 3, sender: null, data: '"pushed"', from_user: null, to_user: null },
    ]);
  });

  it("a push keyed like a direct message's log key is a push: neither is taken for the other, in either order", async () => {
    const bob = user("bob");
    const stub = hubOf(bob);
    // A push first: bob's direct message m1 (kept as "direct from carol m1") is not its duplicate.
    expect(await stub.push(["server notice"], { idempotencyKey: "direct from carol m1" })).toMatchObject({ seqs: [1], duplicate: false });
    expect(await stub.receiveDirect({ fromUser: "carol", json: '"hello from carol"', idempotencyKey: "m1" })).toEqual({ seq: 2, delivered: 0, duplicate: false });
    // A direct message first: the push keyed like it is no duplicate either.
    expect(await stub.receiveDirect({ fromUser: "dave", json: '"hello from dave"', idempotencyKey: "m1" })).toEqual({ seq: 3, delivered: 0, duplicate: false });
    expect(await stub.push(["another notice"], { idempotencyKey: "direct from dave m1" })).toMatchObject({ seqs: [4], duplicate: false });
    // Each is still a duplicate of its own kind.
    expect(await stub.push(["server notice"], { idempotencyKey: "direct from carol m1" })).toMatchObject({ seqs: [1], duplicate: true });
    expect(await stub.receiveDirect({ fromUser: "dave", json: '"hello from dave"', idempotencyKey: "m1" })).toEqual({ seq: 3, delivered: 0, duplicate: true });
    // A push keyed like the escaped form of another push's key is another push too.
    expect(await stub.push(["escaped"], { idempotencyKey: "push direct from carol m1" })).toMatchObject({ seqs: [5], duplicate: false });
    expect((await logRows(bob)).map((row) => [row.seq, row.data, row.from_user])).toEqual([
      [1, '"server notice"', null],
      [2, '"hello from carol"', "carol"],
      [3, '"hello from dave"', "dave"],
      [4, '"another notice"', null],
      [5, '"escaped"', null],
    ]);
  });

  it("a push keyed as before this version keeps its key: one retried across the upgrade is still a duplicate", async () => {
    const bob = user("bob");
    // The log as an earlier version left it: a push's key kept as it was given.
    await runInDurableObject(hubOf(bob), (_instance: UserHub, state) => {
      new SqliteDeliveryLog(state.storage.sql, retentionOf(readHubConfig(env as unknown as Record<string, unknown>))).append([{ data: "before the upgrade" }], Date.now(), "order-7");
    });
    expect(await hubOf(bob).push(["retried"], { idempotencyKey: "order-7" })).toMatchObject({ seqs: [1], duplicate: true });
  });

  it("counts a sender's deliveries per minute across the recipient's evictions (seeded from its log), and a retried key does not count", async () => {
    const bob = user("bob");
    const stub = hubOf(bob);
    const perMinute = Number(env.DIRECT_DELIVERIES_PER_MINUTE); // 20 here, as LOG_RETENTION: all of it stays in the log
    for (let i = 0; i < perMinute - 1; i++) expect(await stub.receiveDirect({ fromUser: "mallory", json: String(i), idempotencyKey: `k${i}` })).toMatchObject({ duplicate: false });
    // The same key again logs nothing new and is not counted.
    for (let i = 0; i < 5; i++) expect(await stub.receiveDirect({ fromUser: "mallory", json: "0", idempotencyKey: "k0" })).toMatchObject({ duplicate: true });
    // bob's hub sleeps (its counts in memory go), then mallory comes back at once: her minute is read back from the log.
    await evictDurableObject(stub);
    expect(await stub.receiveDirect({ fromUser: "mallory", json: '"last"', idempotencyKey: "last" })).toMatchObject({ duplicate: false });
    const refused = await stub.receiveDirect({ fromUser: "mallory", json: '"one too many"', idempotencyKey: "over" });
    expect(refused).toMatchObject({ refused: "rate_limited" });
    expect((refused as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(0);
    // Another sender is counted apart.
    expect(await stub.receiveDirect({ fromUser: "carol", json: '"hi"' })).toMatchObject({ duplicate: false });
    // mallory's minute (seqs 1..perMinute) and carol's one; the refused one never took a seq.
    const rows = await logRows(bob);
    expect(rows.at(-1)).toMatchObject({ seq: perMinute + 1, from_user: "carol" });
    expect(rows.some((row) => row.data === '"one too many"')).toBe(false);
  });

  it("past the quota, a retry of a delivery already logged is answered as the duplicate it is, also after the hub slept; a new one is still refused", async () => {
    const bob = user("bob");
    const stub = hubOf(bob);
    const perMinute = Number(env.DIRECT_DELIVERIES_PER_MINUTE);
    for (let i = 0; i < perMinute; i++) expect(await stub.receiveDirect({ fromUser: "mallory", json: String(i), idempotencyKey: `k${i}` })).toMatchObject({ seq: i + 1, duplicate: false });
    expect(await stub.receiveDirect({ fromUser: "mallory", json: '"new"', idempotencyKey: "new" })).toMatchObject({ refused: "rate_limited" });
    expect(await stub.receiveDirect({ fromUser: "mallory", json: "0", idempotencyKey: "k0" })).toEqual({ seq: 1, delivered: 0, duplicate: true });
    // The duplicate let nothing else through: a new key, or none, is still refused.
    expect(await stub.receiveDirect({ fromUser: "mallory", json: '"new"', idempotencyKey: "new" })).toMatchObject({ refused: "rate_limited" });
    expect(await stub.receiveDirect({ fromUser: "mallory", json: '"unkeyed"' })).toMatchObject({ refused: "rate_limited" });
    // bob's hub sleeps: its counts go, and are read back from the log (all of mallory's minute is in it).
    await evictDurableObject(stub);
    expect(await stub.receiveDirect({ fromUser: "mallory", json: "5", idempotencyKey: "k5" })).toEqual({ seq: 6, delivered: 0, duplicate: true });
    expect(await stub.receiveDirect({ fromUser: "mallory", json: '"new"', idempotencyKey: "new" })).toMatchObject({ refused: "rate_limited" });
    // Another sender's same key is not mallory's.
    expect(await stub.receiveDirect({ fromUser: "carol", json: '"c"', idempotencyKey: "k0" })).toEqual({ seq: perMinute + 1, delivered: 0, duplicate: false });
    expect((await logRows(bob)).map((row) => row.data)).not.toContain('"new"');
  });

  it("refuses a delivery whose fromUser cannot name a user, or that is not one, and logs nothing", async () => {
    const bob = user("bob");
    const stub = hubOf(bob);
    // Caught here rather than through expect(…).rejects: a stub's RPC promise that rejects is otherwise also reported as unhandled.
    const refusal = async (delivery: Parameters<typeof stub.receiveDirect>[0]) => {
      try {
        await stub.receiveDirect(delivery);
        return "accepted";
      } catch (error) {
        return (error as Error).message;
      }
    };
    expect(await refusal({ fromUser: "a b", json: "1" })).toMatch(/^not a valid user id: "a b"/);
    expect(await refusal({ fromUser: "alice", json: 1 as unknown as string })).toMatch(/^not a direct delivery/);
    expect(await refusal({ fromUser: "alice", json: "1", idempotencyKey: "k".repeat(201) })).toMatch(/^not a direct delivery/);
    expect(await stub.push(["first"])).toMatchObject({ seqs: [1] });
  });
});

describe("a direct frame between two hubs over RPC", () => {
  it("reaches every socket of bob with fromUser, alice's sockets get her copy from her own log with toUser, and both logs say so", async () => {
    const alice = user("alice");
    const bob = user("bob");
    const b1 = await connect(bob);
    const b2 = await connect(bob);
    const a1 = await connect(alice);
    const a2 = await connect(alice);
    a1.sendJson({ type: "direct", to: bob, data: { text: "hi" }, id: "m1" });
    for (const b of [b1, b2]) expect(await b.next()).toEqual({ type: "message", seq: 1, data: { text: "hi" }, at: expect.any(Number), fromUser: alice });
    const copy = { type: "message", seq: 1, data: { text: "hi" }, at: expect.any(Number), from: a1.welcome.connectionId, toUser: bob };
    for (const a of [a1, a2]) expect(await a.next()).toEqual(copy);
    expect(await logRows(bob)).toEqual([{ seq: 1, sender: null, data: '{"text":"hi"}', from_user: alice, to_user: null }]);
    expect(await logRows(alice)).toEqual([{ seq: 1, sender: a1.welcome.connectionId, data: '{"text":"hi"}', from_user: null, to_user: bob }]);

    // The retry: nothing new in either log.
    a2.sendJson({ type: "direct", to: bob, data: { text: "hi" }, id: "m1" });
    a2.sendJson({ type: "send", data: "marker" });
    for (const a of [a1, a2]) expect(await a.next()).toMatchObject({ seq: 2, data: "marker" });
    expect((await logRows(bob)).length).toBe(1);
    expect(b1.frames.length).toBe(2);
  });

  it("alice and bob sending to each other at once, many times, all arrive: no call waits on a call back", async () => {
    const alice = user("alice");
    const bob = user("bob");
    const a = await connect(alice);
    const b = await connect(bob);
    const rounds = 20;
    for (let i = 0; i < rounds; i++) {
      a.sendJson({ type: "direct", to: bob, data: `a${i}`, id: `a${i}` });
      b.sendJson({ type: "direct", to: alice, data: `b${i}`, id: `b${i}` });
    }
    // Each side gets every message of the other's and a copy of each of its own: 2 × rounds frames, seqs 1..2×rounds.
    const collect = async (client: typeof a) => {
      const got = [];
      for (let i = 0; i < 2 * rounds; i++) got.push((await client.next(10_000)) as { seq: number; data: string; fromUser?: string; toUser?: string });
      return got;
    };
    const [toAlice, toBob] = await Promise.all([collect(a), collect(b)]);
    for (const [got, self, other, mine, theirs] of [
      [toAlice, alice, bob, "a", "b"],
      [toBob, bob, alice, "b", "a"],
    ] as const) {
      expect(got.map((f) => f.seq)).toEqual(Array.from({ length: 2 * rounds }, (_, i) => i + 1));
      expect(got.filter((f) => f.fromUser === other).map((f) => f.data)).toEqual(Array.from({ length: rounds }, (_, i) => `${theirs}${i}`));
      expect(got.filter((f) => f.toUser === other).map((f) => f.data)).toEqual(Array.from({ length: rounds }, (_, i) => `${mine}${i}`));
      expect(got.every((f) => f.fromUser !== self)).toBe(true);
    }
  });

  it("bob's hub asleep (evicted) and without sockets still logs it; his next socket resumes it", async () => {
    const alice = user("alice");
    const bob = user("bob");
    await hubOf(bob).push(["before"]);
    await evictDurableObject(hubOf(bob));
    const a = await connect(alice);
    a.sendJson({ type: "direct", to: bob, data: "while away", id: "w1" });
    expect(await a.next()).toMatchObject({ seq: 1, toUser: bob });
    const resumed = await connect(bob, {}, "since=1");
    expect(resumed.welcome).toMatchObject({ seq: 2 });
    expect(await resumed.next()).toEqual({ type: "message", seq: 2, data: "while away", at: expect.any(Number), fromUser: alice });
  });

  it('an invalid "to" is an invalid_frame naming "to", and no RPC is made (nothing is logged anywhere)', async () => {
    const alice = user("alice");
    const a = await connect(alice);
    a.sendJson({ type: "direct", to: "no spaces allowed", data: "x" });
    expect(await a.next()).toMatchObject({ type: "error", code: ErrorCode.InvalidFrame, message: expect.stringMatching(/^"to" is not a valid user id/) });
    expect(await logRows(alice)).toEqual([]);
  });
});

describe("a log made before deliveries between users", () => {
  it("gets the from_user and to_user columns on first use, keeps its rows, and replays them with the new ones", async () => {
    const bob = user("bob");
    await runInDurableObject(hubOf(bob), (_instance: UserHub, state) => {
      state.storage.sql.exec(`CREATE TABLE userhub_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE userhub_deliveries (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, sender TEXT, data TEXT NOT NULL, bytes INTEGER NOT NULL, base INTEGER NOT NULL);
        INSERT INTO userhub_meta (key, value) VALUES ('epoch', 'old-epoch');`);
      state.storage.sql.exec("INSERT INTO userhub_deliveries (seq, at, sender, data, bytes, base) VALUES (1, ?, NULL, '\"old\"', 5, 0)", Date.now());
    });
    await evictDurableObject(hubOf(bob));
    expect(await hubOf(bob).receiveDirect({ fromUser: "alice", json: '"new"' })).toEqual({ seq: 2, delivered: 0, duplicate: false });
    const b = await connect(bob, {}, "since=0&epoch=old-epoch");
    expect(b.welcome).toMatchObject({ seq: 2, epoch: "old-epoch" });
    expect(await b.next()).toEqual({ type: "message", seq: 1, data: "old", at: expect.any(Number) });
    expect(await b.next()).toEqual({ type: "message", seq: 2, data: "new", at: expect.any(Number), fromUser: "alice" });
  });
});

describe("a UserHub whose binding is not there", () => {
  it("says which binding it looked for (a ConfigError), and only when an app delivers to another user", async () => {
    const alice = user("alice");
    const error = await runInDurableObject(hubOf(alice), (instance: UserHub) => {
      (instance as unknown as { hubBinding: string }).hubBinding = "NO_SUCH_BINDING";
      try {
        void (instance as unknown as { peers: unknown }).peers;
        return null;
      } catch (caught) {
        return caught;
      }
    });
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(/NO_SUCH_BINDING: is not a Durable Object binding/);
    expect(env.USER_HUB).toBeDefined();
  });
});

describe("the sender's side of hub.users.deliver, on a Hub over memory", () => {
  /** An app whose `tell` frame delivers to `to` with a copy, keyed by `id`, and answers with the result. */
  const tellApp: HubApp = {
    frames: {
      async tell(frame, connection, hub) {
        const result = await hub.users.deliver(frame.to as string, frame.data, { copy: true, idempotencyKey: frame.id as string, from: connection.id });
        await connection.send({ type: "told", result });
      },
    },
  };

  it("a host that reaches no other hubs refuses it (handler_failed, a PeerHubsMissingError logged), and logs nothing", async () => {
    const errors: string[] = [];
    const spy = vi.spyOn(console, "error").mockImplementation((line: string) => void errors.push(line));
    try {
      const { host, send, next } = await hubWith(tellApp);
      send({ type: "tell", to: "bob", data: "x", id: "k" });
      expect(await next()).toMatchObject({ type: "error", code: ErrorCode.HandlerFailed });
      expect(errors.join("\n")).toContain("PeerHubsMissingError");
      expect(await host.log.latestSeq()).toBe(0);
    } finally {
      spy.mockRestore();
    }
  });

  it("an invalid user id that the app lets escape is an invalid_frame naming it; nothing reaches the peers", async () => {
    const { host, send, next } = await hubWith(tellApp);
    const calls: string[] = [];
    (host as { users?: PeerHubs }).users = { deliverDirect: async (userId) => (calls.push(userId), { seq: 1, delivered: 0, duplicate: false }) };
    send({ type: "tell", to: "no good", data: "x", id: "k" });
    expect(await next()).toMatchObject({ type: "error", code: ErrorCode.InvalidFrame, message: expect.stringMatching(/^not a valid user id: "no good"/) });
    expect(calls).toEqual([]);
  });

  it("the copy is written only after the recipient's hub answered: a failed call leaves none; a retry after the copy failed writes it once", async () => {
    const { host, send, next } = await hubWith(tellApp);
    const seen: { userId: string; key: string | undefined; fromUser: string }[] = [];
    let recipientFails = true;
    const recipient = new Map<string, number>();
    (host as { users?: PeerHubs }).users = {
      async deliverDirect(userId, delivery) {
        seen.push({ userId, key: delivery.idempotencyKey, fromUser: delivery.fromUser });
        if (recipientFails) throw new Error("recipient unreachable");
        const earlier = recipient.get(delivery.idempotencyKey!);
        if (earlier !== undefined) return { seq: earlier, delivered: 0, duplicate: true };
        recipient.set(delivery.idempotencyKey!, recipient.size + 1);
        return { seq: recipient.size, delivered: 1, duplicate: false };
      },
    };
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      send({ type: "tell", to: "bob", data: "hi", id: "m1" });
      expect(await next()).toMatchObject({ type: "error", code: ErrorCode.HandlerFailed });
      expect(await host.log.latestSeq()).toBe(0);
    } finally {
      errors.mockRestore();
    }
    recipientFails = false;
    send({ type: "tell", to: "bob", data: "hi", id: "m1" });
    expect(await next()).toMatchObject({ type: "message", seq: 1, data: "hi", toUser: "bob" });
    expect(await next()).toEqual({ type: "told", result: { seq: 1, delivered: 1, duplicate: false, copy: { seq: 1, delivered: 1, duplicate: false } } });
    // The client retries: the recipient says duplicate, and the copy is not written again.
    send({ type: "tell", to: "bob", data: "hi", id: "m1" });
    expect(await next()).toEqual({ type: "told", result: { seq: 1, delivered: 0, duplicate: true, copy: { seq: 1, delivered: 0, duplicate: true } } });
    expect(await host.log.latestSeq()).toBe(1);
    // The sender's id went with every call, from the hub, never from the frame.
    expect(seen).toEqual(Array.from({ length: 3 }, () => ({ userId: "bob", key: "m1", fromUser: "alice" })));
  });
});
