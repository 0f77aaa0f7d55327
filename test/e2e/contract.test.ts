// The public contract of the demo Worker (DESIGN.md, "The public contract of
// the demo Worker"), checked end to end against a real `wrangler dev`: HTTP
// answers through the local dev proxy, then real sockets with the `ws` client.
import { createHmac, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from "vitest";
import WebSocket from "ws";
import { startWranglerDev, type WranglerDev } from "../support/wrangler-dev.ts";

let dev: WranglerDev;

beforeAll(async () => {
  dev = await startWranglerDev();
});

afterAll(async () => {
  await closeAll();
  await dev?.stop();
});

afterEach(async () => {
  await closeAll();
});

// ---------------------------------------------------------------- helpers --

const FRAME_TIMEOUT_MS = 5_000;
const DEFAULT_MAX_CONNECTIONS = 32;
const DEFAULT_MAX_MESSAGE_BYTES = 65_536;

/** The local JWT secret, read from .dev.vars (never written into this file). */
function localSecret(): string {
  const text = readFileSync(fileURLToPath(new URL("../../.dev.vars", import.meta.url)), "utf8");
  const match = /^JWT_SECRET=(.*)$/m.exec(text);
  if (!match?.[1]) throw new Error(".dev.vars has no JWT_SECRET");
  return match[1].trim();
}

/** An HS256 JWT signed here, for tokens the dev endpoint will not make (other secret, expired). */
function signJwt(payload: Record<string, unknown>, secret: string): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const input = `${part({ alg: "HS256", typ: "JWT" })}.${part(payload)}`;
  return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
}

function jwtPayload(jwt: string): Record<string, unknown> {
  const parts = jwt.split(".");
  expect(parts).toHaveLength(3);
  return JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8")) as Record<string, unknown>;
}

/** A user id no other test uses, so hubs never carry sockets over from another test. */
function uniqueUser(base: string): string {
  return `${base}-${randomUUID().slice(0, 8)}`;
}

/** POST /dev/token: a token for `userId` from the demo Worker. */
async function token(userId: string): Promise<string> {
  const res = await fetch(`${dev.url}/dev/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ userId }),
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { token?: unknown };
  expect(typeof body.token).toBe("string");
  return body.token as string;
}

interface Frame {
  text: string;
  binary: boolean;
}

/**
 * The demo app's `{"type":"presence","connections":N}` notices (a socket of
 * the same user joined or left) are not part of the contract's frame table;
 * the inbox sets them aside so that each test reads the frames it is about.
 */
function isPresence(frame: Frame): boolean {
  return !frame.binary && frame.text.startsWith('{"type":"presence"');
}

/** Frames as they arrive; `next` waits a bounded time for the next one. */
class Inbox {
  readonly #frames: Frame[] = [];
  readonly #waiters: Array<(frame: Frame) => void> = [];
  /** Presence notices, set aside. */
  readonly presence: Frame[] = [];

  push(frame: Frame): void {
    if (isPresence(frame)) {
      this.presence.push(frame);
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter) waiter(frame);
    else this.#frames.push(frame);
  }

  get pending(): number {
    return this.#frames.length;
  }

  next(timeoutMs = FRAME_TIMEOUT_MS): Promise<Frame> {
    const frame = this.#frames.shift();
    if (frame) return Promise.resolve(frame);
    return new Promise((resolve, reject) => {
      const waiter = (f: Frame) => {
        clearTimeout(timer);
        resolve(f);
      };
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(new Error(`no frame within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }
}

interface Closed {
  code: number;
  reason: string;
}

interface Client {
  socket: WebSocket;
  /** The 101 answer. */
  response: IncomingMessage;
  /** The next frame's text. */
  next(timeoutMs?: number): Promise<string>;
  /** The next frame, parsed as JSON (fails on a non-JSON frame). */
  nextJson(timeoutMs?: number): Promise<Record<string, any>>;
  inbox: Inbox;
  closed: Promise<Closed>;
  send(data: string | Buffer): void;
}

interface Refusal {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

type Outcome = { ok: true; client: Client } | { ok: false; refusal: Refusal };

interface ConnectOptions {
  /** Sent as `Authorization: Bearer <token>`. */
  bearer?: string;
  protocols?: string[];
  headers?: Record<string, string>;
}

const sockets = new Set<WebSocket>();

/** Opens a socket to /ws; resolves with the open client or with the HTTP answer that refused the upgrade. */
function attempt(options: ConnectOptions = {}): Promise<Outcome> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.bearer !== undefined) headers.Authorization = `Bearer ${options.bearer}`;
  const socket = new WebSocket(`${dev.wsUrl}/ws`, options.protocols ?? [], { headers, handshakeTimeout: 10_000 });
  sockets.add(socket);
  const inbox = new Inbox();
  // Listen before 'open': the welcome may arrive in the same packet as the 101.
  socket.on("message", (data, isBinary) => inbox.push({ text: Buffer.from(data as Buffer).toString("utf8"), binary: isBinary }));
  const closed = new Promise<Closed>((resolve) => socket.once("close", (code, reason) => resolve({ code, reason: reason.toString("utf8") })));
  return new Promise<Outcome>((resolve, reject) => {
    let response: IncomingMessage | undefined;
    socket.once("upgrade", (res) => (response = res));
    socket.once("open", () => {
      const client: Client = {
        socket,
        response: response!,
        inbox,
        closed,
        next: async (timeoutMs) => (await inbox.next(timeoutMs)).text,
        nextJson: async (timeoutMs) => {
          const frame = await inbox.next(timeoutMs);
          expect(frame.binary).toBe(false);
          return JSON.parse(frame.text) as Record<string, any>;
        },
        send: (data) => socket.send(data),
      };
      resolve({ ok: true, client });
    });
    socket.once("unexpected-response", (_req, res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => {
        resolve({ ok: false, refusal: { status: res.statusCode ?? 0, headers: res.headers, body } });
        socket.terminate(); // we handled the answer; ws leaves aborting the handshake to us
      });
    });
    // After a refusal, terminate() reports an error too; only an error before any answer matters.
    socket.on("error", (error) => reject(error));
  });
}

/** Opens a socket that must be accepted, and reads its welcome. */
async function connect(options: ConnectOptions = {}): Promise<{ client: Client; welcome: Record<string, any> }> {
  const outcome = await attempt(options);
  if (!outcome.ok) throw new Error(`upgrade refused: ${outcome.refusal.status} ${outcome.refusal.body}`);
  const welcome = await outcome.client.nextJson();
  expect(welcome.type).toBe("welcome");
  return { client: outcome.client, welcome };
}

/** Connects as `userId` with a fresh dev token. */
async function connectAs(userId: string, options: ConnectOptions = {}) {
  return await connect({ bearer: await token(userId), ...options });
}

/** Opens a socket that must be refused, and returns the refusal. */
async function refuse(options: ConnectOptions = {}): Promise<Refusal> {
  const outcome = await attempt(options);
  if (outcome.ok) throw new Error("upgrade was accepted, expected a refusal");
  return outcome.refusal;
}

/** Closes a client normally and waits until the close handshake completes. */
async function closeClient(client: Client): Promise<Closed> {
  client.socket.close(1000, "done");
  return await withTimeout(client.closed, FRAME_TIMEOUT_MS, "close handshake");
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

async function closeAll(): Promise<void> {
  const all = [...sockets];
  sockets.clear();
  await Promise.all(
    all.map(async (socket) => {
      if (socket.readyState === WebSocket.CLOSED) return;
      const done = new Promise<void>((resolve) => socket.once("close", () => resolve()));
      if (socket.readyState === WebSocket.OPEN) socket.close(1000, "test over");
      else socket.terminate();
      try {
        await withTimeout(done, 3_000, "close");
      } catch {
        socket.terminate();
      }
    }),
  );
}

/** Sends `ping` and expects `pong` as the very next frame. */
async function expectPong(client: Client): Promise<void> {
  client.send("ping");
  const frame = await client.inbox.next();
  expect(frame).toEqual({ text: "pong", binary: false });
}

/** Neither a credential nor any 10-character piece of it appears in the refusal. */
function expectNoTokenIn(refusal: Refusal, secretParts: string[]): void {
  const everything = `${refusal.body}\n${JSON.stringify(refusal.headers)}`;
  for (const part of secretParts) {
    expect(everything).not.toContain(part);
    for (let i = 0; i + 10 <= part.length; i++) {
      const piece = part.slice(i, i + 10);
      if (everything.includes(piece)) expect.fail(`the refusal contains ${JSON.stringify(piece)}, a piece of the credential`);
    }
  }
}

// ------------------------------------------------------------------ HTTP --

describe("HTTP routes", () => {
  test("GET / serves the demo page as HTML", async () => {
    const res = await fetch(`${dev.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const body = await res.text();
    expect(body).toMatch(/^<!doctype html>/i);
    expect(body).toMatch(/<title>[^<]*userhub[^<]*<\/title>/);
  });

  test('POST /dev/token {"userId":"alice"} answers a JWT whose sub is alice', async () => {
    const res = await fetch(`${dev.url}/dev/token`, { method: "POST", body: JSON.stringify({ userId: "alice" }) });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(["token"]);
    const jwt = body.token as string;
    const [header] = jwt.split(".");
    expect(JSON.parse(Buffer.from(header!, "base64url").toString("utf8"))).toMatchObject({ alg: "HS256" });
    const payload = jwtPayload(jwt);
    expect(payload.sub).toBe("alice");
    expect(typeof payload.exp).toBe("number");
    expect(payload.exp as number).toBeGreaterThan(Date.now() / 1000);
  });

  test.each([
    ["a user id with a space", JSON.stringify({ userId: "a b" })],
    ["an empty user id", JSON.stringify({ userId: "" })],
    ["a 200-character user id", JSON.stringify({ userId: "a".repeat(200) })],
    ["no user id", JSON.stringify({})],
    ["a user id that is not a string", JSON.stringify({ userId: 42 })],
  ])("POST /dev/token with %s answers 400 JSON naming userId", async (_what, body) => {
    const res = await fetch(`${dev.url}/dev/token`, { method: "POST", headers: { "content-type": "application/json" }, body });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const answer = (await res.json()) as { error?: unknown; token?: unknown };
    expect(answer.token).toBeUndefined();
    expect(answer.error).toEqual(expect.stringContaining("userId"));
    expect(answer.error).toEqual(expect.stringContaining("1-128"));
  });

  test("POST /dev/token with a body that is not JSON answers 400 JSON saying so", async () => {
    const res = await fetch(`${dev.url}/dev/token`, { method: "POST", body: "userId=alice" });
    expect(res.status).toBe(400);
    const answer = (await res.json()) as { error?: unknown };
    expect(answer.error).toEqual(expect.stringMatching(/JSON/));
  });

  test("GET /ws without upgrade headers answers 426 naming Upgrade and Connection, with a curl line", async () => {
    const res = await fetch(`${dev.url}/ws`);
    expect(res.status).toBe(426);
    // Not asserted: the `Upgrade: websocket` response header. The wrangler dev
    // proxy strips it (README, "Running behind a proxy").
    const body = await res.text();
    expect(body).toContain("426 Upgrade Required");
    expect(body).toMatch(/Missing or wrong:.*Upgrade \(send "Upgrade: websocket"\)/);
    expect(body).toMatch(/Missing or wrong:.*Connection \(send "Connection: Upgrade"\)/);
    const curlLine = body.split("\n").map((l) => l.trim()).find((l) => l.startsWith("curl "));
    expect(curlLine).toBeDefined();
    expect(curlLine).toContain('-H "Connection: Upgrade" -H "Upgrade: websocket"');
    expect(curlLine).toContain('-H "Authorization: Bearer $TOKEN"');
    // The line must work as printed: it names this server, not some other host.
    expect(curlLine!.endsWith(` ${dev.url}/ws`)).toBe(true);
  });

  test.each(["POST", "PUT", "DELETE"])("%s /ws answers 405 with Allow: GET", async (method) => {
    const res = await fetch(`${dev.url}/ws`, { method });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET");
    expect(await res.text()).toContain("405 Method Not Allowed");
  });
});

// --------------------------------------------------------------- upgrades --

describe("upgrades", () => {
  test("Authorization: Bearer <jwt> upgrades (101) and the first frame is the welcome", async () => {
    const jwt = await token("alice");
    const { client, welcome } = await connect({ bearer: jwt });
    expect(client.response.statusCode).toBe(101);
    expect(client.response.headers["sec-websocket-protocol"]).toBeUndefined(); // nothing offered, nothing selected
    expect(welcome).toEqual({
      type: "welcome",
      connectionId: expect.any(String),
      userId: "alice",
      connections: 1,
      seq: 0,
      epoch: expect.any(String),
      expiresAt: (jwtPayload(jwt).exp as number) * 1000,
      heartbeat: { intervalMs: 30_000, timeoutMs: 75_000 },
    });
    expect(welcome.connectionId.length).toBeGreaterThan(0);
    expect(welcome.epoch.length).toBeGreaterThan(0);
  });

  test('subprotocols ["userhub.v1", "bearer.<jwt>"] upgrade and select exactly "userhub.v1"', async () => {
    const user = uniqueUser("alice");
    const jwt = await token(user);
    const { client, welcome } = await connect({ protocols: ["userhub.v1", `bearer.${jwt}`] });
    expect(client.response.statusCode).toBe(101);
    expect(client.socket.protocol).toBe("userhub.v1");
    expect(client.response.headers["sec-websocket-protocol"]).toBe("userhub.v1");
    expect(JSON.stringify(client.response.headers)).not.toContain(jwt.split(".")[2]!);
    expect(welcome).toMatchObject({ type: "welcome", userId: user, connections: 1 });
  });

  test("subprotocols without userhub.v1 are refused with 400", async () => {
    const jwt = await token(uniqueUser("alice"));
    const refusal = await refuse({ protocols: ["chat", `bearer.${jwt}`] });
    expect(refusal.status).toBe(400);
    expect(refusal.body).toContain("userhub.v1");
    expectNoTokenIn(refusal, [jwt, jwt.split(".")[2]!]);
  });

  describe("bad or missing credentials: 401 with WWW-Authenticate before any socket exists", () => {
    const now = () => Math.floor(Date.now() / 1000);

    test("control: a token signed here with the local secret is accepted (so the refusals below are about what they change)", async () => {
      const user = uniqueUser("alice");
      const jwt = signJwt({ sub: user, iat: now(), exp: now() + 600 }, localSecret());
      const { welcome } = await connect({ bearer: jwt });
      expect(welcome).toMatchObject({ type: "welcome", userId: user, connections: 1 });
    });

    const cases: Array<[string, (user: string) => ConnectOptions & { secrets: string[] }]> = [
      ["no credentials", () => ({ secrets: [] })],
      [
        "a token signed with another secret",
        (user) => {
          const jwt = signJwt({ sub: user, iat: now(), exp: now() + 600 }, `another-secret-${randomUUID()}`);
          return { bearer: jwt, secrets: [jwt, jwt.split(".")[2]!] };
        },
      ],
      [
        "an expired token",
        (user) => {
          const jwt = signJwt({ sub: user, iat: now() - 7200, exp: now() - 3600 }, localSecret());
          return { bearer: jwt, secrets: [jwt, jwt.split(".")[2]!] };
        },
      ],
      ["a garbage bearer token", () => ({ bearer: "garbage-not-a-jwt-4f1d9c", secrets: ["garbage-not-a-jwt-4f1d9c"] })],
      [
        "a garbage three-part token",
        () => ({ bearer: "Zm9v.YmFy.YmF6cXV4c2VjcmV0", secrets: ["Zm9v.YmFy.YmF6cXV4c2VjcmV0", "YmF6cXV4c2VjcmV0"] }),
      ],
      [
        "a garbage token in the subprotocols",
        () => ({ protocols: ["userhub.v1", "bearer.garbage-proto-7c2e"], secrets: ["garbage-proto-7c2e"] }),
      ],
    ];

    test.each(cases)("%s", async (_what, make) => {
      const user = uniqueUser("alice");
      const { secrets, ...options } = make(user);
      const refusal = await refuse(options);
      expect(refusal.status).toBe(401);
      expect(refusal.headers["www-authenticate"]).toMatch(/^Bearer realm="userhub"/);
      expect(refusal.body).toMatch(/^401 Unauthorized: /);
      expectNoTokenIn(refusal, secrets);
      // No socket of this user was ever accepted: the first real one is the only one.
      const { welcome } = await connectAs(user);
      expect(welcome).toMatchObject({ userId: user, connections: 1 });
    });
  });

  test("a forged X-Userhub-Handoff header naming bob, with alice's token, is still alice", async () => {
    const alice = uniqueUser("alice");
    const bob = uniqueUser("bob");
    const { client: bobClient, welcome: bobWelcome } = await connectAs(bob);
    expect(bobWelcome.connections).toBe(1);
    const forged = JSON.stringify({ userId: bob, protocol: null, resume: null, identity: { userId: bob, expiresAt: null } });
    const { client, welcome } = await connectAs(alice, { headers: { "X-Userhub-Handoff": forged } });
    expect(welcome).toMatchObject({ type: "welcome", userId: alice, connections: 1 });
    // Its sends go to alice's hub, not bob's: it gets its own message back, bob's socket gets bob's marker first.
    client.send(JSON.stringify({ type: "send", data: "from the forger" }));
    expect(await client.nextJson()).toMatchObject({ type: "message", data: "from the forger", from: welcome.connectionId });
    bobClient.send(JSON.stringify({ type: "send", data: "bob marker" }));
    expect(await bobClient.nextJson()).toMatchObject({ type: "message", data: "bob marker", seq: bobWelcome.seq + 1 });
    expect(bobClient.inbox.presence, "no socket joined bob's hub").toEqual([]);
  });
});

// ---------------------------------------------------------- on the socket --

describe("on the socket", () => {
  test("text ping is answered with text pong", async () => {
    const { client } = await connectAs(uniqueUser("alice"));
    await expectPong(client);
    await expectPong(client);
  });

  test("a send reaches every socket of the sender's user and no socket of another user", async () => {
    const alice = uniqueUser("alice");
    const bob = uniqueUser("bob");
    const a1 = await connectAs(alice);
    const a2 = await connectAs(alice);
    const b = await connectAs(bob);
    expect(a2.welcome.connections).toBe(2);
    expect(b.welcome.connections).toBe(1);

    const data = { text: "hello alice's devices", n: [1, 2, 3] };
    a1.client.send(JSON.stringify({ type: "send", data }));
    const expected = { type: "message", seq: a1.welcome.seq + 1, data, from: a1.welcome.connectionId, at: expect.any(Number) };
    expect(await a1.client.nextJson()).toEqual(expected);
    expect(await a2.client.nextJson()).toEqual(expected);

    // Bob's next frame must be his own marker, not alice's message.
    b.client.send(JSON.stringify({ type: "send", data: "bob's marker" }));
    expect(await b.client.nextJson()).toMatchObject({ type: "message", data: "bob's marker", from: b.welcome.connectionId });
    // Not even a presence notice: alice's sockets coming and going are not bob's business.
    expect(b.client.inbox.presence).toEqual([]);

    // seq grows by one per delivery, per user.
    a2.client.send(JSON.stringify({ type: "send", data: "second" }));
    expect(await a1.client.nextJson()).toMatchObject({ type: "message", seq: a1.welcome.seq + 2, data: "second" });
    expect(await a2.client.nextJson()).toMatchObject({ type: "message", seq: a1.welcome.seq + 2, data: "second" });
  });

  test("welcome.connections counts live sockets only (no ghost after a close)", async () => {
    const alice = uniqueUser("alice");
    const first = await connectAs(alice);
    const second = await connectAs(alice);
    expect(first.welcome.connections).toBe(1);
    expect(second.welcome.connections).toBe(2);
    const closed = await closeClient(first.client);
    expect(closed.code).toBe(1000);
    const third = await connectAs(alice);
    expect(third.welcome.connections).toBe(2);
    // And the closed socket gets no deliveries: a send reaches exactly the two live ones.
    third.client.send(JSON.stringify({ type: "send", data: "after close" }));
    expect(await second.client.nextJson()).toMatchObject({ type: "message", data: "after close" });
    expect(await third.client.nextJson()).toMatchObject({ type: "message", data: "after close" });
  });

  test("welcome.connections does not keep a socket whose connection dropped without a close frame", async () => {
    const alice = uniqueUser("alice");
    const stays = await connectAs(alice);
    const drops = await connectAs(alice);
    expect(drops.welcome.connections).toBe(2);
    drops.client.socket.terminate(); // TCP gone, no close handshake
    await withTimeout(drops.client.closed, FRAME_TIMEOUT_MS, "terminate");
    // The hub learns of the drop asynchronously: probe until a newcomer counts 2 (itself and `stays`).
    await vi.waitFor(
      async () => {
        const probe = await connectAs(alice);
        const count = probe.welcome.connections;
        await closeClient(probe.client);
        expect(count).toBe(2);
      },
      { timeout: 10_000, interval: 200 },
    );
    expect(stays.client.socket.readyState).toBe(WebSocket.OPEN);
  });

  test("a frame over 65536 bytes closes that socket with 1009; the user's other socket carries on", async () => {
    const alice = uniqueUser("alice");
    const big = await connectAs(alice);
    const other = await connectAs(alice);

    // Exactly at the limit is still fine.
    const atLimit = JSON.stringify({ type: "send", data: "" });
    const fill = "x".repeat(DEFAULT_MAX_MESSAGE_BYTES - atLimit.length);
    const frame = JSON.stringify({ type: "send", data: fill });
    expect(Buffer.byteLength(frame)).toBe(DEFAULT_MAX_MESSAGE_BYTES);
    big.client.send(frame);
    for (const client of [big.client, other.client]) {
      const delivered = await client.nextJson();
      expect(delivered.type).toBe("message");
      // Compared as a flag: a failure must not print 64 KiB.
      expect(delivered.data === fill, "the whole 64 KiB payload came back").toBe(true);
    }

    big.client.send("y".repeat(DEFAULT_MAX_MESSAGE_BYTES + 1));
    const closed = await withTimeout(big.client.closed, FRAME_TIMEOUT_MS, "close after an oversized frame");
    expect(closed.code).toBe(1009);

    other.client.send(JSON.stringify({ type: "send", data: "still here" }));
    expect(await other.client.nextJson()).toMatchObject({ type: "message", data: "still here" });
    await expectPong(other.client);
    expect(other.client.socket.readyState).toBe(WebSocket.OPEN);
    // The oversized socket got nothing after its close (no message frames queued).
    expect(big.client.inbox.pending).toBe(0);
  });

  test.each([
    ["not json", "not json", "malformed_json"],
    ["a JSON array", "[]", "invalid_frame"],
    ["an empty type", '{"type":""}', "invalid_frame"],
    ["an unknown type", '{"type":"nope"}', "unknown_type"],
    ["a binary frame", Buffer.from([0x01, 0x02, 0x03]), "binary_not_supported"],
  ] as Array<[string, string | Buffer, string]>)("a malformed frame (%s) gets an error frame and the socket stays up", async (_what, data, code) => {
    const { client } = await connectAs(uniqueUser("alice"));
    client.send(data);
    const error = await client.nextJson();
    expect(error).toEqual({ type: "error", code, message: expect.any(String) });
    expect((error.message as string).length).toBeGreaterThan(0);
    await expectPong(client);
    expect(client.socket.readyState).toBe(WebSocket.OPEN);
  });

  test(`socket number ${DEFAULT_MAX_CONNECTIONS + 1} of one user gets HTTP 429`, async () => {
    const user = uniqueUser("many");
    const jwt = await token(user);
    const clients: Client[] = [];
    // Open in small batches: a 2-core machine, and a sequence of welcome counts to check.
    for (let i = 0; i < DEFAULT_MAX_CONNECTIONS; i += 8) {
      const batch = await Promise.all(Array.from({ length: 8 }, () => connect({ bearer: jwt })));
      clients.push(...batch.map((b) => b.client));
    }
    expect(clients).toHaveLength(DEFAULT_MAX_CONNECTIONS);
    const refusal = await refuse({ bearer: jwt });
    expect(refusal.status).toBe(429);
    expect(refusal.body).toContain(`${DEFAULT_MAX_CONNECTIONS} open connections`);
    expectNoTokenIn(refusal, [jwt]);
    // Close one, and there is room for exactly one again.
    await closeClient(clients[0]!);
    const { welcome } = await connect({ bearer: jwt });
    expect(welcome.connections).toBe(DEFAULT_MAX_CONNECTIONS);
    expect((await refuse({ bearer: jwt })).status).toBe(429);
  });
});
