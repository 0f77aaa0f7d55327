import { env } from "cloudflare:test";
import { sign } from "hono/jwt";
import { describe, expect, it, test } from "vitest";
import { AuthError, type AuthOptions, issueToken, verifyToken } from "../../src/index.ts";
import { findCredentials, isValidUserId, PROTOCOL, selectProtocol } from "../../src/host.ts";

const SECRET = env.JWT_SECRET ?? "workerd-test-secret";
// A fixed clock keeps every exp/nbf/iat case exact to the second.
const NOW_MS = 1_900_000_000_000;
const NOW = NOW_MS / 1000;

function at(ms: number): AuthOptions["now"] {
  return () => ms;
}

function options(extra: Partial<AuthOptions> = {}): AuthOptions {
  return { secret: SECRET, now: at(NOW_MS), ...extra };
}

function base64url(text: string): string {
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** An unsigned JWT (`header.payload.`), as an attacker would hand-build one. */
function unsignedToken(header: object, payload: object): string {
  return `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}.`;
}

/** Verifies `token`, expects a refusal, and checks the refusal never repeats the token. */
async function refusal(token: string, opts: AuthOptions = options()): Promise<AuthError> {
  let caught: unknown;
  try {
    await verifyToken(token, opts);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(AuthError);
  const error = caught as AuthError;
  expect(error.status).toBe(401);
  expect(error.message).toBe(`401 Unauthorized: ${error.reason}.`);
  expect(error.challenge).toBe(`Bearer realm="userhub", error="invalid_token", error_description="${error.reason}"`);
  // Every string contains "", so only a non-empty token can be looked for.
  if (token.length > 0) {
    expect(error.message).not.toContain(token);
    expect(String(error.cause)).not.toContain(token);
    expect(error.challenge).not.toContain(token);
  }
  return error;
}

describe("verifyToken accepts", () => {
  it("a token signed with hono/jwt: identity from sub and exp", async () => {
    const token = await sign({ sub: "alice", iat: NOW, exp: NOW + 60 }, SECRET);
    expect(await verifyToken(token, options())).toEqual({ userId: "alice", expiresAt: (NOW + 60) * 1000, issuedAt: NOW_MS, sessionId: null });
  });

  it("a token from issueToken", async () => {
    const token = await issueToken("bob@example.com", { secret: SECRET, ttlSeconds: 120, now: at(NOW_MS) });
    expect(await verifyToken(token, options())).toMatchObject({ userId: "bob@example.com", expiresAt: (NOW + 120) * 1000 });
  });

  it("an HS512 token when HS512 is pinned", async () => {
    const token = await sign({ sub: "alice", exp: NOW + 60 }, SECRET, "HS512");
    expect(await verifyToken(token, options({ algorithm: "HS512" }))).toEqual({ userId: "alice", expiresAt: (NOW + 60) * 1000, issuedAt: null, sessionId: null });
  });

  it("a token expired within the 5 s leeway", async () => {
    const token = await sign({ sub: "alice", exp: NOW - 4 }, SECRET);
    expect((await verifyToken(token, options())).userId).toBe("alice");
  });

  it("nbf and iat in the future within the leeway", async () => {
    const token = await sign({ sub: "alice", exp: NOW + 60, nbf: NOW + 5, iat: NOW + 5 }, SECRET);
    expect((await verifyToken(token, options())).userId).toBe("alice");
  });

  it("a token without exp when requireExpiry is false (expiresAt null)", async () => {
    const token = await sign({ sub: "alice" }, SECRET);
    expect(await verifyToken(token, options({ requireExpiry: false }))).toMatchObject({ userId: "alice", expiresAt: null });
  });

  it("uses the real clock when now is not given", async () => {
    const token = await issueToken("alice", { secret: SECRET });
    expect((await verifyToken(token, { secret: SECRET })).userId).toBe("alice");
  });
});

describe("verifyToken refuses", () => {
  it("a token signed with another secret", async () => {
    const token = await sign({ sub: "alice", exp: NOW + 60 }, "another-secret");
    expect((await refusal(token)).reason).toBe("token signature invalid");
  });

  it("a token whose signature was altered", async () => {
    const token = await sign({ sub: "alice", exp: NOW + 60 }, SECRET);
    const parts = token.split(".");
    const tampered = `${parts[0]}.${base64url(JSON.stringify({ sub: "mallory", exp: NOW + 60 }))}.${parts[2]}`;
    expect((await refusal(tampered)).reason).toBe("token signature invalid");
  });

  test.each([
    ["alg none", { alg: "none", typ: "JWT" }, "token algorithm not accepted"],
    ["alg None", { alg: "None", typ: "JWT" }, "token algorithm not accepted"],
    ["no alg", { typ: "JWT" }, "token header invalid"],
  ])("an unsigned token (%s)", async (_name, header, reason) => {
    const token = unsignedToken(header, { sub: "alice", exp: NOW + 60 });
    expect((await refusal(token)).reason).toBe(reason);
    expect((await refusal(token, options({ algorithm: "HS512" }))).reason).toBe(reason);
  });

  it("a token whose parts carry base64 padding, signed with another secret", async () => {
    // "xx" makes the payload part's length 2 mod 4, so it takes padding in the middle of the token.
    const token = await sign({ sub: "alice", exp: NOW + 60, pad: "xx" }, "another-secret");
    const padded = token
      .split(".")
      .map((part) => part + "=".repeat((4 - (part.length % 4)) % 4))
      .join(".");
    expect(padded.split(".")[1]).toMatch(/=$/);
    expect((await refusal(padded)).reason).toBe("token signature invalid");
  });

  it("an HS512 token when HS256 is pinned (the default)", async () => {
    const token = await sign({ sub: "alice", exp: NOW + 60 }, SECRET, "HS512");
    expect((await refusal(token)).reason).toBe("token algorithm not accepted");
    expect((await refusal(token, options({ algorithm: "HS256" }))).reason).toBe("token algorithm not accepted");
  });

  it("an HS256 token when HS512 is pinned", async () => {
    const token = await sign({ sub: "alice", exp: NOW + 60 }, SECRET, "HS256");
    expect((await refusal(token, options({ algorithm: "HS512" }))).reason).toBe("token algorithm not accepted");
  });

  it("a token expired beyond the 5 s leeway", async () => {
    const token = await sign({ sub: "alice", exp: NOW - 6 }, SECRET);
    expect((await refusal(token)).reason).toBe("token expired");
  });

  it("a token that expires later once the clock passes exp + leeway", async () => {
    const token = await issueToken("alice", { secret: SECRET, ttlSeconds: 60, now: at(NOW_MS) });
    expect((await verifyToken(token, options({ now: at(NOW_MS + 64_000) }))).userId).toBe("alice");
    expect((await refusal(token, options({ now: at(NOW_MS + 65_000) }))).reason).toBe("token expired");
  });

  it("an expired token with a leeway of 0", async () => {
    const token = await sign({ sub: "alice", exp: NOW }, SECRET);
    expect((await refusal(token, options({ leewaySeconds: 0 }))).reason).toBe("token expired");
  });

  it("a non-numeric exp", async () => {
    // hono's types only allow a numeric exp; a token from elsewhere may carry anything.
    const token = await sign({ sub: "alice", exp: "tomorrow" as unknown as number }, SECRET);
    expect((await refusal(token)).reason).toBe("exp is not a number");
  });

  it.each([
    ["nbf", { exp: NOW + 60, nbf: "x" }],
    ["nbf", { exp: NOW + 60, nbf: null }],
    ["iat", { exp: NOW + 60, iat: "x" }],
    ["iat", { exp: NOW + 60, iat: null }],
  ])("a non-numeric %s is refused naming it (%j), not as a clock's problem", async (claim, times) => {
    const token = await sign({ sub: "alice", ...(times as object) } as Parameters<typeof sign>[0], SECRET);
    expect((await refusal(token)).reason).toBe(`${claim} is not a number`);
  });

  it.each([
    ["exp", { exp: 1e308 }],
    ["exp", { exp: -1 }],
    ["nbf", { exp: NOW + 60, nbf: 1e300 }],
    ["iat", { exp: NOW + 60, iat: 9e15 }],
  ])("a %s that is not a time in epoch seconds (%j)", async (claim, times) => {
    const token = await sign({ sub: "alice", ...times }, SECRET);
    expect((await refusal(token)).reason).toBe(`${claim} is not a time in epoch seconds`);
  });

  it("nbf in the future beyond the leeway", async () => {
    const token = await sign({ sub: "alice", exp: NOW + 60, nbf: NOW + 6 }, SECRET);
    expect((await refusal(token)).reason).toBe("token not yet valid");
  });

  it("iat in the future beyond the leeway", async () => {
    const token = await sign({ sub: "alice", exp: NOW + 60, iat: NOW + 6 }, SECRET);
    expect((await refusal(token)).reason).toBe("token issued in the future");
  });

  it("a token without exp by default", async () => {
    const token = await sign({ sub: "alice" }, SECRET);
    expect((await refusal(token)).reason).toBe("token has no exp");
    expect((await refusal(token, options({ requireExpiry: true }))).reason).toBe("token has no exp");
  });

  it("a token without sub", async () => {
    const token = await sign({ exp: NOW + 60 }, SECRET);
    expect((await refusal(token)).reason).toBe("token has no sub");
  });

  test.each<[string, unknown]>([
    ["with spaces", "alice smith"],
    ["of 129 characters", "a".repeat(129)],
    ["empty", ""],
    ["a number", 42],
    ["null", null],
    ["an object", { id: "alice" }],
    ["with a slash", "alice/bob"],
  ])("a sub %s", async (_name, sub) => {
    const token = await sign({ sub, exp: NOW + 60 }, SECRET);
    expect((await refusal(token)).reason).toBe("sub is not a valid user id");
  });

  test.each([
    "",
    "a.b",
    "x.y.z",
    "not-a-jwt",
    "a.b.c.d",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.!!!",
    // An opaque access token from another system, sent by mistake, is a credential too.
    "gho_16C7e42F292c6912E7710c838347Ae178B4a",
  ])(
    "the garbage string %j",
    async (token) => {
      const error = await refusal(token);
      expect(["token malformed", "token header invalid"]).toContain(error.reason);
    },
  );
});

describe("findCredentials", () => {
  function credentials(headers: Record<string, string>) {
    return findCredentials(new Headers(headers));
  }

  test.each(["Bearer", "bearer", "BEARER", "BeArEr"])("Authorization: %s <jwt>", (scheme) => {
    expect(credentials({ Authorization: `${scheme} abc.def.ghi` })).toEqual({ token: "abc.def.ghi", carrier: "authorization" });
  });

  it("the subprotocol carrier userhub.v1, bearer.<jwt>", () => {
    expect(credentials({ "Sec-WebSocket-Protocol": "userhub.v1, bearer.abc.def.ghi" })).toEqual({ token: "abc.def.ghi", carrier: "protocol" });
  });

  it("the ticket carrier userhub.v1, ticket.<ticket>", () => {
    expect(credentials({ "Sec-WebSocket-Protocol": "userhub.v1, ticket.YWxpY2U.00ff" })).toEqual({ ticket: "YWxpY2U.00ff", carrier: "ticket" });
  });

  it("prefers the Authorization header over the subprotocol", () => {
    expect(
      credentials({ Authorization: "Bearer from-header", "Sec-WebSocket-Protocol": "userhub.v1, bearer.from-protocol" }),
    ).toEqual({ token: "from-header", carrier: "authorization" });
  });

  it("falls back to the subprotocol when Authorization is not a Bearer", () => {
    expect(credentials({ Authorization: "Basic YWxpY2U6cHc=", "Sec-WebSocket-Protocol": "bearer.jwt" })).toEqual({ token: "jwt", carrier: "protocol" });
  });

  test.each<[string, Record<string, string>]>([
    ["no headers", {}],
    ["only userhub.v1", { "Sec-WebSocket-Protocol": "userhub.v1" }],
    ["bearer. with nothing after it", { "Sec-WebSocket-Protocol": "userhub.v1, bearer." }],
    ["ticket. with nothing after it", { "Sec-WebSocket-Protocol": "userhub.v1, ticket." }],
    ["Bearer without a token", { Authorization: "Bearer " }],
    ["a Basic Authorization", { Authorization: "Basic YWxpY2U6cHc=" }],
  ])("%s → null", (_name, headers) => {
    expect(credentials(headers)).toBeNull();
  });

  it("of several carriers in the subprotocols, takes the first (the README: send one)", () => {
    expect(credentials({ "Sec-WebSocket-Protocol": "userhub.v1, bearer.first, bearer.second" })).toEqual({ token: "first", carrier: "protocol" });
    expect(credentials({ "Sec-WebSocket-Protocol": "userhub.v1, ticket.t1, bearer.jwt" })).toEqual({ ticket: "t1", carrier: "ticket" });
  });

  it("skips an empty bearer. carrier and takes the next one", () => {
    expect(credentials({ "Sec-WebSocket-Protocol": "userhub.v1, bearer., bearer.jwt" })).toEqual({ token: "jwt", carrier: "protocol" });
  });
});

describe("selectProtocol", () => {
  test.each<[string[], string | null | undefined]>([
    [[], null],
    [[PROTOCOL], "userhub.v1"],
    [["bearer.jwt", "userhub.v1"], "userhub.v1"],
    [["userhub.v1", "ticket.t"], "userhub.v1"],
    [["chat"], undefined],
    [["bearer.jwt"], undefined],
    [["userhub.v2", "USERHUB.V1"], undefined],
  ])("%j → %j", (offered, selected) => {
    expect(selectProtocol(offered)).toBe(selected);
  });
});

describe("isValidUserId", () => {
  test.each<[unknown, boolean]>([
    ["alice", true],
    ["a", true],
    ["a".repeat(128), true],
    ["Alice.Smith_01@example.com", true],
    ["tenant:user+tag-1", true],
    ["auth0|65f2a1b3c4d5e6f708192a3b", true],
    ["", false],
    ["a".repeat(129), false],
    ["alice smith", false],
    ["alice/bob", false],
    ["alice\n", false],
    ["élodie", false],
    ["a,b", false],
    [42, false],
    [null, false],
    [undefined, false],
    [["alice"], false],
  ])("%j → %j", (userId, valid) => {
    expect(isValidUserId(userId)).toBe(valid);
  });
});

describe("issueToken", () => {
  test.each(["", "alice smith", "a".repeat(129), "alice/bob"])("refuses the user id %j", async (userId) => {
    await expect(issueToken(userId, { secret: SECRET })).rejects.toBeInstanceOf(AuthError);
    await expect(issueToken(userId, { secret: SECRET })).rejects.toMatchObject({ status: 401, reason: "sub is not a valid user id" });
  });

  it("signs sub, iat and exp = iat + ttl with the chosen algorithm", async () => {
    const token = await issueToken("alice", { secret: SECRET, ttlSeconds: 10, algorithm: "HS384", now: at(NOW_MS + 999) });
    const [header, payload] = token.split(".").slice(0, 2).map((part) => JSON.parse(atob(part.replace(/-/g, "+").replace(/_/g, "/"))));
    expect(header).toMatchObject({ alg: "HS384" });
    expect(payload).toEqual({ sub: "alice", iat: NOW, exp: NOW + 10 });
    expect(await verifyToken(token, options({ algorithm: "HS384" }))).toMatchObject({ userId: "alice", expiresAt: (NOW + 10) * 1000 });
  });

  it("defaults to one hour", async () => {
    const token = await issueToken("alice", { secret: SECRET, now: at(NOW_MS) });
    expect((await verifyToken(token, options())).expiresAt).toBe((NOW + 3600) * 1000);
  });
});
