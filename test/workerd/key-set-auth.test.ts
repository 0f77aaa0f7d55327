// verifyToken with a provider's key set: real keys generated with WebCrypto
// inside workerd, a JwksKeySet whose fetch serves their JWKS. Every
// asymmetric algorithm, every refusal (issuer, audience, expiry, unknown key,
// algorithm confusion, none), the user claim, and non-object payloads.
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { AuthError, type AuthOptions, ConfigError, readAuthOptions, verifyToken } from "../../src/index.ts";
import { JwksKeySet, KeySetUnavailableError } from "../../src/host.ts";
import { type AsymmetricAlgorithm, generateSigningKey, jwks, signHmac, signWith, type SigningKey, unsigned } from "../support/jwt-keys.ts";

const SECRET = env.JWT_SECRET ?? "workerd-test-secret";
const NOW_MS = 1_900_000_000_000;
const NOW = NOW_MS / 1000;
const ISSUER = "https://idp.test/";
const AUDIENCE = "userhub-api";
const ALGORITHMS: AsymmetricAlgorithm[] = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];

const keys = new Map<AsymmetricAlgorithm, SigningKey>();
let keySet: JwksKeySet;

beforeAll(async () => {
  for (const alg of ALGORITHMS) keys.set(alg, await generateSigningKey(alg, `kid-${alg}`));
  const document = JSON.stringify(jwks(...keys.values()));
  keySet = new JwksKeySet("https://idp.test/jwks", { fetch: async () => new Response(document), now: () => NOW_MS });
});

const key = (alg: AsymmetricAlgorithm) => keys.get(alg)!;
const claims = (extra: Record<string, unknown> = {}) => ({ sub: "alice", iss: ISSUER, aud: AUDIENCE, iat: NOW, exp: NOW + 60, ...extra });
const options = (extra: Partial<AuthOptions> = {}): AuthOptions => ({
  keySet,
  issuer: ISSUER,
  audience: AUDIENCE,
  algorithms: ALGORITHMS,
  now: () => NOW_MS,
  ...extra,
});

async function reasonOf(token: string, opts: AuthOptions = options()): Promise<string> {
  const error = await verifyToken(token, opts).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AuthError);
  expect((error as AuthError).message).not.toContain(token);
  return (error as AuthError).reason;
}

describe("verifyToken with a key set accepts", () => {
  it.each(ALGORITHMS)("%s, signed with WebCrypto, with iat, exp and sid in the identity", async (alg) => {
    const token = await signWith(key(alg), claims({ sid: "session-1" }));
    expect(await verifyToken(token, options())).toEqual({ userId: "alice", expiresAt: (NOW + 60) * 1000, issuedAt: NOW_MS, sessionId: "session-1" });
  });

  it("RS256, ES256 and EdDSA by default (no algorithms given), and not PS256", async () => {
    const defaults = options({ algorithms: undefined });
    for (const alg of ["RS256", "ES256", "EdDSA"] as const) expect((await verifyToken(await signWith(key(alg), claims()), defaults)).userId).toBe("alice");
    expect(await reasonOf(await signWith(key("PS256"), claims()), defaults)).toBe("token algorithm not accepted");
  });

  it("an audience list containing ours, and any of several accepted issuers and audiences", async () => {
    const token = await signWith(key("ES256"), claims({ aud: ["other-api", AUDIENCE] }));
    expect((await verifyToken(token, options())).userId).toBe("alice");
    const second = await signWith(key("ES256"), claims({ iss: "https://second.test/", aud: "second-api" }));
    expect((await verifyToken(second, options({ issuer: [ISSUER, "https://second.test/"], audience: [AUDIENCE, "second-api"] }))).userId).toBe("alice");
  });

  it("the user id from another claim (JWT_USER_CLAIM)", async () => {
    const token = await signWith(key("RS256"), claims({ sub: "auth0|not-valid id", user_id: "alice@example.com" }));
    expect((await verifyToken(token, options({ userClaim: "user_id" }))).userId).toBe("alice@example.com");
    expect(await reasonOf(await signWith(key("RS256"), claims()), options({ userClaim: "user_id" }))).toBe("token has no user_id");
  });

  it("HMAC tokens against the secret beside the key set", async () => {
    const token = await signHmac(SECRET, claims());
    expect((await verifyToken(token, options({ secret: SECRET, algorithms: ["HS256", "RS256"] }))).userId).toBe("alice");
  });
});

describe("verifyToken with a key set refuses", () => {
  it("a wrong issuer, a missing issuer", async () => {
    expect(await reasonOf(await signWith(key("RS256"), claims({ iss: "https://evil.test/" })))).toBe("token issuer (iss) not accepted");
    expect(await reasonOf(await signWith(key("RS256"), claims({ iss: undefined })))).toBe("token issuer (iss) not accepted");
  });

  it("a wrong audience, a missing audience", async () => {
    expect(await reasonOf(await signWith(key("ES256"), claims({ aud: "other-api" })))).toBe("token audience (aud) not accepted");
    expect(await reasonOf(await signWith(key("ES256"), claims({ aud: ["a", "b"] })))).toBe("token audience (aud) not accepted");
    expect(await reasonOf(await signWith(key("ES256"), claims({ aud: undefined })))).toBe("token audience (aud) not accepted");
  });

  it("an expired token", async () => {
    expect(await reasonOf(await signWith(key("EdDSA"), claims({ exp: NOW - 60 })))).toBe("token expired");
  });

  it("an unknown kid, and no kid at all", async () => {
    expect(await reasonOf(await signWith(key("RS256"), claims(), { kid: "not-published" }))).toBe("token key unknown");
    expect(await reasonOf(await signWith(key("RS256"), claims(), { kid: undefined }))).toBe("token has no kid");
  });

  it("a token signed by a key that is not in the set, under a published kid", async () => {
    const impostor = await generateSigningKey("RS256", "kid-RS256");
    expect(await reasonOf(await signWith(impostor, claims()))).toBe("token signature invalid");
  });

  it("a header algorithm that does not match the published key (kid of an RSA key, alg ES256)", async () => {
    const token = await signWith(key("ES256"), claims(), { kid: "kid-RS256" });
    expect(await reasonOf(token)).toBe("token algorithm does not match its key");
  });

  it("algorithm confusion: HS256 keyed with the public key, with and without a secret configured", async () => {
    const publicKeyText = JSON.stringify(key("RS256").publicJwk);
    for (const secretKey of [publicKeyText, key("RS256").publicJwk.n!]) {
      const token = await signHmac(secretKey, claims(), { kid: "kid-RS256" });
      // No secret: HMAC is not accepted at all.
      expect(await reasonOf(token, options({ algorithms: undefined }))).toBe("token algorithm not accepted");
      // A listed HS256 with no secret is still not checked against the key set.
      expect(await reasonOf(token, options({ algorithms: ["HS256", "RS256"] }))).toBe("token algorithm not accepted");
      // With a secret: checked against the secret only, so the signature fails.
      expect(await reasonOf(token, options({ secret: SECRET, algorithms: ["HS256", "RS256"] }))).toBe("token signature invalid");
    }
  });

  it("alg none, with and without a kid", async () => {
    expect(await reasonOf(unsigned(claims()))).toBe("token algorithm not accepted");
    expect(await reasonOf(unsigned(claims(), { alg: "none", typ: "JWT", kid: "kid-RS256" }))).toBe("token algorithm not accepted");
  });

  it("an algorithm not in the list", async () => {
    expect(await reasonOf(await signWith(key("ES256"), claims()), options({ algorithms: ["RS256"] }))).toBe("token algorithm not accepted");
  });

  it.each([
    ["null", null],
    ["an array", ["alice"]],
    ["a number", 42],
    ["a string", "alice"],
  ])("a validly signed token whose payload is %s", async (_name, payload) => {
    expect(await reasonOf(await signWith(key("RS256"), payload))).toBe("token payload is not a JSON object");
    expect(await reasonOf(await signHmac(SECRET, payload), { secret: SECRET })).toBe("token payload is not a JSON object");
  });
});

describe("verifyToken's configuration", () => {
  it("throws ConfigError naming both variables when neither a secret nor a key set is given", async () => {
    const error = await verifyToken(await signHmac(SECRET, claims()), {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain("JWT_SECRET");
    expect((error as Error).message).toContain("JWKS_URL");
  });

  it("throws KeySetUnavailableError when the key set was never reachable", async () => {
    const unreachable = new JwksKeySet("https://idp.test/jwks", {
      fetch: async () => {
        throw new TypeError("connection refused");
      },
    });
    const original = console.error;
    console.error = () => {};
    try {
      await expect(verifyToken(await signWith(key("RS256"), claims()), options({ keySet: unreachable }))).rejects.toBeInstanceOf(KeySetUnavailableError);
    } finally {
      console.error = original;
    }
  });

  it("readAuthOptions reads the variables", () => {
    expect(
      readAuthOptions({
        JWT_SECRET: "s",
        JWKS_URL: "https://idp.test/jwks",
        JWT_ALGORITHMS: "RS256, EdDSA",
        JWT_ISSUER: "https://a.test/,https://b.test/",
        JWT_AUDIENCE: "api",
        JWT_USER_CLAIM: "email",
      }),
    ).toEqual({
      secret: "s",
      jwksUrl: "https://idp.test/jwks",
      algorithms: ["RS256", "EdDSA"],
      issuer: ["https://a.test/", "https://b.test/"],
      audience: ["api"],
      userClaim: "email",
    });
    expect(readAuthOptions({})).toEqual({});
  });

  it.each([
    [{ JWT_ALGORITHMS: "RS256,none" }, "JWT_ALGORITHMS", /never accepted/],
    [{ JWT_ALGORITHMS: "RS257" }, "JWT_ALGORITHMS", /not one of/],
    [{ JWKS_URL: "not a url" }, "JWKS_URL", /not a URL/],
    [{ JWKS_URL: "ftp://idp.test/jwks" }, "JWKS_URL", /https/],
    [{ JWT_USER_CLAIM: "a claim" }, "JWT_USER_CLAIM", /not a claim name/],
  ])("readAuthOptions refuses %j", (vars, variable, message) => {
    let caught: unknown;
    try {
      readAuthOptions(vars);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect(caught).toMatchObject({ variable });
    expect((caught as Error).message).toMatch(message);
  });
});
