// The hub's limits over a small in-memory host with a clock the test moves and
// real workerd WebSocketPairs: per-socket frame rates (rate_limited, then 1008),
// per-user connection and ticket rates (429 / retryAfterMs), acknowledging
// sockets bounded by maxUnackedBytes (4002), payloads with no JSON form
// refused before they take a seq, and the log's retention as a resume sees it.
import { MemoryHost } from "./memory-hub.ts";
import { describe, expect, it } from "vitest";
import { CloseCode, type HubApp, readHubConfig } from "../../src/index.ts";
import {
  FRAME_RATE_LIMIT_REASON,
  Hub,
  MemoryDeliveryLog,
  type ResumeRequest,
  retentionOf,
  UNACKED_BYTES_REASON,
  UNSERIALIZABLE_PAYLOAD_PREFIX,
} from "../../src/host.ts";

/** The shared memory host on a clock the test moves. */
class TestHost extends MemoryHost {
  override clock = 1_000_000;
}

const config = readHubConfig({
  RATE_LIMIT_FRAMES_PER_SECOND: "10",
  RATE_LIMIT_FRAME_BURST: "10",
  RATE_LIMIT_CLOSE_AFTER_MS: "2000",
  CONNECTIONS_PER_MINUTE: "3",
  TICKETS_PER_MINUTE: "2",
  MAX_UNACKED_BYTES: "1000",
});

const bigIntApp: HubApp = {
  frames: {
    send: async (frame, connection, hub) => void (await hub.deliver(frame.data === "bigint" ? 1n : frame.data, { from: connection.id })),
    signal: (frame, connection, hub) => hub.signal(frame.data, { from: connection.id }),
  },
};

async function open(hub: Hub<WebSocket>, host: TestHost, options: { acks?: boolean; resume?: ResumeRequest } = {}) {
  const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
  const frames: Record<string, any>[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) => client.addEventListener("close", (e) => resolve({ code: e.code, reason: e.reason })));
  client.addEventListener("message", (e) => frames.push(JSON.parse(e.data as string)));
  client.accept();
  server.accept();
  const handoff = { userId: "alice", protocol: null, resume: options.resume ?? null, identity: { userId: "alice", expiresAt: null }, acks: options.acks === true };
  const accepted = await hub.accept(handoff, () => {
    host.sockets.add(server);
    return server;
  });
  if (!accepted.ok) throw new Error(accepted.message);
  return { client, server, frames, closed };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe("Hub limits", () => {
  it("refuses frames past the rate with one rate_limited notice, closes with 1008 while it stays over, then refuses the user's upgrades for the penalty", async () => {
    const host = new TestHost();
    const hub = new Hub(host, bigIntApp, config);
    const { server, frames, closed } = await open(hub, host);
    for (let i = 0; i < 15; i++) await hub.message(server, JSON.stringify({ type: "nope" }));
    await settle();
    const errors = frames.filter((f) => f.type === "error");
    expect(errors.filter((f) => f.code === "unknown_type")).toHaveLength(10);
    expect(errors.filter((f) => f.code === "rate_limited")).toEqual([
      { type: "error", code: "rate_limited", message: expect.stringContaining("10 frames per second"), retryAfterMs: 100 },
    ]);
    // Still over the limit (15 frames a second against 10): closed, naming the limit.
    let closedAt = 0;
    void closed.then(() => (closedAt = host.clock));
    for (let t = 0; t <= 3000 && closedAt === 0; t += 66) {
      host.clock += 66;
      await hub.message(server, JSON.stringify({ type: "nope" }));
      await settle();
    }
    expect(await closed).toEqual({ code: CloseCode.PolicyViolation, reason: FRAME_RATE_LIMIT_REASON });
    const again = await hub.admit({ userId: "alice", protocol: null, resume: null, identity: { userId: "alice", expiresAt: null } });
    expect(again).toMatchObject({ ok: false, status: 429, headers: { "Retry-After": "30" } });
  });

  it("answers 429 with Retry-After past connectionsPerMinute, and a ticket wait past ticketsPerMinute", async () => {
    const host = new TestHost();
    const hub = new Hub(host, bigIntApp, config);
    const handoff = { userId: "alice", protocol: null, resume: null, identity: { userId: "alice", expiresAt: null } };
    for (let i = 0; i < 3; i++) expect((await hub.admit(handoff)).ok).toBe(true);
    const refused = await hub.admit(handoff);
    expect(refused).toMatchObject({ ok: false, status: 429, headers: { "Retry-After": "20" } });
    host.clock += 20_000;
    expect((await hub.admit(handoff)).ok).toBe(true);
    const identity = { userId: "alice", expiresAt: null };
    expect(await hub.issueTicket(identity)).toHaveProperty("ticket");
    expect(await hub.issueTicket(identity)).toHaveProperty("ticket");
    expect(await hub.issueTicket(identity)).toEqual({ retryAfterMs: 30_000 });
  });

  it("a forged, used or foreign ticket is a 401 that costs the user it names nothing: their own token still connects", async () => {
    const host = new TestHost();
    const hub = new Hub(host, bigIntApp, config);
    const forged = `${btoa("alice").replace(/=+$/, "")}.${"ab".repeat(16)}`;
    for (let i = 0; i < 10; i++) {
      expect(await hub.admit({ userId: "alice", protocol: null, resume: null, ticket: forged })).toMatchObject({ ok: false, status: 401 });
    }
    // A real ticket, used twice: the second use is a 401 that does not count either.
    const issued = await hub.issueTicket({ userId: "alice", expiresAt: null });
    if (!("ticket" in issued)) throw new Error("no ticket");
    expect(await hub.admit({ userId: "alice", protocol: null, resume: null, ticket: issued.ticket })).toMatchObject({ ok: true });
    expect(await hub.admit({ userId: "alice", protocol: null, resume: null, ticket: issued.ticket })).toMatchObject({ ok: false, status: 401 });
    // connectionsPerMinute is 3: the redeemed ticket took one, two verified upgrades remain.
    const handoff = { userId: "alice", protocol: null, resume: null, identity: { userId: "alice", expiresAt: null } };
    expect((await hub.admit(handoff)).ok).toBe(true);
    expect((await hub.admit(handoff)).ok).toBe(true);
    expect(await hub.admit(handoff)).toMatchObject({ ok: false, status: 429 });
  });

  it("announces maxUnackedBytes to an acknowledging socket only, and closes it with 4002 past the bound unless it acknowledges", async () => {
    const host = new TestHost();
    const hub = new Hub(host, bigIntApp, config);
    const acking = await open(hub, host, { acks: true });
    const plain = await open(hub, host);
    await settle();
    expect(acking.frames[0]).toMatchObject({ type: "welcome", maxUnackedBytes: 1000 });
    expect(plain.frames[0]).not.toHaveProperty("maxUnackedBytes");
    const pad = "x".repeat(200);
    // Acknowledged as it goes: never closed.
    for (let i = 0; i < 20; i++) {
      const { seqs } = await hub.push([{ pad }]);
      await hub.message(acking.server, JSON.stringify({ type: "ack", seq: seqs[0] }));
    }
    // Not acknowledged: closed once more than 1000 bytes wait; the plain socket goes on.
    for (let i = 0; i < 6; i++) await hub.push([{ pad }]);
    expect(await acking.closed).toEqual({ code: CloseCode.SlowConsumer, reason: UNACKED_BYTES_REASON });
    await settle();
    expect(plain.frames.filter((f) => f.type === "message")).toHaveLength(26);
  });

  it("sends an acknowledging socket that is caught up one delivery larger than the bound, and closes it with 4002 only if more comes before it acknowledges", async () => {
    const host = new TestHost();
    const hub = new Hub(host, bigIntApp, config);
    const acking = await open(hub, host, { acks: true });
    await settle();
    const big = "x".repeat(3000);
    // Caught up: each delivery past the 1000-byte bound goes out, and an ack after each keeps it open.
    for (let i = 0; i < 3; i++) {
      const { seqs, delivered } = await hub.push([{ big }]);
      expect(delivered).toBe(1);
      await hub.message(acking.server, JSON.stringify({ type: "ack", seq: seqs[0] }));
    }
    await settle();
    expect(acking.frames.filter((f) => f.type === "message")).toHaveLength(3);
    expect(acking.client.readyState).toBe(WebSocket.OPEN);
    // One more with the last unacknowledged: past the bound with something already waiting, 4002.
    await hub.push([{ big }]);
    expect(acking.client.readyState).toBe(WebSocket.OPEN);
    expect((await hub.push(["small"])).delivered).toBe(0);
    expect(await acking.closed).toEqual({ code: CloseCode.SlowConsumer, reason: UNACKED_BYTES_REASON });
  });

  it("a rebuilt hub (as after hibernation) counts what an acknowledging socket left unacknowledged from the log, past its attachment's ackedSeq", async () => {
    const host = new TestHost();
    const acking = await open(new Hub(host, bigIntApp, config), host, { acks: true });
    await settle();
    const pad = "x".repeat(200);
    const first = new Hub(host, bigIntApp, config);
    const { seqs } = await first.push([{ pad }, { pad }]);
    await first.message(acking.server, JSON.stringify({ type: "ack", seq: seqs[1] }));
    expect(host.attachments.get(acking.server)!.ackedSeq).toBe(seqs[1]);
    // Each push on a fresh instance: 4 × ~250 bytes unacknowledged stay under 1000, the fifth passes it.
    for (let i = 0; i < 4; i++) await new Hub(host, bigIntApp, config).push([{ pad }]);
    expect(acking.client.readyState).toBe(WebSocket.OPEN);
    await new Hub(host, bigIntApp, config).push([{ pad }]);
    expect(await acking.closed).toEqual({ code: CloseCode.SlowConsumer, reason: UNACKED_BYTES_REASON });
  });

  it("a rebuilt hub whose log already dropped deliveries a socket never acknowledged closes it with 4002 (it can only get a reset)", async () => {
    const host = new TestHost();
    host.log = new MemoryDeliveryLog({ count: 2 });
    const acking = await open(new Hub(host, bigIntApp, config), host, { acks: true });
    await settle();
    for (let i = 0; i < 3; i++) await new Hub(host, bigIntApp, config).push([i]);
    expect(acking.client.readyState).toBe(WebSocket.OPEN);
    await new Hub(host, bigIntApp, config).push(["pruned past the ack"]);
    expect(await acking.closed).toEqual({ code: CloseCode.SlowConsumer, reason: UNACKED_BYTES_REASON });
  });

  it("refuses a payload with no JSON form before the log: an error frame, no seq taken, the next delivery is seq 1", async () => {
    const host = new TestHost();
    const hub = new Hub(host, bigIntApp, config);
    const { server, frames } = await open(hub, host);
    await hub.message(server, JSON.stringify({ type: "send", data: "bigint" }));
    await settle();
    expect(frames.at(-1)).toMatchObject({ type: "error", code: "invalid_frame", message: expect.stringContaining(UNSERIALIZABLE_PAYLOAD_PREFIX) });
    expect(await host.log.latestSeq()).toBe(0);
    await expect(hub.push([1n])).rejects.toThrow(UNSERIALIZABLE_PAYLOAD_PREFIX);
    expect(await host.log.latestSeq()).toBe(0);
    await hub.message(server, JSON.stringify({ type: "send", data: "fine" }));
    await settle();
    expect(frames.at(-1)).toMatchObject({ type: "message", seq: 1, data: "fine" });
  });

  it("answers a resume with a reset once a delivery is past LOG_RETENTION_MS, though the live socket sent only signals since (nothing that tells the log the time)", async () => {
    const host = new TestHost();
    const aged = readHubConfig({ LOG_RETENTION_MS: "5000" });
    host.log = new MemoryDeliveryLog(retentionOf(aged));
    const hub = new Hub(host, bigIntApp, aged);
    const keeper = await open(hub, host);
    await hub.message(keeper.server, JSON.stringify({ type: "send", data: "old" }));
    for (let i = 0; i < 10; i++) {
      host.clock += 1000;
      await hub.message(keeper.server, JSON.stringify({ type: "signal", data: "tick" }));
    }
    const epoch = await host.log.epoch();
    const back = await open(hub, host, { resume: { since: 0, epoch } });
    await settle();
    expect(back.frames.slice(1)).toEqual([{ type: "reset", epoch, oldest: 2, latest: 1 }]);
  });

  it("replays a delivery larger than LOG_RETENTION_BYTES while it is the newest", async () => {
    const host = new TestHost();
    host.log = new MemoryDeliveryLog({ bytes: 100 });
    const hub = new Hub(host, bigIntApp, config);
    const { seqs } = await hub.push(["x".repeat(500)]);
    const back = await open(hub, host, { resume: { since: 0, epoch: await host.log.epoch() } });
    await settle();
    expect(back.frames.slice(1)).toMatchObject([{ type: "message", seq: seqs[0], data: "x".repeat(500) }]);
  });
});
