// Heartbeats end to end: under a real `wrangler dev` with a 3 s timeout and a
// 1 s interval, the hub's alarm closes silent sockets with 4000 "heartbeat
// timeout", counted from each socket's last sign of life, and leaves pinging
// sockets (of the same user and of others) alone.
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { afterAll, afterEach, beforeAll, expect, test, vi } from "vitest";
import WebSocket from "ws";
import { startWranglerDev, type WranglerDev } from "../support/wrangler-dev.ts";

const TIMEOUT_MS = 3_000;
const INTERVAL_MS = 1_000;
/** Clock slack between this process and workerd. */
const SLACK_MS = 100;
/** A generous bound on how late the close may come: this is about correctness, not speed. */
const LATE_BOUND_MS = TIMEOUT_MS + 5_000;
/**
 * How long the client waits, after the close handshake, for the server to end
 * the TCP connection before ending it itself (ws's `closeTimeout`, 30 s by
 * default). Needed here because workerd keeps
 * the connection of a socket that never sent a data frame for about 10 s after
 * the hub's close frame and the client's reply (seen with and without the
 * wrangler dev proxy); the close frame itself arrives on time, and its code and
 * reason are what the 'close' event reports.
 */
const CLOSE_TIMEOUT_MS = 1_000;

let dev: WranglerDev;

beforeAll(async () => {
  dev = await startWranglerDev({ vars: { HEARTBEAT_TIMEOUT_MS: String(TIMEOUT_MS), HEARTBEAT_INTERVAL_MS: String(INTERVAL_MS) } });
});

afterAll(async () => {
  await closeAll();
  await dev?.stop();
});

afterEach(async () => {
  await closeAll();
});

// ---------------------------------------------------------------- helpers --

interface Frame {
  text: string;
  binary: boolean;
  at: number;
}

interface Closed {
  code: number;
  reason: string;
  at: number;
}

interface Client {
  socket: WebSocket;
  /** When this client asked to connect (before the hub's own connect time). */
  requestedAt: number;
  /** When the 101 arrived. */
  openedAt: number;
  /** Every frame so far but presence notices, with arrival times. */
  frames: Frame[];
  /** Set once the socket closed. */
  closedInfo: Closed | undefined;
  closed: Promise<Closed>;
  /** The next frame not read yet (bounded wait). */
  next(timeoutMs?: number): Promise<Frame>;
  send(data: string): void;
  /** Sends `ping` every interval until stopped or closed. */
  startPinging(): void;
  stopPinging(): void;
  welcome: Record<string, any>;
}

const clients = new Set<Client>();

function uniqueUser(base: string): string {
  return `${base}-${randomUUID().slice(0, 8)}`;
}

async function token(userId: string): Promise<string> {
  const res = await fetch(`${dev.url}/dev/token`, { method: "POST", body: JSON.stringify({ userId }) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { token: string }).token;
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Connects as `userId` with `Authorization: Bearer`, and reads the welcome. */
async function connect(userId: string): Promise<Client> {
  const jwt = await token(userId);
  const requestedAt = Date.now();
  const socket = new WebSocket(`${dev.wsUrl}/ws`, {
    headers: { Authorization: `Bearer ${jwt}` },
    handshakeTimeout: 10_000,
    closeTimeout: CLOSE_TIMEOUT_MS,
  } as WebSocket.ClientOptions);
  const frames: Frame[] = [];
  let read = 0;
  let wake: (() => void) | undefined;
  let pinger: NodeJS.Timeout | undefined;
  socket.on("message", (data, isBinary) => {
    const text = Buffer.from(data as Buffer).toString("utf8");
    // The demo app's presence notices (a socket of this user joined or left) are not what these tests are about.
    if (!isBinary && text.startsWith('{"type":"presence"')) return;
    frames.push({ text, binary: isBinary, at: Date.now() });
    wake?.();
  });
  const client: Client = {
    socket,
    requestedAt,
    openedAt: 0,
    frames,
    closedInfo: undefined,
    closed: new Promise<Closed>((resolve) =>
      socket.once("close", (code, reason) => {
        clearInterval(pinger);
        client.closedInfo = { code, reason: reason.toString("utf8"), at: Date.now() };
        resolve(client.closedInfo);
      }),
    ),
    async next(timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (read >= frames.length) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no frame within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
      return frames[read++]!;
    },
    send: (data) => socket.send(data),
    startPinging() {
      pinger = setInterval(() => {
        if (socket.readyState === WebSocket.OPEN) socket.send("ping");
      }, INTERVAL_MS);
    },
    stopPinging() {
      clearInterval(pinger);
    },
    welcome: {},
  };
  clients.add(client);
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("unexpected-response", (_req: unknown, res: IncomingMessage) => {
      reject(new Error(`upgrade refused: ${res.statusCode}`));
      socket.terminate();
    });
    socket.on("error", reject);
  });
  client.openedAt = Date.now();
  const first = await client.next();
  client.welcome = JSON.parse(first.text) as Record<string, any>;
  expect(client.welcome).toMatchObject({ type: "welcome", userId, heartbeat: { intervalMs: INTERVAL_MS, timeoutMs: TIMEOUT_MS } });
  return client;
}

async function closeClient(client: Client): Promise<Closed> {
  client.stopPinging();
  client.socket.close(1000, "done");
  return await withTimeout(client.closed, 5_000, "close handshake");
}

async function closeAll(): Promise<void> {
  const all = [...clients];
  clients.clear();
  await Promise.all(
    all.map(async (client) => {
      client.stopPinging();
      if (client.socket.readyState === WebSocket.CLOSED) return;
      if (client.socket.readyState === WebSocket.OPEN) client.socket.close(1000, "test over");
      else client.socket.terminate();
      try {
        await withTimeout(client.closed, 3_000, "close");
      } catch {
        client.socket.terminate();
      }
    }),
  );
}

/** Waits for a `pong` that arrived after `after`. */
async function pongAfter(client: Client, after: number, timeoutMs = 5_000): Promise<void> {
  await vi.waitFor(
    () => {
      expect(client.frames.some((f) => f.text === "pong" && f.at > after)).toBe(true);
    },
    { timeout: timeoutMs, interval: 50 },
  );
}

function expectOpen(client: Client): void {
  expect(client.closedInfo).toBeUndefined();
  expect(client.socket.readyState).toBe(WebSocket.OPEN);
}

// ------------------------------------------------------------------ tests --

test("a silent socket is closed with 4000 after HEARTBEAT_TIMEOUT_MS; pinging sockets of the same and other users stay up", async () => {
  const user = uniqueUser("hb");
  const other = uniqueUser("hb-other");

  const a = await connect(user);
  a.startPinging();
  const b = await connect(user); // never sends anything after connecting
  const c = await connect(other);
  c.startPinging();
  expect(b.welcome.connections).toBe(2);

  const closed = await withTimeout(b.closed, LATE_BOUND_MS + 2_000, "heartbeat close of the silent socket");
  expect(closed.code).toBe(4000);
  expect(closed.reason).toBe("heartbeat timeout");
  // The hub's connect time lies between the request and the 101, so the close
  // may come no earlier than TIMEOUT_MS after the request.
  expect(closed.at - b.requestedAt).toBeGreaterThanOrEqual(TIMEOUT_MS - SLACK_MS);
  expect(closed.at - b.openedAt).toBeLessThan(LATE_BOUND_MS);
  // B sent nothing and got nothing but its welcome.
  expect(b.frames.map((f) => f.text)).toHaveLength(1);

  // At that moment, A and C are open and answered.
  expectOpen(a);
  expectOpen(c);
  await pongAfter(a, closed.at);
  await pongAfter(c, closed.at);

  // Some seconds (more than a timeout) later, they still are.
  await pongAfter(a, closed.at + TIMEOUT_MS + 1_000, TIMEOUT_MS + 6_000);
  await pongAfter(c, closed.at + TIMEOUT_MS + 1_000, TIMEOUT_MS + 6_000);
  expectOpen(a);
  expectOpen(c);
  // Their pings were answered; nothing but pongs (and presence notices, set aside) reached them.
  expect(a.frames.slice(1).every((f) => f.text === "pong")).toBe(true);
  expect(c.frames.slice(1).every((f) => f.text === "pong")).toBe(true);

  // Stop A and C: a new connection of each user is then the only one counted.
  expect((await closeClient(a)).code).toBe(1000);
  expect((await closeClient(c)).code).toBe(1000);
  const fresh = await connect(user);
  expect(fresh.welcome.connections).toBe(1);
  const freshOther = await connect(other);
  expect(freshOther.welcome.connections).toBe(1);
});

test("the timeout counts from a socket's last frame, not from its connect", async () => {
  const d = await connect(uniqueUser("hb-late"));
  // Silent for about two seconds, then one JSON frame, then silent for good.
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const sentAt = Date.now();
  d.send(JSON.stringify({ type: "send", data: "one frame, then silence" }));
  const echo = JSON.parse((await d.next()).text) as Record<string, unknown>;
  expect(echo).toMatchObject({ type: "message", data: "one frame, then silence" });

  const closed = await withTimeout(d.closed, LATE_BOUND_MS + 2_000, "heartbeat close after the last frame");
  expect(closed.code).toBe(4000);
  expect(closed.reason).toBe("heartbeat timeout");
  // The hub received the frame after we sent it: no close before sentAt + timeout.
  expect(closed.at - sentAt).toBeGreaterThanOrEqual(TIMEOUT_MS - SLACK_MS);
  expect(closed.at - sentAt).toBeLessThan(LATE_BOUND_MS);
});
