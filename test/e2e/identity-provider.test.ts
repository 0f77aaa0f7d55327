// Identity from a real key server, end to end, on both hosts: a Node HTTP
// server on a loopback port publishes a JWKS; `wrangler dev` and the Deno demo
// are started with JWKS_URL, JWT_ISSUER and JWT_AUDIENCE pointing at it;
// tokens are signed here with WebCrypto. In order, per host: the key set never
// reachable (503), then up; every algorithm accepted; every refusal named;
// rotation without a restart; the provider going down after the first fetch;
// revocation of all, one connection, one session, and the watermark; a
// non-object payload; and no token or key in a response or log line.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import { hosts, type HostServer } from "../conformance/hosts.ts";
import { readDevVars } from "../support/deno-demo.ts";
import { freePort } from "../support/free-port.ts";
import { JWKS_PATH, type JwksServer, startJwksServer } from "../support/jwks-server.ts";
import { generateSigningKey, jwks, signHmac, signWith, type SigningKey, unsigned } from "../support/jwt-keys.ts";

const ISSUER = "https://idp.userhub.test/";
const AUDIENCE = "userhub-e2e";
const DEV = readDevVars();
const PUSH_KEY = DEV.PUSH_API_KEY!;
const nowSeconds = () => Math.floor(Date.now() / 1000);

type Upgrade =
  | { ok: true; socket: WebSocket; welcome: Record<string, unknown>; closed: Promise<{ code: number; reason: string }>; frames: unknown[] }
  | { ok: false; status: number; body: string };

/** Tries an upgrade with `token` as the bearer: the open socket and its welcome, or the refusal. */
function upgrade(wsUrl: string, token: string): Promise<Upgrade> {
  return new Promise((resolve, reject) => {
    // closeTimeout: workerd keeps the TCP connection ~10 s after a close handshake; the close code is known at once.
    const socket = new WebSocket(`${wsUrl}/ws`, { headers: { Authorization: `Bearer ${token}` }, closeTimeout: 500 } as WebSocket.ClientOptions);
    const frames: unknown[] = [];
    const closed = new Promise<{ code: number; reason: string }>((done) => socket.on("close", (code, reason) => done({ code, reason: String(reason) })));
    socket.on("unexpected-response", (_request, response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (body += chunk));
      response.on("end", () => {
        socket.terminate();
        resolve({ ok: false, status: response.statusCode ?? 0, body });
      });
    });
    socket.on("message", (data) => {
      const text = String(data);
      const frame = text.startsWith("{") ? JSON.parse(text) : text;
      if (frames.length === 0 && (frame as { type?: string }).type === "welcome") resolve({ ok: true, socket, welcome: frame, closed, frames });
      frames.push(frame);
    });
    socket.on("error", (error) => reject(error));
  });
}

async function opened(wsUrl: string, token: string) {
  const result = await upgrade(wsUrl, token);
  if (!result.ok) throw new Error(`expected an open socket, got ${result.status}: ${result.body}`);
  return result;
}

async function refused(wsUrl: string, token: string): Promise<{ status: number; body: string }> {
  const result = await upgrade(wsUrl, token);
  if (result.ok) {
    result.socket.terminate();
    throw new Error("expected a refusal, the socket opened");
  }
  return result;
}

for (const host of hosts) {
  describe(`identity from a key server on ${host.name}`, () => {
    let server: HostServer;
    let keyServer: JwksServer | undefined;
    let jwksPort: number;
    let rs: SigningKey, es: SigningKey, ed: SigningKey, rotated: SigningKey;
    const sent: string[] = [];
    let users = 0;
    const user = (name: string) => `${name}-${++users}`;

    /** Claims from our provider for `sub`, issued `ageSeconds` ago. */
    const claims = (sub: string, extra: Record<string, unknown> = {}, ageSeconds = 0) => {
      const iat = nowSeconds() - ageSeconds;
      return { sub, iss: ISSUER, aud: AUDIENCE, iat, exp: iat + 600, ...extra };
    };
    const sign = async (key: SigningKey, payload: unknown, header: Record<string, unknown> = {}) => {
      const token = await signWith(key, payload, header);
      sent.push(token);
      return token;
    };
    const disconnect = async (userId: string, body: unknown) => {
      const response = await fetch(`${server.url}/users/${userId}/disconnect`, {
        method: "POST",
        headers: { Authorization: `Bearer ${PUSH_KEY}`, "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      expect(response.status).toBe(200);
      return (await response.json()) as { closed: number };
    };

    beforeAll(async () => {
      [rs, es, ed, rotated] = await Promise.all([
        generateSigningKey("RS256", "rs-1"),
        generateSigningKey("ES256", "es-1"),
        generateSigningKey("EdDSA", "ed-1"),
        generateSigningKey("RS256", "rs-2"),
      ]);
      // Nothing listens on this port until the second test: the key set is unreachable.
      jwksPort = await freePort();
      server = await host.start({
        JWKS_URL: `http://127.0.0.1:${jwksPort}${JWKS_PATH}`,
        JWT_ISSUER: ISSUER,
        JWT_AUDIENCE: AUDIENCE,
        JWKS_UNKNOWN_KID_REFETCH_MS: "1000",
      });
    });
    afterAll(async () => {
      await server?.stop();
      await keyServer?.stop();
    });

    it("answers 503 naming the key set while it was never reachable; HMAC dev tokens (with iss and aud) still work", async () => {
      const token = await sign(rs, claims(user("alice")));
      const answer = await refused(server.wsUrl, token);
      expect(answer.status).toBe(503);
      expect(answer.body).toContain("key set (JWKS_URL) is unreachable");
      expect(answer.body).not.toContain(token);
      const ticket = await fetch(`${server.url}/ws/ticket`, { method: "POST", headers: { Authorization: `Bearer ${token}` } });
      expect(ticket.status).toBe(503);
      await ticket.body?.cancel();

      const dev = await fetch(`${server.url}/dev/token`, { method: "POST", headers: { "Content-Type": "application/json" }, body: '{"userId":"dev-user"}' });
      const { token: devToken } = (await dev.json()) as { token: string };
      const payload = JSON.parse(Buffer.from(devToken.split(".")[1]!, "base64url").toString());
      expect(payload).toMatchObject({ sub: "dev-user", iss: ISSUER, aud: AUDIENCE });
      const socket = await opened(server.wsUrl, devToken);
      expect(socket.welcome.userId).toBe("dev-user");
      socket.socket.close(1000);
    });

    it("accepts tokens once the key server comes up, without a restart", async () => {
      keyServer = await startJwksServer(jwks(rs, es, ed), { port: jwksPort });
      const alice = user("alice");
      await vi.waitFor(
        async () => {
          const result = await upgrade(server.wsUrl, await sign(rs, claims(alice)));
          if (result.ok) result.socket.close(1000);
          expect(result.ok).toBe(true);
        },
        { timeout: 20_000, interval: 500 },
      );
    });

    it.each(["RS256", "ES256", "EdDSA"])("accepts %s", async (alg) => {
      const key = { RS256: rs, ES256: es, EdDSA: ed }[alg]!;
      const bob = user("bob");
      const socket = await opened(server.wsUrl, await sign(key, claims(bob)));
      expect(socket.welcome.userId).toBe(bob);
      socket.socket.close(1000);
    });

    it("refuses, naming why: wrong issuer, wrong audience, expired, unknown key, algorithm confusion, none", async () => {
      const carol = user("carol");
      const cases: [string, string][] = [
        [await sign(es, claims(carol, { iss: "https://evil.test/" })), "token issuer (iss) not accepted"],
        [await sign(es, claims(carol, { aud: "another-api" })), "token audience (aud) not accepted"],
        [await sign(ed, claims(carol, { exp: nowSeconds() - 120 })), "token expired"],
        [await sign(rs, claims(carol), { kid: "never-published" }), "token key unknown"],
        // The classic confusion: HS256 keyed with the published public key. It is checked against JWT_SECRET only.
        [await signHmac(JSON.stringify(rs.publicJwk), claims(carol), { kid: rs.kid }), "token signature invalid"],
        [await signHmac(rs.publicJwk.n!, claims(carol), { kid: rs.kid }), "token signature invalid"],
        [unsigned(claims(carol), { alg: "none", typ: "JWT", kid: rs.kid }), "token algorithm not accepted"],
      ];
      for (const [token, reason] of cases) {
        sent.push(token);
        const answer = await refused(server.wsUrl, token);
        expect(answer, reason).toMatchObject({ status: 401, body: `401 Unauthorized: ${reason}.\n` });
      }
    });

    it("answers 401 naming it for a validly signed token whose payload is null, on /ws and /ws/ticket", async () => {
      for (const token of [await sign(es, null), await signHmac(DEV.JWT_SECRET!, null)]) {
        sent.push(token);
        expect(await refused(server.wsUrl, token)).toMatchObject({ status: 401, body: "401 Unauthorized: token payload is not a JSON object.\n" });
        const ticket = await fetch(`${server.url}/ws/ticket`, { method: "POST", headers: { Authorization: `Bearer ${token}` } });
        expect(ticket.status).toBe(401);
        expect(await ticket.text()).toBe("401 Unauthorized: token payload is not a JSON object.\n");
      }
    });

    it("picks up a rotated key without a restart", async () => {
      keyServer!.publish(jwks(rs, es, ed, rotated));
      const dave = user("dave");
      await vi.waitFor(
        async () => {
          const result = await upgrade(server.wsUrl, await sign(rotated, claims(dave)));
          if (result.ok) result.socket.close(1000);
          expect(result.ok).toBe(true);
        },
        { timeout: 15_000, interval: 300 },
      );
    });

    it("keeps accepting tokens with the cached keys while the key server is down", async () => {
      const fetchesBefore = keyServer!.requests;
      // Cached, single flight, bounded refetch: a handful of fetches so far, not one per upgrade.
      expect(fetchesBefore).toBeLessThan(15);
      await keyServer!.stop();
      for (const key of [rs, es, ed, rotated]) {
        const erin = user("erin");
        const socket = await opened(server.wsUrl, await sign(key, claims(erin)));
        expect(socket.welcome.userId).toBe(erin);
        socket.socket.close(1000);
      }
      // An unknown kid now makes at most one (failing) refetch, and is still a 401, not a 503.
      const answer = await refused(server.wsUrl, await sign(rs, claims(user("erin")), { kid: "still-unknown" }));
      expect(answer.status).toBe(401);
    });

    it("disconnects all of a user's sockets, one connection, or one session with 4003; other users untouched", async () => {
      const alice = user("alice");
      const bob = user("bob");
      const [a1, a2, a3, b1] = [
        await opened(server.wsUrl, await sign(es, claims(alice, { sid: "phone" }))),
        await opened(server.wsUrl, await sign(es, claims(alice, { sid: "laptop" }))),
        await opened(server.wsUrl, await sign(ed, claims(alice, { sid: "laptop" }))),
        await opened(server.wsUrl, await sign(rs, claims(bob, { sid: "laptop" }))),
      ];
      expect(await disconnect(alice, { connectionId: a1.welcome.connectionId, reason: "signed out on the phone" })).toEqual({ closed: 1 });
      expect(await a1.closed).toEqual({ code: 4003, reason: "signed out on the phone" });
      expect(await disconnect(alice, { sessionId: "laptop" })).toEqual({ closed: 2 });
      expect((await a2.closed).code).toBe(4003);
      expect((await a3.closed).code).toBe(4003);
      const a4 = await opened(server.wsUrl, await sign(es, claims(alice)));
      expect(await disconnect(alice, {})).toEqual({ closed: 1 });
      expect(await a4.closed).toEqual({ code: 4003, reason: "revoked" });
      // Bob's socket (same sid, another user) is still open: a ping is answered.
      b1.socket.send("ping");
      await vi.waitFor(() => expect(b1.frames).toContain("pong"), { timeout: 10_000 });
      b1.socket.close(1000);
    });

    it("with a watermark refuses the user's older tokens at the upgrade and in band, but not newer ones nor other users'", async () => {
      const alice = user("alice");
      const bob = user("bob");
      const old = await sign(es, claims(alice, {}, 60));
      const live = await opened(server.wsUrl, old);
      const bobOld = await sign(es, claims(bob, {}, 60));
      expect(await disconnect(alice, { revokeTokensIssuedBefore: nowSeconds() - 10, reason: "logged out everywhere" })).toEqual({ closed: 1 });
      expect(await live.closed).toEqual({ code: 4003, reason: "logged out everywhere" });
      expect(await refused(server.wsUrl, old)).toMatchObject({ status: 401, body: expect.stringContaining("token revoked") });
      const fresh = await opened(server.wsUrl, await sign(ed, claims(alice)));
      fresh.socket.send(JSON.stringify({ type: "auth", token: old }));
      await vi.waitFor(() => expect(fresh.frames).toContainEqual(expect.objectContaining({ type: "error", code: "auth_failed", message: "token revoked" })), { timeout: 10_000 });
      fresh.socket.close(1000);
      const bobSocket = await opened(server.wsUrl, bobOld);
      bobSocket.socket.close(1000);
    });

    it("never wrote a token or a key into its output", () => {
      const output = server.output();
      for (const token of sent) if (token.split(".")[2]) expect(output).not.toContain(token.split(".")[2]!);
      for (const key of [rs, es, ed, rotated]) expect(output).not.toContain((key.publicJwk.n ?? key.publicJwk.x)!);
    });
  });
}
