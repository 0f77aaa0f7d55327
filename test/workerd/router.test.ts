// The demo Worker's router inside workerd: every refusal is an HTTP answer
// that names its problem, given before any Durable Object exists; the hub is
// told who the caller is in a way the caller cannot forge.
import { createExecutionContext, env, listDurableObjectIds, SELF, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker, { type DemoEnv } from "../../worker/index.ts";
import { accept, tokenFor, upgradeHeaders } from "./hub-client.ts";

let users = 0;
const user = (name: string) => `${name}-${++users}`;

/** Calls the demo Worker with `overrides` on top of the test bindings (e.g. the deployed configuration). */
async function fetchWith(overrides: Partial<DemoEnv>, input: string, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await worker.fetch(new Request(input, init), { ...env, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

/** Runs `act` and answers how many user hubs were created meanwhile. */
async function hubsCreatedBy(act: () => Promise<unknown>): Promise<number> {
  const before = (await listDurableObjectIds(env.USER_HUB)).length;
  await act();
  return (await listDurableObjectIds(env.USER_HUB)).length - before;
}

describe("GET /ws refusals", () => {
  it("answers a plain request with 426, Upgrade: websocket, and a body naming the missing headers and the curl line", async () => {
    const response = await SELF.fetch("https://hub.test/ws");
    expect(response.status).toBe(426);
    expect(response.headers.get("Upgrade")).toBe("websocket");
    const body = await response.text();
    expect(body).toContain("Missing or wrong: Upgrade");
    expect(body).toContain("Connection");
    expect(body).toContain('curl -i -N -H "Connection: Upgrade" -H "Upgrade: websocket"');
    expect(body).toContain("https://hub.test/ws");
  });

  it("answers other methods with 405 and Allow: GET", async () => {
    // Without upgrade headers: workerd's fetch turns any request that carries them into a GET upgrade.
    for (const method of ["POST", "PUT", "DELETE"]) {
      const response = await SELF.fetch("https://hub.test/ws", { method });
      expect(response.status).toBe(405);
      expect(response.headers.get("Allow")).toBe("GET");
      expect(await response.text()).toContain(method);
    }
  });

  it("answers no, bad or expired credentials with 401 and WWW-Authenticate, never echoing the token, before any hub exists", async () => {
    const alice = user("alice");
    const forged = await tokenFor(alice, { secret: "not-the-secret" });
    const expired = await tokenFor(alice, { ttlSeconds: -60 });
    const cases: [Record<string, string>, RegExp][] = [
      [{}, /no credentials/],
      [{ Authorization: `Bearer ${forged}` }, /token signature invalid/],
      [{ Authorization: `Bearer ${expired}` }, /token expired/],
      [{ Authorization: "Bearer not.a.jwt" }, /token malformed/],
      [{ "Sec-WebSocket-Protocol": `userhub.v1, bearer.${forged}` }, /token signature invalid/],
    ];
    const created = await hubsCreatedBy(async () => {
      for (const [headers, reason] of cases) {
        const response = await SELF.fetch("https://hub.test/ws", { headers: upgradeHeaders(headers) });
        expect(response.status).toBe(401);
        expect(response.webSocket).toBeNull();
        expect(response.headers.get("WWW-Authenticate")).toMatch(/^Bearer realm="userhub"/);
        const body = await response.text();
        expect(body).toMatch(reason);
        for (const token of [forged, expired]) {
          expect(body).not.toContain(token);
          expect(response.headers.get("WWW-Authenticate")).not.toContain(token);
        }
      }
    });
    expect(created).toBe(0);
  });

  it("answers 400 when subprotocols are offered without userhub.v1, or the resume point is malformed", async () => {
    const token = await tokenFor(user("alice"));
    const noOurs = await SELF.fetch("https://hub.test/ws", { headers: upgradeHeaders({ "Sec-WebSocket-Protocol": `chat, bearer.${token}` }) });
    expect(noOurs.status).toBe(400);
    expect(await noOurs.text()).toMatch(/must include "userhub.v1"/);
    for (const query of ["since=-1", "since=abc", "epoch=e1", "since=1&epoch=%20bad"]) {
      const response = await SELF.fetch(`https://hub.test/ws?${query}`, { headers: upgradeHeaders({ Authorization: `Bearer ${token}` }) });
      expect(response.status, query).toBe(400);
      expect(await response.text()).toMatch(/"since"|"epoch"/);
    }
  });

  it("answers 403 to an Origin off the allow-list, and lets listed origins and non-browsers through", async () => {
    const alice = user("alice");
    const headers = upgradeHeaders({ Authorization: `Bearer ${await tokenFor(alice)}` });
    const allowed = { ALLOWED_ORIGINS: "https://app.example, https://admin.example" };
    const refused = await fetchWith(allowed, "https://hub.test/ws", { headers: { ...headers, Origin: "https://evil.example" } });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('"https://evil.example" is not allowed');
    const listed = await accept(await fetchWith(allowed, "https://hub.test/ws", { headers: { ...headers, Origin: "https://admin.example" } }));
    const noOrigin = await accept(await fetchWith(allowed, "https://hub.test/ws", { headers }));
    expect(noOrigin.welcome.connections).toBe(2);
    listed.socket.close(1000);
    noOrigin.socket.close(1000);
  });

  it("answers 500 naming JWT_SECRET when the secret is not set, with no stack trace", async () => {
    const response = await fetchWith({ JWT_SECRET: undefined }, "https://hub.test/ws", {
      headers: upgradeHeaders({ Authorization: `Bearer ${await tokenFor(user("alice"))}` }),
    });
    expect(response.status).toBe(500);
    const body = await response.text();
    expect(body).toContain("JWT_SECRET: is not set");
    expect(body).not.toMatch(/\n\s+at /);
  });

  it.each([
    ["only asymmetric algorithms with only a secret", { JWT_ALGORITHMS: "RS256, ES256" }, "JWT_ALGORITHMS: lists no HMAC algorithm (RS256, ES256)"],
    ["only HMAC algorithms with only a key set", { JWT_SECRET: undefined, JWKS_URL: "https://keys.example/jwks.json", JWT_ALGORITHMS: "HS256" }, "JWT_ALGORITHMS: lists only HMAC algorithms (HS256)"],
  ])("answers 500 naming JWT_ALGORITHMS when it accepts %s (no token could pass), not 401 to a good token", async (_name, vars, named) => {
    const response = await fetchWith(vars, "https://hub.test/ws", {
      headers: upgradeHeaders({ Authorization: `Bearer ${await tokenFor(user("alice"))}` }),
    });
    expect(response.status).toBe(500);
    const body = await response.text();
    expect(body).toContain(named);
    expect(body).not.toMatch(/\n\s+at /);
  });
});

describe("GET /ws upgrades", () => {
  it("takes the token from the subprotocol carrier and selects userhub.v1 without echoing the token", async () => {
    const alice = user("alice");
    const token = await tokenFor(alice);
    const response = await SELF.fetch("https://hub.test/ws", { headers: upgradeHeaders({ "Sec-WebSocket-Protocol": `userhub.v1, bearer.${token}` }) });
    expect(response.status).toBe(101);
    expect(response.headers.get("Sec-WebSocket-Protocol")).toBe("userhub.v1");
    for (const [, value] of response.headers) expect(value).not.toContain(token);
    const client = await accept(response);
    expect(client.welcome.userId).toBe(alice);
    client.socket.close(1000);
  });

  it("takes identity only from the verified token: a forged handoff header is not forwarded", async () => {
    const alice = user("alice");
    const forged = JSON.stringify({ userId: "bob", protocol: null, resume: null, identity: { userId: "bob", expiresAt: null } });
    const client = await accept(
      await SELF.fetch("https://hub.test/ws", { headers: upgradeHeaders({ Authorization: `Bearer ${await tokenFor(alice)}`, "X-Userhub-Handoff": forged }) }),
    );
    expect(client.welcome.userId).toBe(alice);
    client.socket.close(1000);
  });
});

describe("POST /dev/token", () => {
  it("issues a token for a valid user id that the router then accepts", async () => {
    const response = await SELF.fetch("https://hub.test/dev/token", { method: "POST", body: JSON.stringify({ userId: "alice@example.com" }) });
    expect(response.status).toBe(200);
    const { token } = (await response.json()) as { token: string };
    const client = await accept(await SELF.fetch("https://hub.test/ws", { headers: upgradeHeaders({ Authorization: `Bearer ${token}` }) }));
    expect(client.welcome.userId).toBe("alice@example.com");
    client.socket.close(1000);
  });

  it("refuses with 400 every user id the router would refuse, and bodies that are not JSON", async () => {
    for (const body of [{ userId: "" }, { userId: "a b" }, { userId: "x".repeat(129) }, { userId: 42 }, {}, null]) {
      const response = await SELF.fetch("https://hub.test/dev/token", { method: "POST", body: JSON.stringify(body) });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(((await response.json()) as { error: string }).error).toMatch(/userId must be 1-128 characters/);
    }
    const notJson = await SELF.fetch("https://hub.test/dev/token", { method: "POST", body: "userId=alice" });
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: string }).error).toMatch(/body must be JSON/);
  });

  it("does not exist with the deployed configuration (DEV_TOKENS off, as wrangler.toml sets it)", async () => {
    const response = await fetchWith({ DEV_TOKENS: "off" }, "https://hub.test/dev/token", { method: "POST", body: JSON.stringify({ userId: "alice" }) });
    expect(response.status).toBe(404);
    expect(await response.text()).not.toContain("token");
  });
});

describe("the edge upgrade limiter", () => {
  /** A limiter that records its keys and refuses every key in `refuse`. */
  function recordingLimiter(refuse: Set<string> = new Set()) {
    const keys: string[] = [];
    return { keys, limiter: { limit: async ({ key }: { key: string }) => (keys.push(key), { success: !refuse.has(key) }) } };
  }

  it("is never keyed by a user id the caller only named: a forged ticket counts against the caller's address, not the victim", async () => {
    const victim = user("victim");
    const { keys, limiter } = recordingLimiter(new Set(["upgrade-address:203.0.113.9"]));
    const forged = `${btoa(victim).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_")}.${"cd".repeat(16)}`;
    const refused = await fetchWith({ UPGRADE_LIMITER: limiter as never }, "https://hub.test/ws", {
      headers: upgradeHeaders({ "Sec-WebSocket-Protocol": `userhub.v1, ticket.${forged}`, "CF-Connecting-IP": "203.0.113.9" }),
    });
    expect(refused.status).toBe(429);
    expect(await refused.text()).toMatch(/from this address/);
    expect(keys).toEqual(["upgrade-address:203.0.113.9"]);
    // The victim's own token is counted under the victim, and goes through.
    const own = await fetchWith({ UPGRADE_LIMITER: limiter as never }, "https://hub.test/ws", {
      headers: upgradeHeaders({ Authorization: `Bearer ${await tokenFor(victim)}`, "CF-Connecting-IP": "203.0.113.9" }),
    });
    expect(own.status).toBe(101);
    own.webSocket?.accept();
    own.webSocket?.close(1000);
    expect(keys).toEqual(["upgrade-address:203.0.113.9", `upgrade:${victim}`]);
  });

  it("counts a ticket request against its verified user", async () => {
    const alice = user("alice");
    const { keys, limiter } = recordingLimiter(new Set([`upgrade:${alice}`]));
    const refused = await fetchWith({ UPGRADE_LIMITER: limiter as never }, "https://hub.test/ws/ticket", {
      method: "POST",
      headers: { Authorization: `Bearer ${await tokenFor(alice)}` },
    });
    expect(refused.status).toBe(429);
    expect(keys).toEqual([`upgrade:${alice}`]);
  });
});
