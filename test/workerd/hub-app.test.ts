// The Hub logic with a deployer's HubApp, over a small in-memory host and real
// workerd WebSocketPairs: hooks run once each and in order, FrameError and
// failing handlers become error frames, an app may close a socket itself, and a
// failure is logged as one line without a stack trace.
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  CloseCode,
  CloseReason,
  type ConnectionAttachment,
  DEFAULT_CONFIG,
  ErrorCode,
  FrameError,
  Hub,
  type HubApp,
  type HubHost,
  MemoryDeliveryLog,
  MemoryTicketStore,
  readHubConfig,
  retentionOf,
} from "../../src/index.ts";

/** A host that keeps everything in memory, as a runtime without hibernation would. */
class TestHost implements HubHost<WebSocket> {
  readonly sockets = new Set<WebSocket>();
  readonly attachments = new Map<WebSocket, ConnectionAttachment>();
  readonly wakes: (number | null)[] = [];
  readonly log = new MemoryDeliveryLog(retentionOf(DEFAULT_CONFIG));
  readonly tickets = new MemoryTicketStore();
  clock = 1_000_000;
  now = () => this.clock;
  openSockets = () => [...this.sockets].filter((ws) => ws.readyState === WebSocket.OPEN);
  readAttachment = (ws: WebSocket) => this.attachments.get(ws) ?? null;
  writeAttachment = (ws: WebSocket, attachment: ConnectionAttachment) => void this.attachments.set(ws, { ...attachment });
  lastAutoResponseAt = () => null;
  scheduleWake = (at: number | null) => void this.wakes.push(at);
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
  const admission = await hub.admit({ userId, protocol: null, resume: null, identity: { userId, expiresAt: null } });
  if (!admission.ok) throw new Error(admission.message);
  host.sockets.add(server);
  host.writeAttachment(server, hub.attachmentFor(admission.identity));
  await hub.open(server);
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
    host.clock += 3000;
    await hub.wake();
    expect(await b.closed).toEqual({ code: CloseCode.HeartbeatTimeout, reason: CloseReason[CloseCode.HeartbeatTimeout] });
    expect(events.at(-1)).toBe(`close ${b.id} ${CloseCode.HeartbeatTimeout}`);
    expect(host.wakes.at(-1)).toBeNull();
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
    expect(a.frames[1]).toEqual({ type: "error", code: ErrorCode.HandlerFailed, message: 'the "explode" handler failed; nothing was delivered' });
    expect(a.frames[2]).toEqual({ type: "ok" });
    expect(errors).toEqual(['userhub: frame handler "explode" failed: TypeError: boom']);
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
    expect(a.frames).toHaveLength(1);
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
