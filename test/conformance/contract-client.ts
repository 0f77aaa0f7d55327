// The client side of the conformance suite: connects to the host under test
// (useServer), signs and fetches tokens, pushes, and keeps every socket it
// opened so that each test can close them all. contract.test.ts holds the cases.
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { type IncomingHttpHeaders, type IncomingMessage, request as httpRequest } from "node:http";
import { afterAll, afterEach, beforeAll, expect } from "vitest";
import WebSocket from "ws";
import { readDevVars } from "../support/deno-demo.ts";
import type { Host, HostServer } from "./hosts.ts";

export const INTERVAL_MS = 1_000;
export const TIMEOUT_MS = 3_000;
export const MAX_MESSAGE_BYTES = 1_024;
export const MAX_CONNECTIONS = 4;
export const VARS = {
  HEARTBEAT_INTERVAL_MS: String(INTERVAL_MS),
  HEARTBEAT_TIMEOUT_MS: String(TIMEOUT_MS),
  // The eager sweep: a silent socket is closed within a timeout and an interval of its last frame.
  HEARTBEAT_SWEEP_MS: String(TIMEOUT_MS),
  MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES),
  MAX_CONNECTIONS_PER_USER: String(MAX_CONNECTIONS),
};

/** How long a frame may take to arrive: generous, the machine is shared. */
export const FRAME_TIMEOUT_MS = 10_000;
/** Clock slack between this process and the server. */
export const SLACK_MS = 100;
/** A generous bound on how late a heartbeat close may come: correctness, not speed. */
export const LATE_BOUND_MS = TIMEOUT_MS + 7_000;
/**
 * How long the client waits, after the close handshake, for the server to end
 * the TCP connection before ending it itself (ws's `closeTimeout`, 30 s by
 * default). workerd keeps the connection of a socket that never sent a data
 * frame for about 10 s after the hub's close frame; the close frame arrives on
 * time, and its code and reason are what the 'close' event reports.
 */
const CLOSE_TIMEOUT_MS = 1_000;
/** How long to keep listening for frames that must not come. */
export const QUIET_MS = 500;

/** The local secrets, read from .dev.vars (never written into this file). */
const DEV_VARS = readDevVars();
export const JWT_SECRET = DEV_VARS.JWT_SECRET!;
const PUSH_API_KEY = DEV_VARS.PUSH_API_KEY!;

/** The server of the host under test; the hosts' suites run one after the other. */
let current: HostServer | undefined;

/** Points every helper at the server of the host under test (undefined once it stopped). */
export function useServer(next: HostServer | undefined): void {
  current = next;
}

export function server(): HostServer {
  if (!current) throw new Error("no server is running");
  return current;
}

/**
 * Called inside a host's `describe`: starts its server with `vars` before
 * the suite and points every helper at it, stops it after the suite, and
 * (unless `closeAfterEach` is false) closes every client after each test.
 */
export function serveHostForSuite(host: Host, vars: Readonly<Record<string, string>>, { closeAfterEach = true } = {}): void {
  beforeAll(async () => {
    useServer(await host.start(vars));
  });
  afterAll(async () => {
    await closeAll();
    await server().stop();
    useServer(undefined);
  });
  if (closeAfterEach) afterEach(closeAll);
}

// ---------------------------------------------------------------- helpers --

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A user id no other test uses, so that hubs never carry sockets or deliveries over. */
export function uniqueUser(base: string): string {
  return `${base}-${randomUUID().slice(0, 8)}`;
}

export const now = () => Math.floor(Date.now() / 1000);

/** An HS256 JWT signed here, for tokens the dev endpoint will not make (other secret, expired). */
/** An HS256 JWT over any JSON payload (also `null` or an array: hostile tokens are validly signed too). */
export function signJwt(payload: unknown, secret: string): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const input = `${part({ alg: "HS256", typ: "JWT" })}.${part(payload)}`;
  return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
}

export function jwtPart(jwt: string, index: 0 | 1): Record<string, unknown> {
  const parts = jwt.split(".");
  expect(parts).toHaveLength(3);
  return JSON.parse(Buffer.from(parts[index]!, "base64url").toString("utf8")) as Record<string, unknown>;
}

/** POST /dev/token: a token for `userId`. */
export async function token(userId: string): Promise<string> {
  const res = await fetch(`${server().url}/dev/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ userId }),
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { token?: unknown };
  expect(typeof body.token).toBe("string");
  return body.token as string;
}

/** POST /users/:userId/messages with the push key (or `key`). */
export async function push(
  userId: string,
  body: unknown,
  options: { key?: string | null; idempotencyKey?: string } = {},
): Promise<{ status: number; headers: Headers; text: string; json: Record<string, any> | undefined }> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  const key = options.key === undefined ? PUSH_API_KEY : options.key;
  if (key !== null) headers.authorization = `Bearer ${key}`;
  if (options.idempotencyKey !== undefined) headers["idempotency-key"] = options.idempotencyKey;
  const res = await fetch(`${server().url}/users/${encodeURIComponent(userId)}/messages`, {
    method: "POST",
    headers,
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let json: Record<string, any> | undefined;
  try {
    json = JSON.parse(text) as Record<string, any>;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** `POST /messages` with the server key: one piece of data to many users. */
export async function pushToMany(body: unknown, idempotencyKey: string): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${server().url}/messages`, {
    method: "POST",
    headers: { authorization: `Bearer ${PUSH_API_KEY}`, "content-type": "application/json", "idempotency-key": idempotencyKey },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  try {
    return { status: res.status, json: JSON.parse(text) as unknown };
  } catch {
    return { status: res.status, json: text };
  }
}

export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

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

interface Refusal {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * One socket, with every frame it received in order. The keep-alive pings it
 * sends by itself are answered with `pong`s that are set aside (they are all
 * alike, so one `pong` per keep-alive ping is taken out of the frames), so
 * that `frames` holds exactly what the tests are about.
 */
class Client {
  readonly socket: WebSocket;
  readonly requestedAt: number;
  response: IncomingMessage | undefined;
  openedAt = 0;
  /** Every frame but the keep-alive pongs. */
  readonly frames: Frame[] = [];
  /** Arrival times of the keep-alive pongs. */
  readonly keepAlivePongs: number[] = [];
  closedInfo: Closed | undefined;
  readonly closed: Promise<Closed>;
  welcome: Record<string, any> = {};
  #read = 0;
  #wake: (() => void) | undefined;
  #pinger: NodeJS.Timeout | undefined;
  #pingsAwaitingPong = 0;

  constructor(url: string, protocols: string[], headers: Record<string, string>) {
    this.requestedAt = Date.now();
    this.socket = new WebSocket(url, protocols, { headers, handshakeTimeout: 15_000, closeTimeout: CLOSE_TIMEOUT_MS } as WebSocket.ClientOptions);
    // Listen before 'open': the welcome may arrive in the same packet as the 101.
    this.socket.on("message", (data, isBinary) => {
      const text = Buffer.from(data as Buffer).toString("utf8");
      if (!isBinary && text === "pong" && this.#pingsAwaitingPong > 0) {
        this.#pingsAwaitingPong--;
        this.keepAlivePongs.push(Date.now());
        return;
      }
      this.frames.push({ text, binary: isBinary, at: Date.now() });
      this.#wake?.();
    });
    this.closed = new Promise<Closed>((resolve) =>
      this.socket.once("close", (code, reason) => {
        this.stopPinging();
        this.closedInfo = { code, reason: reason.toString("utf8"), at: Date.now() };
        this.#wake?.();
        resolve(this.closedInfo);
      }),
    );
  }

  /** Frames received but not read yet. */
  get pending(): Frame[] {
    return this.frames.slice(this.#read);
  }

  /** The next frame not read yet (bounded wait). */
  async next(timeoutMs = FRAME_TIMEOUT_MS): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    while (this.#read >= this.frames.length) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no frame within ${timeoutMs} ms${this.closedInfo ? ` (socket closed: ${this.closedInfo.code})` : ""}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
    return this.frames[this.#read++]!;
  }

  /** The next frame, parsed as JSON (fails on a binary or non-JSON frame). */
  async nextJson(timeoutMs?: number): Promise<Record<string, any>> {
    const frame = await this.next(timeoutMs);
    expect(frame.binary).toBe(false);
    return JSON.parse(frame.text) as Record<string, any>;
  }

  send(data: string | Buffer): void {
    this.socket.send(data);
  }

  /** Sends `ping` every heartbeat interval until stopped or closed. */
  startPinging(): void {
    this.stopPinging();
    this.#pinger = setInterval(() => {
      if (this.socket.readyState !== WebSocket.OPEN) return;
      this.#pingsAwaitingPong++;
      this.socket.send("ping");
    }, INTERVAL_MS);
  }

  stopPinging(): void {
    clearInterval(this.#pinger);
    this.#pinger = undefined;
  }
}

const clients = new Set<Client>();

export interface ConnectOptions {
  /** Sent as `Authorization: Bearer <token>`. */
  bearer?: string;
  protocols?: string[];
  headers?: Record<string, string>;
  /** The query string of /ws, e.g. `since=3&epoch=…`. */
  query?: string;
  /** Ping every interval (default true); false for a socket that stays silent. */
  keepAlive?: boolean;
}

type Outcome = { ok: true; client: Client } | { ok: false; refusal: Refusal };

/** Opens a socket to /ws; resolves with the open client or with the HTTP answer that refused the upgrade. */
function attempt(options: ConnectOptions = {}): Promise<Outcome> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.bearer !== undefined) headers.Authorization = `Bearer ${options.bearer}`;
  const url = `${server().wsUrl}/ws${options.query ? `?${options.query}` : ""}`;
  const client = new Client(url, options.protocols ?? [], headers);
  clients.add(client);
  const { socket } = client;
  return new Promise<Outcome>((resolve, reject) => {
    socket.once("upgrade", (res) => (client.response = res));
    socket.once("open", () => {
      client.openedAt = Date.now();
      if (options.keepAlive ?? true) client.startPinging();
      resolve({ ok: true, client });
    });
    socket.once("unexpected-response", (_req, res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => {
        resolve({ ok: false, refusal: { status: res.statusCode ?? 0, headers: res.headers, body } });
        socket.terminate(); // the answer is handled; ws leaves aborting the handshake to us
      });
    });
    // After a refusal, terminate() reports an error too; only an error before any answer matters.
    socket.on("error", (error) => reject(error));
  });
}

/** Opens a socket that must be accepted, and reads its welcome. */
export async function connect(options: ConnectOptions = {}): Promise<Client> {
  const outcome = await attempt(options);
  if (!outcome.ok) throw new Error(`upgrade refused: ${outcome.refusal.status} ${outcome.refusal.body}`);
  const { client } = outcome;
  client.welcome = await client.nextJson();
  expect(client.welcome.type).toBe("welcome");
  return client;
}

/** Connects as `userId` with a fresh dev token in `Authorization: Bearer`. */
export async function connectAs(userId: string, options: ConnectOptions = {}): Promise<Client> {
  return await connect({ bearer: await token(userId), ...options });
}

/** Opens a socket that must be refused, and returns the refusal. */
export async function refuse(options: ConnectOptions = {}): Promise<Refusal> {
  const outcome = await attempt(options);
  if (outcome.ok) throw new Error("upgrade was accepted, expected a refusal");
  return outcome.refusal;
}

/** Closes a client normally and waits until the close handshake completes. */
export async function closeClient(client: Client): Promise<Closed> {
  client.stopPinging();
  client.socket.close(1000, "done");
  return await withTimeout(client.closed, FRAME_TIMEOUT_MS, "close handshake");
}

export async function closeAll(): Promise<void> {
  const all = [...clients];
  clients.clear();
  await Promise.all(
    all.map(async (client) => {
      client.stopPinging();
      const { socket } = client;
      if (socket.readyState === WebSocket.CLOSED) return;
      if (socket.readyState === WebSocket.OPEN) socket.close(1000, "test over");
      else socket.terminate();
      try {
        await withTimeout(client.closed, 5_000, "close");
      } catch {
        socket.terminate();
        await withTimeout(client.closed, 2_000, "terminate").catch(() => undefined);
      }
    }),
  );
}

/**
 * An upgrade request written by hand (node:http), for header spellings the
 * `ws` client does not produce. Answers the status and headers; an accepted
 * connection is dropped at once (the hub sees a socket that went away).
 */
export function rawUpgrade(headers: Record<string, string>): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(`${server().url}/ws`, {
      headers: {
        Connection: "Upgrade",
        Upgrade: "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": randomBytes(16).toString("base64"),
        ...headers,
      },
      timeout: 15_000,
    });
    request.once("upgrade", (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: "" });
    });
    request.once("response", (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    request.once("timeout", () => request.destroy(new Error("raw upgrade: no answer")));
    request.once("error", reject);
    request.end();
  });
}

/** Sends `ping` and expects `pong` as the very next frame. */
export async function expectPong(client: Client): Promise<void> {
  client.send("ping");
  const frame = await client.next();
  expect({ text: frame.text, binary: frame.binary }).toEqual({ text: "pong", binary: false });
}

/** The next frame is the demo app's presence notice with `connections` open sockets. */
export async function expectPresence(client: Client, connections: number): Promise<void> {
  expect(await client.nextJson()).toEqual({ type: "presence", connections });
}

/** Nothing more arrives for a while (no frame, no close). */
export async function expectNothingMore(client: Client, what: string): Promise<void> {
  await sleep(QUIET_MS);
  expect(client.pending.map((f) => f.text), what).toEqual([]);
  expect(client.closedInfo, what).toBeUndefined();
}

export function expectOpen(client: Client): void {
  expect(client.closedInfo).toBeUndefined();
  expect(client.socket.readyState).toBe(WebSocket.OPEN);
}

/** Neither a credential nor any 10-character piece of it appears in the refusal. */
export function expectNoSecretIn(refusal: { body: string; headers: unknown }, secrets: string[]): void {
  const everything = `${refusal.body}\n${JSON.stringify(refusal.headers)}`;
  for (const secret of secrets) {
    expect(everything).not.toContain(secret);
    for (let i = 0; i + 10 <= secret.length; i++) {
      const piece = secret.slice(i, i + 10);
      if (everything.includes(piece)) expect.fail(`the answer contains ${JSON.stringify(piece)}, a piece of the credential`);
    }
  }
}

/** A `message` frame of a delivery. */
export function message(seq: number, data: unknown, from?: string): Record<string, unknown> {
  return { type: "message", seq, data, at: expect.any(Number), ...(from === undefined ? {} : { from }) };
}

/** Opens `count` sockets of `userId` one after another; each earlier socket hears each later one join. */
export async function openSockets(userId: string, count: number, jwt?: string): Promise<Client[]> {
  const bearer = jwt ?? (await token(userId));
  const opened: Client[] = [];
  for (let i = 1; i <= count; i++) {
    const client = await connect({ bearer });
    expect(client.welcome).toMatchObject({ userId, connections: i });
    for (const earlier of opened) await expectPresence(earlier, i);
    opened.push(client);
  }
  return opened;
}

