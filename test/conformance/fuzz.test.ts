// A bounded fuzz run against every host in hosts.ts (the Worker under
// `wrangler dev`, the Deno demo), with a fixed seed so that a failure repeats:
// HANDSHAKES upgrade and ticket requests built from good and bad parts, then
// FRAMES frames over a few sockets, each of a kind whose one answer is known.
// Asserted: no 5xx, no stack trace and no token in any answer or in the
// server's output, and exactly one answer (an error frame for a bad frame) per
// frame, in order. The limits are raised so that rate limiting stays out of it.
import { randomBytes } from "node:crypto";
import { request as httpRequest } from "node:http";
import { describe, expect, test } from "vitest";
import { connect, JWT_SECRET, serveHostForSuite, server, signJwt, token, uniqueUser } from "./contract-client.ts";
import { hosts } from "./hosts.ts";

const SEED = 0x5eed12;
const HANDSHAKES = 1000;
const SOCKETS = 4;
const FRAMES_PER_SOCKET = 500;
const PARALLEL = 12;
const MAX_MESSAGE_BYTES = 4096;
const VARS = {
  MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES),
  RATE_LIMIT_FRAMES_PER_SECOND: "1000000",
  RATE_LIMIT_FRAME_BURST: "1000000",
  RATE_LIMIT_BYTES_PER_SECOND: "1000000000",
  RATE_LIMIT_BYTE_BURST: "1000000000",
  CONNECTIONS_PER_MINUTE: "1000000",
  TICKETS_PER_MINUTE: "1000000",
  // The frames below are sent all at once: Deno's per-socket backlog must hold them, as workerd's queue does.
  MAX_MESSAGE_BACKLOG: "100000",
};

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A stack trace line as V8 prints one, or a bare "Error:" dump. */
const STACK_TRACE = /\n\s+at [^\n]+:\d+:\d+|\bat (?:async )?[\w.<>]+ \([^)]*:\d+:\d+\)/;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function send(method: string, path: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(`${server().url}${path}`, { method, headers, agent: false, timeout: 15_000 });
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
    request.once("timeout", () => request.destroy(new Error(`${method} ${path}: no answer`)));
    request.once("error", reject);
    request.end();
  });
}

for (const host of hosts) {
  describe(`${host.name}: fuzz`, () => {
    serveHostForSuite(host, VARS, { closeAfterEach: false });

    test(`${HANDSHAKES} fuzzed upgrade and ticket requests: no 5xx, no stack trace, no token in any answer`, async () => {
      const next = random(SEED);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
      /** Mostly the good value, so that many requests get far; else one of the bad ones. */
      const mostly = <T>(good: T, bad: readonly T[]): T => (next() < 0.85 ? good : pick(bad));
      const user = uniqueUser("fuzz");
      const good = await token(user);
      const now = Math.floor(Date.now() / 1000);
      const tokens = [
        good,
        `${good}x`,
        good.split(".").slice(0, 2).join("."),
        good.replace(/\.[^.]*$/, ".AAAA"),
        signJwt({ sub: user, exp: now - 60 }, JWT_SECRET),
        signJwt({ sub: user, exp: now + 600 }, "not-the-secret"),
        signJwt({ sub: "", exp: now + 600 }, JWT_SECRET),
        signJwt({ sub: "a b", exp: now + 600 }, JWT_SECRET),
        signJwt({ sub: 42, exp: now + 600 }, JWT_SECRET),
        signJwt({ sub: user, exp: "soon" }, JWT_SECRET),
        signJwt({ sub: user, nbf: now + 3600, exp: now + 7200 }, JWT_SECRET),
        signJwt({ exp: now + 600 }, JWT_SECRET),
        signJwt(null, JWT_SECRET),
        signJwt([user], JWT_SECRET),
        signJwt(42, JWT_SECRET),
        signJwt("alice", JWT_SECRET),
        "",
        "a.b.c",
        "....",
        randomBytes(40).toString("base64url"),
      ];
      const secrets = [JWT_SECRET, ...tokens.filter((t) => t.length > 20)];
      const paths = ["/ws/ticket", "/ws?since=1", "/ws?since=-1", "/ws?since=1&epoch=%00", "/ws?epoch=x", "/ws?ack=1", "/ws?since=99999999999999999", "/ws/", "/wss", "/users/x/messages"];
      const methods = ["POST", "PUT", "HEAD", "DELETE"];
      const answers: { request: string; answer: Answer }[] = [];
      const one = async (i: number) => {
        const method = mostly("GET", methods);
        const path = mostly("/ws", paths);
        const headers: Record<string, string> = {};
        const upgrade = mostly("websocket", ["WebSocket", "h2c", "websocket, foo", "", undefined]);
        if (upgrade !== undefined) headers.Upgrade = upgrade;
        const connection = mostly("Upgrade", ["keep-alive, Upgrade", "close", "upgrade", undefined]);
        if (connection !== undefined) headers.Connection = connection;
        const version = mostly("13", ["8", "x", "13, 8", undefined]);
        if (version !== undefined) headers["Sec-WebSocket-Version"] = version;
        const key = mostly(randomBytes(16).toString("base64"), [randomBytes(15).toString("base64"), "not a key", "", undefined]);
        if (key !== undefined) headers["Sec-WebSocket-Key"] = key;
        const carrier = next();
        const jwt = next() < 0.5 ? good : pick(tokens);
        if (carrier < 0.4) headers.Authorization = pick([`Bearer ${jwt}`, `bearer ${jwt}`, jwt, `Basic ${jwt}`, "Bearer"]);
        else if (carrier < 0.8) {
          headers["Sec-WebSocket-Protocol"] = pick([
            `userhub.v1, bearer.${jwt}`,
            `bearer.${jwt}, userhub.v1`,
            `userhub.v1,bearer.${jwt}`,
            `bearer.${jwt}`,
            `userhub.v1, ticket.${randomBytes(8).toString("hex")}`,
            `userhub.v1, ticket.${user}.${randomBytes(16).toString("base64url")}`,
            "userhub.v1",
            "chat",
          ]);
        }
        if (next() < 0.2) headers.Origin = pick(["https://evil.example", "null", "http://127.0.0.1"]);
        const answer = await send(method, path, headers);
        answers.push({ request: `#${i} ${method} ${path} ${Object.keys(headers).join(",")}`, answer });
      };
      for (let i = 0; i < HANDSHAKES; i += PARALLEL) {
        await Promise.all(Array.from({ length: Math.min(PARALLEL, HANDSHAKES - i) }, (_, k) => one(i + k)));
      }
      expect(answers).toHaveLength(HANDSHAKES);
      const statuses = new Map<number, number>();
      for (const { request, answer } of answers) {
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        expect(answer.status, `${request}: ${answer.body}`).toBeLessThan(500);
        expect(answer.body, request).not.toMatch(STACK_TRACE);
        const echoed = `${answer.body}\n${JSON.stringify(answer.headers)}`;
        for (const secret of secrets) expect(echoed.includes(secret), `${request} leaked a credential`).toBe(false);
      }
      // The run reached the hubs and the refusals alike.
      expect(statuses.get(101) ?? 0).toBeGreaterThan(0);
      expect(statuses.get(401) ?? 0).toBeGreaterThan(0);
      expect(statuses.get(400) ?? 0).toBeGreaterThan(0);
      const output = server().output();
      expect(output).not.toMatch(STACK_TRACE);
      for (const secret of secrets) expect(output.includes(secret), "the server logged a credential").toBe(false);
    });

    test(`${SOCKETS * FRAMES_PER_SOCKET} fuzzed frames: exactly one answer per frame, in order; an error frame for each bad one`, async () => {
      const next = random(SEED + 1);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
      type Expected = { kind: "error"; code: string } | { kind: "message" } | { kind: "pong" } | { kind: "none" };
      const kinds: (() => { frame: string | Buffer; expected: Expected })[] = [
        () => ({ frame: pick(["{", "nope", '{"type":', "[1,", "\u0000", "{}}"]), expected: { kind: "error", code: "malformed_json" } }),
        () => ({ frame: pick(["1", "null", '"x"', "[]", "true"]), expected: { kind: "error", code: "invalid_frame" } }),
        () => ({ frame: pick(["{}", '{"type":1}', '{"type":""}', '{"data":1}']), expected: { kind: "error", code: "invalid_frame" } }),
        () => ({ frame: JSON.stringify({ type: pick(["x", "welcome", "message", "__proto__", "constructor", "toString"]) }), expected: { kind: "error", code: "unknown_type" } }),
        () => ({ frame: randomBytes(1 + Math.floor(next() * 64)), expected: { kind: "error", code: "binary_not_supported" } }),
        () => ({ frame: '{"type":"send"}', expected: { kind: "error", code: "invalid_frame" } }),
        () => ({ frame: JSON.stringify({ type: "ack", seq: pick(["1", -1, 1.5, null]) }), expected: { kind: "error", code: "invalid_frame" } }),
        () => ({ frame: JSON.stringify({ type: "ack", seq: Math.floor(next() * 100) }), expected: { kind: "none" } }),
        () => ({ frame: JSON.stringify({ type: "auth", token: pick(["x", "a.b.c", signJwt({ sub: "other", exp: 9e9 }, "wrong")]) }), expected: { kind: "error", code: "auth_failed" } }),
        () => ({ frame: JSON.stringify({ type: "auth" }), expected: { kind: "error", code: "invalid_frame" } }),
        () => ({
          frame: JSON.stringify({ type: "send", data: pick([1, "ü€𝄞", { a: [null, true] }, [[[]]], "x".repeat(Math.floor(next() * 2000))]) }),
          expected: { kind: "message" },
        }),
        () => ({ frame: "ping", expected: { kind: "pong" } }),
      ];
      const sockets = await Promise.all(Array.from({ length: SOCKETS }, async () => await connect({ bearer: await token(uniqueUser("frames")), keepAlive: false })));
      await Promise.all(
        sockets.map(async (client) => {
          const plan = Array.from({ length: FRAMES_PER_SOCKET }, () => pick(kinds)());
          for (const { frame } of plan) client.send(frame);
          // A frame with no answer is followed by a marker that has one, so that every answer lines up.
          client.send(JSON.stringify({ type: "send", data: "end" }));
          for (const [i, { frame, expected }] of plan.entries()) {
            if (expected.kind === "none") continue;
            const answer = await client.next();
            const what = `frame #${i} ${String(frame).slice(0, 60)}`;
            if (expected.kind === "pong") {
              expect(answer.text, what).toBe("pong");
              continue;
            }
            const parsed = JSON.parse(answer.text) as Record<string, unknown>;
            if (expected.kind === "message") expect(parsed.type, what).toBe("message");
            else expect({ type: parsed.type, code: parsed.code }, what).toEqual({ type: "error", code: expected.code });
            expect(answer.text, what).not.toMatch(STACK_TRACE);
          }
          expect(JSON.parse((await client.next()).text)).toMatchObject({ type: "message", data: "end" });
          expect(client.closedInfo).toBeUndefined();
        }),
      );
      expect(server().output()).not.toMatch(STACK_TRACE);
    });
  });
}
