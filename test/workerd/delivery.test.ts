// Delivery through the user's hub inside workerd: concurrent pushes numbered
// in order with no gaps and seen in that order on every socket; resume that
// replays what a socket missed before anything live, or says `reset` when it
// is gone; and the authenticated HTTP push endpoint. The test bindings keep
// 20 deliveries (LOG_RETENTION in vitest.config.ts).
import { createExecutionContext, env, SELF, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { Hub, MemoryDeliveryLog } from "../../src/host.ts";
import { DEFAULT_CONFIG, PUSH_ONLY_APP } from "../../src/index.ts";
import worker, { type DemoEnv } from "../../worker/index.ts";
import { accept, connect, hubOf, tokenFor, upgradeHeaders } from "./hub-client.ts";
import { MemoryHost } from "./memory-hub.ts";

const PUSH_KEY = env.PUSH_API_KEY!;
const RETENTION = 20;

let users = 0;
const user = (name: string) => `${name}-${++users}`;

/** Connects `userId` resuming from `since` (and `epoch`, when given). */
async function resume(userId: string, since: number, epoch?: string) {
  const query = new URLSearchParams({ since: String(since), ...(epoch ? { epoch } : {}) });
  return await accept(await SELF.fetch(`https://hub.test/ws?${query}`, { headers: upgradeHeaders({ Authorization: `Bearer ${await tokenFor(userId)}` }) }));
}

function pushOverHttp(userId: string, body: unknown, headers: Record<string, string> = {}) {
  return SELF.fetch(`https://hub.test/users/${userId}/messages`, {
    method: "POST",
    headers: { Authorization: `Bearer ${PUSH_KEY}`, "Content-Type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

const seqs = (frames: unknown[]) => frames.filter((f) => (f as { type?: string }).type === "message").map((f) => (f as { seq: number }).seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("order", () => {
  it("numbers concurrent pushes strictly in order with no gaps, and every socket sees them in that order", async () => {
    const alice = user("alice");
    const [a1, a2] = [await connect(alice), await connect(alice)];
    const stub = hubOf(alice);
    const results = await Promise.all(range(1, 15).map((n) => stub.push([`single ${n}`, `pair ${n}`])));
    expect(results.flatMap((r) => r.seqs).sort((x, y) => x - y)).toEqual(range(1, 30));
    for (const r of results) expect(r.seqs[1]).toBe(r.seqs[0]! + 1);
    for (const client of [a1, a2]) {
      await vi.waitFor(() => expect(seqs(client.frames)).toHaveLength(30));
      expect(seqs(client.frames)).toEqual(range(1, 30));
    }
    a1.socket.close(1000);
    a2.socket.close(1000);
  });
});

describe("resume", () => {
  it("replays what a socket missed, in order, after the welcome and before anything live", async () => {
    const alice = user("alice");
    const first = await connect(alice);
    await hubOf(alice).push(["one", "two"]);
    await vi.waitFor(() => expect(seqs(first.frames)).toEqual([1, 2]));
    const epoch = first.welcome.epoch as string;
    first.socket.close(1000);
    await hubOf(alice).push(["three", "four", "five"]);

    const back = await resume(alice, 2, epoch);
    expect(back.welcome).toMatchObject({ seq: 5, epoch });
    await hubOf(alice).push(["six"]);
    await vi.waitFor(() => expect(seqs(back.frames)).toEqual([3, 4, 5, 6]));
    expect(back.frames.slice(1, 4)).toEqual([
      expect.objectContaining({ type: "message", seq: 3, data: "three" }),
      expect.objectContaining({ type: "message", seq: 4, data: "four" }),
      expect.objectContaining({ type: "message", seq: 5, data: "five" }),
    ]);
    back.socket.close(1000);
  });

  it("sends nothing extra to a socket that is up to date", async () => {
    const alice = user("alice");
    await hubOf(alice).push(["one"]);
    const back = await resume(alice, 1);
    await hubOf(alice).push(["two"]);
    await vi.waitFor(() => expect(seqs(back.frames)).toEqual([2]));
    back.socket.close(1000);
  });

  it("answers a gap older than retention with a reset frame naming what is kept", async () => {
    const alice = user("alice");
    await hubOf(alice).push(range(1, RETENTION + 10).map((n) => n));
    const back = await resume(alice, 3);
    expect(await back.next()).toEqual({ type: "reset", epoch: back.welcome.epoch, oldest: 11, latest: RETENTION + 10 });
    await hubOf(alice).push(["live"]);
    expect(await back.next()).toMatchObject({ type: "message", seq: RETENTION + 11, data: "live" });
    back.socket.close(1000);
  });

  it("sends a socket each seq once when a delivery lands while its welcome reads the log (a log read asynchronously, as Deno KV is)", async () => {
    // latestSeq waits until released, as a read of Deno KV waits for the store while other events run.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    class SlowReadLog extends MemoryDeliveryLog {
      override async latestSeq(): Promise<number> {
        await gate;
        return await super.latestSeq();
      }
    }
    const host = new MemoryHost();
    const log = new SlowReadLog();
    host.log = log;
    const hub = new Hub(host, PUSH_ONLY_APP, DEFAULT_CONFIG);
    await log.append([{ data: "one" }], Date.now());
    const epoch = await log.epoch();
    const sockets = [{ since: 1, epoch }, null].map((resume) => {
      const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
      const frames: { type: string; seq?: number }[] = [];
      client.addEventListener("message", (e) => frames.push(JSON.parse(e.data as string)));
      client.accept();
      server.accept();
      const accepted = hub.accept({ userId: "alice", protocol: null, resume, identity: { userId: "alice", expiresAt: null } }, () => {
        host.sockets.add(server);
        return server;
      });
      return { client, frames, accepted };
    });
    // Both sockets are live, their welcomes waiting on the read: a push takes seq 2 and sends it live.
    await vi.waitFor(() => expect(host.openSockets()).toHaveLength(2));
    const pushed = hub.push(["two"]);
    await vi.waitFor(() => expect(log.entries()).toHaveLength(2));
    release();
    expect((await pushed).seqs).toEqual([2]);
    await Promise.all(sockets.map((s) => s.accepted));
    await hub.push(["three"]);
    const [resuming, fresh] = sockets;
    // The resuming socket: seq 2 in its replay, not live as well. The fresh one: its welcome's seq (2) is where it starts.
    await vi.waitFor(() => expect(resuming!.frames.map((f) => [f.type, f.seq])).toEqual([["welcome", 2], ["message", 2], ["message", 3]]));
    await vi.waitFor(() => expect(fresh!.frames.map((f) => [f.type, f.seq])).toEqual([["welcome", 2], ["message", 3]]));
    for (const s of sockets) s.client.close(1000);
  });

  it("answers a resume from another epoch, or from a seq the hub never issued, with a reset", async () => {
    const alice = user("alice");
    await hubOf(alice).push(["one", "two"]);
    const otherEpoch = await resume(alice, 1, "a-log-that-was-reset");
    expect(await otherEpoch.next()).toMatchObject({ type: "reset", oldest: 1, latest: 2 });
    const future = await resume(alice, 99);
    expect(await future.next()).toMatchObject({ type: "reset", oldest: 1, latest: 2 });
    otherEpoch.socket.close(1000);
    future.socket.close(1000);
  });
});

describe("POST /users/:userId/messages", () => {
  it("delivers one message or a batch, answering the seqs and how many sockets got it live", async () => {
    const alice = user("alice");
    const client = await connect(alice);
    const one = await pushOverHttp(alice, { data: { text: "hi" } });
    expect(one.status).toBe(200);
    expect(await one.json()).toEqual({ seq: 1, seqs: [1], delivered: 1, duplicate: false });
    const batch = await pushOverHttp(alice, { messages: ["a", "b", "c"] });
    expect(await batch.json()).toEqual({ seq: 4, seqs: [2, 3, 4], delivered: 1, duplicate: false });
    await vi.waitFor(() => expect(seqs(client.frames)).toEqual([1, 2, 3, 4]));
    expect(client.frames[1]).toMatchObject({ type: "message", seq: 1, data: { text: "hi" } });
    client.socket.close(1000);
  });

  it("delivers a retried push with the same Idempotency-Key once", async () => {
    const alice = user("alice");
    const client = await connect(alice);
    const first = await (await pushOverHttp(alice, { data: "once" }, { "Idempotency-Key": "order-42" })).json();
    const retry = await (await pushOverHttp(alice, { data: "once" }, { "Idempotency-Key": "order-42" })).json();
    expect(first).toEqual({ seq: 1, seqs: [1], delivered: 1, duplicate: false });
    expect(retry).toEqual({ seq: 1, seqs: [1], delivered: 0, duplicate: true });
    await pushOverHttp(alice, { data: "after" });
    await vi.waitFor(() => expect(seqs(client.frames)).toEqual([1, 2]));
    client.socket.close(1000);
  });

  it("refuses a missing or wrong key with 401, a user's token with 403, and no key configured with 404", async () => {
    const alice = user("alice");
    const token = await tokenFor(alice);
    const cases: [Record<string, string>, number, RegExp][] = [
      [{ Authorization: "" }, 401, /server push key/],
      [{ Authorization: "Bearer not-the-key" }, 401, /wrong push key/],
      [{ Authorization: `Bearer ${token}` }, 403, /a user's token cannot push/],
    ];
    for (const [headers, status, message] of cases) {
      const response = await pushOverHttp(alice, { data: "x" }, headers);
      expect(response.status).toBe(status);
      const body = await response.text();
      expect(body).toMatch(message);
      expect(body).not.toContain(token);
    }
    const ctx = createExecutionContext();
    const off = await worker.fetch(
      new Request(`https://hub.test/users/${alice}/messages`, { method: "POST", headers: { Authorization: `Bearer ${PUSH_KEY}` }, body: '{"data":1}' }),
      { ...env, PUSH_API_KEY: undefined } satisfies DemoEnv,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(off.status).toBe(404);
    expect(await off.text()).toMatch(/set PUSH_API_KEY/);
    // None of them delivered anything.
    expect((await hubOf(alice).push(["first"])).seqs).toEqual([1]);
  });

  it("answers a bad body, user id or key with 400 and a body over 1 MiB with 413", async () => {
    const alice = user("alice");
    const cases: [string, unknown, Record<string, string>, number, RegExp][] = [
      [alice, "not json", {}, 400, /body must be JSON/],
      [alice, [1, 2], {}, 400, /JSON object/],
      [alice, {}, {}, 400, /needs "data"/],
      [alice, { data: 1, messages: [2] }, {}, 400, /not both/],
      [alice, { messages: [] }, {}, 400, /non-empty array/],
      [alice, { messages: "hello" }, {}, 400, /non-empty array/],
      [alice, { messages: { 0: "x" } }, {}, 400, /non-empty array/],
      [alice, { messages: range(1, 101) }, {}, 400, /at most 100/],
      ["a%20b", { data: 1 }, {}, 400, /not a valid user id/],
      [alice, { data: 1 }, { "Idempotency-Key": "x".repeat(201) }, 400, /Idempotency-Key/],
      [alice, { data: 1 }, { "Idempotency-Key": "" }, 400, /Idempotency-Key/],
      [alice, { data: 1 }, { "Idempotency-Key": "a b" }, 400, /Idempotency-Key/],
      [alice, { data: "x".repeat(1024 * 1024) }, {}, 413, /at most 1048576 bytes/],
    ];
    for (const [userId, body, headers, status, message] of cases) {
      const response = await pushOverHttp(userId, body, headers);
      expect(response.status, JSON.stringify(body).slice(0, 40)).toBe(status);
      expect(await response.text()).toMatch(message);
    }
    // None of them delivered anything.
    expect((await hubOf(alice).push(["first"])).seqs).toEqual([1]);
    // A key of 200 characters is the longest taken: the hubs' bound.
    expect((await pushOverHttp(alice, { data: 2 }, { "Idempotency-Key": "x".repeat(200) })).status).toBe(200);
  });
});
