// The Hub logic with a deployer's HubApp, over a small in-memory host and real
// workerd WebSocketPairs: hooks run once each and in order, FrameError and
// failing handlers become error frames, an app may close a socket itself, and a
// failure is logged as one line without a stack trace.
import { MemoryHost } from "./memory-hub.ts";
import { afterEach, describe, expect, it, vi } from "vitest";
import { CloseCode, ErrorCode, FrameError, type HubApp, readHubConfig } from "../../src/index.ts";
import {
  CloseReason,
  Hub,
  KeySetUnavailableError,
  MAX_FRAME_ID_CHARS,
} from "../../src/host.ts";
import { fanOutApp } from "../../worker/demo-app.ts";

/** The shared memory host on a clock the test moves. */
class TestHost extends MemoryHost {
  override clock = 1_000_000;
}

const config = readHubConfig({ HEARTBEAT_TIMEOUT_MS: "3000", MAX_MESSAGE_BYTES: "1024" });

/** Opens a socket on `hub` for `userId`; answers the client end with every frame it receives and its close. */
async function open(hub: Hub<WebSocket>, host: TestHost, userId = "alice") {
  const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
  const frames: unknown[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    client.addEventListener("close", (e) => resolve({ code: e.code, reason: e.reason })),
  );
  client.addEventListener("message", (e) => {
    frames.push(typeof e.data === "string" && e.data.startsWith("{") ? JSON.parse(e.data) : e.data);
  });
  client.accept();
  server.accept();
  // Route the server end's events to the hub, as a host does.
  server.addEventListener("message", (e) => void hub.message(server, e.data as string | ArrayBuffer));
  server.addEventListener("close", (e) => void hub.closed(server, e.code, e.reason));
  const accepted = await hub.accept({ userId, protocol: null, resume: null, identity: { userId, expiresAt: null } }, () => {
    host.sockets.add(server);
    return server;
  });
  if (!accepted.ok) throw new Error(accepted.message);
  return { client, server, frames, closed, id: host.readAttachment(server)!.connectionId };
}

const errors: string[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  errors.length = 0;
});
function captureErrors() {
  vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => void errors.push(args.map(String).join(" ")));
}

describe("the zombie sweep at the defaults (a twelve-hour janitor)", () => {
  const defaults = readHubConfig({});

  it("a hub whose socket pings sets one alarm, a sweep period away, and none again inside it; a frame writes its attachment at most once per interval", async () => {
    const host = new TestHost();
    const hub = new Hub(host, fanOutApp, defaults);
    const a = await open(hub, host);
    const openedAt = host.clock;
    expect(host.wakes).toEqual([openedAt + defaults.heartbeatSweepMs]);
    const writes = host.attachmentWrites;
    // Pings every 10 s (no runtime auto-response here: each reaches the hub) until just before the period ends.
    let pongs = 0;
    a.client.addEventListener("message", (e) => void (e.data === "pong" && pongs++));
    const pings = Math.floor(defaults.heartbeatSweepMs / 10_000) - 1;
    for (let i = 0; i < pings; i++) {
      host.clock += 10_000;
      await hub.message(a.server, "ping");
    }
    await vi.waitFor(() => expect(pongs).toBe(pings));
    expect(host.wakes).toEqual([openedAt + defaults.heartbeatSweepMs]);
    const elapsed = host.clock - openedAt;
    expect(host.attachmentWrites - writes).toBeLessThanOrEqual(Math.ceil(elapsed / defaults.heartbeat.intervalMs));
    expect(host.attachmentWrites - writes).toBeGreaterThan(0);
    // The janitor runs: the socket is alive, and the next alarm is one period on.
    host.clock = openedAt + defaults.heartbeatSweepMs;
    await hub.wake();
    expect(host.wakes).toEqual([openedAt + defaults.heartbeatSweepMs, host.clock + defaults.heartbeatSweepMs]);
    expect(a.client.readyState).toBe(WebSocket.OPEN);
    a.client.close(1000);
  });

  it("a silent socket is never counted once stale: the next wake of any kind closes it, alarm or not", async () => {
    const host = new TestHost();
    const hub = new Hub(host, fanOutApp, defaults);
    const [a, b] = [await open(hub, host), await open(hub, host)];
    host.clock += defaults.heartbeat.timeoutMs + defaults.heartbeat.intervalMs;
    // a speaks (and is alive by it); b has been silent a timeout past its last possible frame.
    a.client.send(JSON.stringify({ type: "send", data: "hi" }));
    expect(await b.closed).toEqual({ code: CloseCode.HeartbeatTimeout, reason: CloseReason[CloseCode.HeartbeatTimeout] });
    await vi.waitFor(() => expect(a.frames.some((f) => (f as { type?: string }).type === "message")).toBe(true));
    expect(a.frames).toContainEqual({ type: "presence", connections: 1 });
    expect(b.frames.some((f) => (f as { type?: string }).type === "message")).toBe(false);
    expect(host.wakes).toHaveLength(1);
    a.client.close(1000);
  });
});

describe("a frame's time", () => {
  it("a handler's deliveries and signals take the frame's time without reading the clock again; after an await the clock is read anew, and a socket gone stale meanwhile gets nothing", async () => {
    let release: () => void = () => {};
    const paused = new Promise<void>((resolve) => (release = resolve));
    const app: HubApp = {
      frames: {
        twice: async (_frame, connection, hub) => {
          // Both in the handler's synchronous part, as the demo's handlers call them.
          const delivered = hub.deliver("now", { from: connection.id });
          const signalled = hub.signal("now", { from: connection.id });
          await Promise.all([delivered, signalled]);
          await paused;
          await hub.deliver("later", { from: connection.id });
        },
      },
    };
    const host = new TestHost();
    const hub = new Hub(host, app, config);
    const [a, b] = [await open(hub, host), await open(hub, host)];
    // b went silent at connect; a speaks at the last moment b is still alive.
    host.clock += config.heartbeat.timeoutMs + config.heartbeat.intervalMs - 1;
    const frameAt = host.clock;
    let reads = 0;
    host.now = () => (reads++, host.clock);
    const handled = hub.message(a.server, JSON.stringify({ type: "twice" }));
    // One read for the frame, none for its handler's delivery and signal.
    expect(reads).toBe(1);
    await vi.waitFor(() => expect(b.frames.filter((f) => (f as { type?: string }).type === "signal")).toHaveLength(1));
    expect(b.frames).toContainEqual(expect.objectContaining({ type: "message", data: "now", at: frameAt }));
    // Past b's deadline, the handler's delivery after its await reads the clock, sweeps b (4000), and reaches only a.
    host.clock += 2;
    release();
    expect(await b.closed).toEqual({ code: CloseCode.HeartbeatTimeout, reason: CloseReason[CloseCode.HeartbeatTimeout] });
    await vi.waitFor(() => expect(a.frames).toContainEqual(expect.objectContaining({ type: "message", data: "later", at: frameAt + 2 })));
    expect(b.frames).not.toContainEqual(expect.objectContaining({ data: "later" }));
    await handled;
    expect(reads).toBeGreaterThan(1);
    a.client.close(1000);
  });
});

describe("application hooks", () => {
  it("calls onConnect after the welcome, and onClose exactly once however the socket ends", async () => {
    const events: string[] = [];
    const app: HubApp = {
      onConnect: (connection) => void events.push(`connect ${connection.id}`),
      onClose: (connection, { code }) => void events.push(`close ${connection.id} ${code}`),
    };
    const host = new TestHost();
    const hub = new Hub(host, app, config);
    const a = await open(hub, host);
    await vi.waitFor(() => expect(a.frames[0]).toMatchObject({ type: "welcome", connectionId: a.id }));
    expect(events).toEqual([`connect ${a.id}`]);

    // A close frame, then an error report and a heartbeat sweep for the same socket: one onClose.
    a.client.close(1000, "bye");
    await vi.waitFor(() => expect(events).toHaveLength(2));
    await hub.errored(a.server);
    host.clock += 10_000;
    await hub.wake();
    expect(events).toEqual([`connect ${a.id}`, `close ${a.id} 1000`]);

    // A heartbeat timeout reports its own code.
    const b = await open(hub, host);
    const wakesBefore = host.wakes.length;
    // Silent since it connected: stale one timeout after the latest its unrecorded frames could be (one interval on).
    host.clock += config.heartbeat.timeoutMs + config.heartbeat.intervalMs;
    await hub.wake();
    expect(await b.closed).toEqual({ code: CloseCode.HeartbeatTimeout, reason: CloseReason[CloseCode.HeartbeatTimeout] });
    expect(events.at(-1)).toBe(`close ${b.id} ${CloseCode.HeartbeatTimeout}`);
    // The alarm that ran was the last: nothing is set again for an empty hub.
    expect(host.wakes.slice(wakesBefore).filter((at) => at !== null)).toEqual([]);
  });

  it("routes each frame type to its handler with the verified connection; FrameError becomes invalid_frame", async () => {
    const seen: unknown[] = [];
    const app: HubApp = {
      frames: {
        echo: async (frame, connection) => {
          seen.push([frame.type, connection.userId]);
          if (typeof frame.text !== "string") throw new FrameError('"text" must be a string');
          await connection.send({ type: "echo", text: frame.text });
        },
      },
    };
    const host = new TestHost();
    const hub = new Hub(host, app, config);
    const a = await open(hub, host, "carol");
    a.client.send(JSON.stringify({ type: "echo", text: "hi", userId: "mallory" }));
    a.client.send(JSON.stringify({ type: "echo", text: 42 }));
    a.client.send(JSON.stringify({ type: "toString" }));
    await vi.waitFor(() => expect(a.frames).toHaveLength(4));
    expect(a.frames.slice(1)).toEqual([
      { type: "echo", text: "hi" },
      { type: "error", code: ErrorCode.InvalidFrame, message: '"text" must be a string' },
      { type: "error", code: ErrorCode.UnknownType, message: 'unknown frame type "toString"' },
    ]);
    // The identity is the hub's, whatever the frame claims.
    expect(seen).toEqual([["echo", "carol"], ["echo", "carol"]]);
    a.client.close(1000);
  });

  it("answers a refused frame with its id, when it carried a string of 1 to 128 characters, so a client can tell which frame it was", async () => {
    captureErrors();
    const app: HubApp = {
      frames: {
        picky: () => {
          throw new FrameError("no");
        },
        explode: () => Promise.reject(new TypeError("boom")),
      },
    };
    const host = new TestHost();
    const hub = new Hub(host, app, config);
    const a = await open(hub, host);
    const longest = "x".repeat(MAX_FRAME_ID_CHARS);
    for (const frame of [
      { type: "picky", id: "p1" },
      { type: "explode", id: "e1" },
      { type: "nobody", id: longest },
      { type: "picky", id: `${longest}x` },
      { type: "picky", id: 7 },
      { type: "picky", id: "" },
    ]) a.client.send(JSON.stringify(frame));
    await vi.waitFor(() => expect(a.frames).toHaveLength(7));
    expect((a.frames.slice(1) as { code: string; id?: string }[]).map((f) => [f.code, f.id])).toEqual([
      [ErrorCode.InvalidFrame, "p1"],
      [ErrorCode.HandlerFailed, "e1"],
      [ErrorCode.UnknownType, longest],
      [ErrorCode.InvalidFrame, undefined],
      [ErrorCode.InvalidFrame, undefined],
      [ErrorCode.InvalidFrame, undefined],
    ]);
    a.client.close(1000);
  });

  it("answers a failing handler with handler_failed and logs one line without a stack trace; the socket stays up", async () => {
    captureErrors();
    const app: HubApp = {
      frames: {
        explode: () => {
          throw new TypeError("boom\n    at secret (internal.ts:1:1)");
        },
        ok: (_frame, connection) => void connection.send({ type: "ok" }),
      },
    };
    const host = new TestHost();
    const hub = new Hub(host, app, config);
    const a = await open(hub, host);
    a.client.send(JSON.stringify({ type: "explode" }));
    a.client.send(JSON.stringify({ type: "ok" }));
    await vi.waitFor(() => expect(a.frames).toHaveLength(3));
    expect(a.frames[1]).toEqual({ type: "error", code: ErrorCode.HandlerFailed, message: 'the "explode" handler failed; what it did before it failed stands' });
    expect(a.frames[2]).toEqual({ type: "ok" });
    expect(errors).toEqual(['userhub: frame handler "explode" failed: TypeError: boom']);
    a.client.close(1000);
  });

  it("takes a handler that hands back the hub's promise: what it resolves to is ignored, a rejection is answered as a throw is; a handler that returns nothing finished", async () => {
    captureErrors();
    let quiet = 0;
    const app: HubApp = {
      frames: {
        // What the demo's handlers are: no async function of their own around the hub's promise.
        shout: (frame, connection, hub) => hub.signal(frame.data, { from: connection.id }),
        keep: (frame, _connection, hub) => hub.deliver(frame.data),
        // A payload with no JSON form: the hub's promise rejects (UnserializablePayloadError).
        bad: (_frame, _connection, hub) => hub.signal(10n),
        reject: () => Promise.reject(new FrameError("not now")),
        quiet: () => void quiet++,
      },
    };
    const host = new TestHost();
    const hub = new Hub(host, app, config);
    const a = await open(hub, host);
    for (const type of ["shout", "bad", "reject", "quiet", "keep", "shout"]) a.client.send(JSON.stringify({ type, data: type }));
    await vi.waitFor(() => expect(a.frames).toHaveLength(6));
    expect(a.frames.slice(1)).toMatchObject([
      { type: "signal", data: "shout", from: a.id },
      { type: "error", code: ErrorCode.InvalidFrame, message: expect.stringMatching(/no JSON form|BigInt/) },
      { type: "error", code: ErrorCode.InvalidFrame, message: "not now" },
      { type: "message", seq: 1, data: "keep" },
      { type: "signal", data: "shout", from: a.id },
    ]);
    expect(quiet).toBe(1);
    // Refusals are the client's business, not a failure of the server's.
    expect(errors).toEqual([]);
    expect(await hub.signal("x")).toEqual({ delivered: 1 });
    a.client.close(1000);
  });

  it("lets an app close a socket: one close frame, onClose once, nothing written after", async () => {
    const closes: number[] = [];
    const app: HubApp = {
      frames: {
        leave: async (_frame, connection) => {
          connection.close(4100, "left");
          connection.close(4101, "twice");
          expect(await connection.send({ type: "after" })).toBe("closed");
        },
      },
      onClose: (_connection, { code }) => void closes.push(code),
    };
    const host = new TestHost();
    const hub = new Hub(host, app, config);
    const a = await open(hub, host);
    a.client.send(JSON.stringify({ type: "leave" }));
    expect(await a.closed).toEqual({ code: 4100, reason: "left" });
    await hub.closed(a.server, 4100, "left");
    expect(closes).toEqual([4100]);
    // The welcome, then the closing notice with the close's own code and reason, and nothing else.
    expect(a.frames).toHaveLength(2);
    expect(a.frames[1]).toEqual({ type: "closing", code: 4100, reason: "left" });
  });

  it("lets a hook deliver to every socket of the user through the log", async () => {
    const app: HubApp = {
      onConnect: async (connection, hub) => {
        await hub.deliver({ joined: connection.id });
      },
    };
    const host = new TestHost();
    const hub = new Hub(host, app, config);
    const a = await open(hub, host);
    const b = await open(hub, host);
    await vi.waitFor(() => expect(a.frames).toHaveLength(3));
    expect(a.frames.slice(1)).toEqual([
      expect.objectContaining({ type: "message", seq: 1, data: { joined: a.id } }),
      expect.objectContaining({ type: "message", seq: 2, data: { joined: b.id } }),
    ]);
    expect(b.frames.slice(1)).toEqual([expect.objectContaining({ type: "message", seq: 2 })]);
    a.client.close(1000);
    b.client.close(1000);
  });
});

describe("in-band auth with a key set", () => {
  it("answers auth_failed naming the key set when it is unreachable, and keeps the socket", async () => {
    const host = new TestHost();
    const verifyToken = async (): Promise<never> => {
      throw new KeySetUnavailableError();
    };
    const hub = new Hub<WebSocket>(host, {}, config, { verifyToken });
    const alice = await open(hub, host);
    await hub.message(alice.server, JSON.stringify({ type: "auth", token: "x.y.z" }));
    await vi.waitFor(() =>
      expect(alice.frames).toContainEqual({ type: "error", code: "auth_failed", message: "the identity provider's key set is unreachable; try again shortly" }),
    );
    expect(alice.server.readyState).toBe(WebSocket.OPEN);
  });
});
