import { decode, sign, verify } from "hono/jwt";
import { ConfigError } from "../hub/config.ts";
import { type JwksKeySet, sharedKeySet } from "./jwks-key-set.ts";
import { HttpStatus } from "../protocol/http-status.ts";
import { BEARER_PROTOCOL_PREFIX, PROTOCOL, TICKET_PROTOCOL_PREFIX } from "../protocol/frames.ts";
import { tokenList } from "./token-list.ts";

/**
 * The algorithms a token may be signed with: HMAC ones (checked only against
 * the shared secret) and asymmetric ones (checked only against the key set).
 * `none` is not one of them and is never accepted.
 */
export type JwtAlgorithm =
  | "HS256"
  | "HS384"
  | "HS512"
  | "RS256"
  | "RS384"
  | "RS512"
  | "PS256"
  | "PS384"
  | "PS512"
  | "ES256"
  | "ES384"
  | "ES512"
  | "EdDSA";

/** Every {@link JwtAlgorithm}, in the order `JWT_ALGORITHMS` documents them. */
export const JWT_ALGORITHMS: readonly JwtAlgorithm[] = [
  "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
];
/** The algorithms accepted for tokens checked against `secret`, unless `algorithms` says otherwise. */
export const DEFAULT_SECRET_ALGORITHMS: readonly JwtAlgorithm[] = ["HS256"];
/** The algorithms accepted for tokens checked against the key set, unless `algorithms` says otherwise. */
export const DEFAULT_KEY_SET_ALGORITHMS: readonly JwtAlgorithm[] = ["RS256", "ES256", "EdDSA"];

/** Whether `algorithm` is an HMAC one (checked against the shared secret, never against the key set). */
export function isHmacAlgorithm(algorithm: string): boolean {
  return algorithm === "HS256" || algorithm === "HS384" || algorithm === "HS512";
}

/**
 * How tokens are verified: by a shared secret (HMAC), by an identity
 * provider's key set (JWKS), or both. Variables map onto these options with
 * {@link readAuthOptions}.
 */
export interface AuthOptions {
  /** The shared secret (a binding such as `JWT_SECRET`) for HMAC tokens. */
  secret?: string | undefined;
  /** The provider's key set URL (`JWKS_URL`), fetched and cached per isolate (see {@link sharedKeySet}). */
  jwksUrl?: string | undefined;
  /** How often a token naming an unknown `kid` may refetch the key set at `jwksUrl` (`JWKS_UNKNOWN_KID_REFETCH_MS`). Default 30 s. */
  jwksUnknownKidRefetchMs?: number | undefined;
  /** A key set of your own, instead of `jwksUrl` (tests inject a clock and a fetch). */
  keySet?: JwksKeySet | undefined;
  /**
   * The algorithms accepted (`JWT_ALGORITHMS`). Default: `HS256` when there
   * is a secret, plus `RS256`, `ES256` and `EdDSA` when there is a key set.
   */
  algorithms?: readonly JwtAlgorithm[] | undefined;
  /** One algorithm, the older form of `algorithms`. */
  algorithm?: JwtAlgorithm | undefined;
  /** Accepted issuers (`JWT_ISSUER`): when given, a token's `iss` must be one of them. */
  issuer?: string | readonly string[] | undefined;
  /** Accepted audiences (`JWT_AUDIENCE`): when given, a token's `aud` (a string or a list) must contain one of them. */
  audience?: string | readonly string[] | undefined;
  /** The claim that is the user id (`JWT_USER_CLAIM`). Default `sub`. */
  userClaim?: string | undefined;
  /** Clock skew allowed on `exp`, `nbf` and `iat`, in seconds. Default 5. */
  leewaySeconds?: number;
  /** Refuse tokens without `exp`. Default true: a token that never expires is a standing risk. */
  requireExpiry?: boolean;
  /** The clock, in milliseconds (tests move it). Default `Date.now`. */
  now?: () => number;
}

/** Who the caller is, as a verified token says. Never built from anything the client asserts. */
export interface Identity {
  /** The token's user claim (`sub` unless `JWT_USER_CLAIM` names another). */
  readonly userId: string;
  /** When the token stops being valid, in epoch milliseconds (`exp`), or null if it has none. */
  readonly expiresAt: number | null;
  /** When the token was issued, in epoch milliseconds (`iat`), or null if it has none: what a revocation watermark is compared with. */
  readonly issuedAt?: number | null;
  /** The token's session (`sid`), or null: what a revocation by session matches. */
  readonly sessionId?: string | null;
}

/** Why credentials were refused. `reason` is safe to show; nothing here ever contains the token. */
export class AuthError extends Error {
  override readonly name = "AuthError";
  readonly status = HttpStatus.Unauthorized;
  /** A short machine-readable reason, also used as the RFC 6750 `error_description`. */
  readonly reason: string;

  /** `token`, when given, is cut out of the cause's message wherever it appears. */
  constructor(reason: string, options: { cause?: unknown; token?: string } = {}) {
    super(`401 Unauthorized: ${reason}.`, { cause: options.cause === undefined ? undefined : redact(options.cause, options.token) });
    this.reason = reason;
  }

  /** The RFC 6750 challenge to send with the 401. */
  get challenge(): string {
    return `Bearer realm="userhub", error="invalid_token", error_description="${this.reason}"`;
  }
}

/** The challenge for a request that carried no credentials at all (RFC 6750 §3.1). */
export const MISSING_CREDENTIALS_CHALLENGE = 'Bearer realm="userhub"';

const USER_ID = /^[A-Za-z0-9._@:+|-]{1,128}$/;

/**
 * Whether `userId` may name a user: 1–128 characters from `A-Z a-z 0-9 . _ @ : + - |`
 * (`|` because Auth0's `sub` is `provider|id`).
 * The id becomes a Durable Object name and a socket tag, so it is kept short and plain.
 */
export function isValidUserId(userId: unknown): userId is string {
  return typeof userId === "string" && USER_ID.test(userId);
}

/** Where the credentials of an upgrade request were found. */
export type Credentials =
  | { readonly token: string; readonly carrier: "authorization" | "protocol" }
  /** A single-use connect ticket (`ticket.<ticket>` subprotocol), redeemed by the user's hub. */
  | { readonly ticket: string; readonly carrier: "ticket"; readonly token?: undefined };

/**
 * Finds the caller's credentials: `Authorization: Bearer <jwt>`, or for
 * browsers (which cannot set headers on a WebSocket) the subprotocol carrier
 * `Sec-WebSocket-Protocol: userhub.v1, bearer.<jwt>`, or a connect ticket
 * `userhub.v1, ticket.<ticket>`. The header wins over the subprotocols.
 *
 * @returns the credentials, or null when the request carries none.
 */
export function findCredentials(headers: Headers): Credentials | null {
  const authorization = headers.get("Authorization");
  if (authorization !== null) {
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization);
    if (match) return { token: match[1]!, carrier: "authorization" };
  }
  for (const protocol of tokenList(headers.get("Sec-WebSocket-Protocol"))) {
    if (protocol.startsWith(BEARER_PROTOCOL_PREFIX) && protocol.length > BEARER_PROTOCOL_PREFIX.length) {
      return { token: protocol.slice(BEARER_PROTOCOL_PREFIX.length), carrier: "protocol" };
    }
    if (protocol.startsWith(TICKET_PROTOCOL_PREFIX) && protocol.length > TICKET_PROTOCOL_PREFIX.length) {
      return { ticket: protocol.slice(TICKET_PROTOCOL_PREFIX.length), carrier: "ticket" };
    }
  }
  return null;
}

/**
 * The subprotocol the server selects: `userhub.v1` when the client offered
 * it, none when it offered nothing (curl, server-side clients). The token
 * carrier is never echoed.
 *
 * @returns the protocol to select, null for none, or undefined when the
 * client offered subprotocols but not ours (a 400).
 */
export function selectProtocol(offered: readonly string[]): string | null | undefined {
  if (offered.length === 0) return null;
  return offered.includes(PROTOCOL) ? PROTOCOL : undefined;
}

/**
 * Verifies a JWT with `hono/jwt`. The header's algorithm picks the key: an
 * HMAC one is checked only against `secret`, an asymmetric one only against
 * the key set's key named by the header's `kid` (so a token "signed" with a
 * public key as an HMAC secret never passes). Then, after the signature:
 * the payload must be a JSON object; `exp`, `nbf` and `iat` with a small
 * leeway; `iss` and `aud` when configured; the user claim as a user id.
 *
 * @throws {AuthError} naming what was wrong, never the token.
 * @throws {KeySetUnavailableError} when the key set is needed and no key of it was ever fetched (a 503).
 * @throws {ConfigError} when neither a secret nor a key set is configured, or no accepted algorithm is checked against the one that is.
 *
 * @example
 * ```ts
 * import { verifyToken } from "userhub";
 * const { userId } = await verifyToken(token, { secret: env.JWT_SECRET });
 * const fromProvider = await verifyToken(token, { jwksUrl: env.JWKS_URL, issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE });
 * ```
 */
export async function verifyToken(token: string, options: AuthOptions): Promise<Identity> {
  const secret = options.secret || undefined;
  const keySet =
    options.keySet ??
    (options.jwksUrl
      ? sharedKeySet(options.jwksUrl, options.jwksUnknownKidRefetchMs === undefined ? {} : { unknownKidRefetchMs: options.jwksUnknownKidRefetchMs })
      : undefined);
  if (secret === undefined && keySet === undefined) {
    throw new ConfigError("JWT_SECRET", "is not set and neither is JWKS_URL; set one or both (JWT_SECRET as a secret, or the JWKS_URL variable)");
  }
  const accepted = options.algorithms ?? (options.algorithm ? [options.algorithm] : [
    ...(secret === undefined ? [] : DEFAULT_SECRET_ALGORITHMS),
    ...(keySet === undefined ? [] : DEFAULT_KEY_SET_ALGORITHMS),
  ]);
  // Algorithms none of which has its key here would refuse every token as if the tokens were at fault: that is the configuration's.
  if (!accepted.some((alg) => (isHmacAlgorithm(alg) ? secret !== undefined : keySet !== undefined))) {
    throw new ConfigError(
      "JWT_ALGORITHMS",
      secret === undefined
        ? `lists only HMAC algorithms (${accepted.join(", ")}), which are checked against JWT_SECRET, and it is not set`
        : `lists no HMAC algorithm (${accepted.join(", ")}), and those are checked against the key set of JWKS_URL, which is not set`,
    );
  }
  const leeway = options.leewaySeconds ?? 5;
  const now = Math.floor((options.now ?? Date.now)() / 1000);
  let header: Record<string, unknown>;
  try {
    header = decode(token).header as unknown as Record<string, unknown>;
  } catch (error) {
    throw new AuthError("token malformed", { cause: error, token });
  }
  if (typeof header !== "object" || header === null || typeof header.alg !== "string") throw new AuthError("token header invalid");
  const alg = header.alg as JwtAlgorithm;
  if (!accepted.includes(alg)) throw new AuthError("token algorithm not accepted");
  let key: string | JsonWebKey;
  if (isHmacAlgorithm(alg)) {
    if (secret === undefined) throw new AuthError("token algorithm not accepted");
    key = secret;
  } else {
    if (keySet === undefined) throw new AuthError("token algorithm not accepted");
    if (typeof header.kid !== "string" || header.kid.length === 0) throw new AuthError("token has no kid");
    const jwk = await keySet.key(header.kid);
    if (jwk === null) throw new AuthError("token key unknown");
    if (!keyFits(jwk, alg)) throw new AuthError("token algorithm does not match its key");
    key = jwk;
  }
  let verified: unknown;
  try {
    // hono checks exp/nbf/iat without leeway (and iss/aud before the signature), so those checks happen below.
    verified = await verify(token, key, { alg, exp: false, nbf: false, iat: false });
  } catch (error) {
    throw new AuthError(describeJwtError(error), { cause: error, token });
  }
  if (typeof verified !== "object" || verified === null || Array.isArray(verified)) throw new AuthError("token payload is not a JSON object");
  const payload = verified as Record<string, unknown>;
  const exp = payload.exp;
  if (exp !== undefined) refuseUnlessNumericDate("exp", exp);
  if (exp === undefined && (options.requireExpiry ?? true)) throw new AuthError("token has no exp");
  if (typeof exp === "number" && exp + leeway <= now) throw new AuthError("token expired");
  const nbf = payload.nbf;
  if (nbf !== undefined) refuseUnlessNumericDate("nbf", nbf);
  if (typeof nbf === "number" && nbf - leeway > now) throw new AuthError("token not yet valid");
  const iat = payload.iat;
  if (iat !== undefined) refuseUnlessNumericDate("iat", iat);
  if (typeof iat === "number" && iat - leeway > now) throw new AuthError("token issued in the future");
  const issuers = listOf(options.issuer);
  if (issuers.length > 0 && !(typeof payload.iss === "string" && issuers.includes(payload.iss))) throw new AuthError("token issuer (iss) not accepted");
  const audiences = listOf(options.audience);
  if (audiences.length > 0) {
    const aud = typeof payload.aud === "string" ? [payload.aud] : Array.isArray(payload.aud) ? payload.aud : [];
    if (!aud.some((a) => typeof a === "string" && audiences.includes(a))) throw new AuthError("token audience (aud) not accepted");
  }
  const claim = options.userClaim || "sub";
  const userId = Object.hasOwn(payload, claim) ? payload[claim] : undefined;
  if (userId === undefined) throw new AuthError(`token has no ${claim}`);
  if (!isValidUserId(userId)) throw new AuthError(`${claim} is not a valid user id`);
  const sid = payload.sid;
  return {
    userId,
    expiresAt: typeof exp === "number" ? exp * 1000 : null,
    issuedAt: typeof iat === "number" ? iat * 1000 : null,
    sessionId: typeof sid === "string" && sid.length > 0 && sid.length <= 256 ? sid : null,
  };
}

/** Whether a key set's `jwk` may verify an `alg` token: its own `alg` (if it names one), key type and curve agree. */
function keyFits(jwk: JsonWebKey, alg: JwtAlgorithm): boolean {
  if (jwk.alg !== undefined && jwk.alg !== alg) return false;
  if (alg.startsWith("RS") || alg.startsWith("PS")) return jwk.kty === "RSA";
  if (alg === "ES256") return jwk.kty === "EC" && jwk.crv === "P-256";
  if (alg === "ES384") return jwk.kty === "EC" && jwk.crv === "P-384";
  if (alg === "ES512") return jwk.kty === "EC" && jwk.crv === "P-521";
  if (alg === "EdDSA") return jwk.kty === "OKP" && jwk.crv === "Ed25519";
  return false;
}

function listOf(value: string | readonly string[] | undefined): readonly string[] {
  if (value === undefined) return [];
  return typeof value === "string" ? (value === "" ? [] : [value]) : value;
}

/**
 * Signs a token for `userId`, as the local development endpoint does.
 *
 * @example
 * ```ts
 * const token = await issueToken("alice", { secret: "dev-secret", ttlSeconds: 3600 });
 * ```
 */
export async function issueToken(
  userId: string,
  options: {
    secret: string;
    ttlSeconds?: number;
    algorithm?: "HS256" | "HS384" | "HS512";
    /** Set as `iss` (the first, when a list). */
    issuer?: string | readonly string[];
    /** Set as `aud`. */
    audience?: string | readonly string[];
    /** The claim the user id goes in. Default `sub`. */
    userClaim?: string;
    now?: () => number;
  },
): Promise<string> {
  if (!isValidUserId(userId)) throw new AuthError("sub is not a valid user id");
  const iat = Math.floor((options.now ?? Date.now)() / 1000);
  const issuer = listOf(options.issuer)[0];
  const audience = listOf(options.audience);
  const payload: Record<string, unknown> = {
    sub: userId,
    [options.userClaim || "sub"]: userId,
    iat,
    exp: iat + (options.ttlSeconds ?? 3600),
    ...(issuer === undefined ? {} : { iss: issuer }),
    ...(audience.length === 0 ? {} : { aud: audience.length === 1 ? audience[0] : [...audience] }),
  };
  return await sign(payload, options.secret, options.algorithm ?? "HS256");
}

function describeJwtError(error: unknown): string {
  const name = error instanceof Error ? error.name : "";
  switch (name) {
    case "JwtAlgorithmMismatch":
      return "token algorithm not accepted";
    case "JwtHeaderInvalid":
      return "token header invalid";
    case "JwtTokenSignatureMismatched":
      return "token signature invalid";
    case "DataError":
    case "NotSupportedError":
    case "InvalidAccessError":
      // WebCrypto refused the key set's key (a provider's malformed JWK), not the token.
      return "token key unusable";
    default:
      return "token malformed";
  }
}

const TOKEN_SHAPE = /[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*/g;

/**
 * hono's JWT errors quote the token in their message; keep the error, drop the
 * token: the exact string where known (it may have any shape, e.g. an opaque
 * key sent by mistake), and anything shaped like a JWT.
 */
function redact(cause: unknown, token?: string): unknown {
  if (!(cause instanceof Error)) return undefined;
  const message = token ? cause.message.split(token).join("[token]") : cause.message;
  const copy = new Error(message.replace(TOKEN_SHAPE, "[token]"));
  copy.name = cause.name;
  return copy;
}

/** The latest time a `Date` can hold, in epoch seconds: past it a claim's milliseconds are no longer a safe integer. */
const MAX_NUMERIC_DATE_SECONDS = 8.64e12;

/**
 * Refuses a time claim (`exp`, `nbf`, `iat`) that is not epoch seconds a
 * date can hold: `exp: 1e308` would otherwise never expire and show as
 * `expiresAt: null`. Fractional seconds are allowed (RFC 7519's NumericDate).
 */
function refuseUnlessNumericDate(claim: "exp" | "nbf" | "iat", value: unknown): asserts value is number {
  if (typeof value !== "number") throw new AuthError(`${claim} is not a number`);
  if (!Number.isFinite(value) || value < 0 || value > MAX_NUMERIC_DATE_SECONDS) throw new AuthError(`${claim} is not a time in epoch seconds`);
}
