import { sign, verify } from "hono/jwt";
import { HttpStatus } from "./http-status.ts";
import { BEARER_PROTOCOL_PREFIX, PROTOCOL, TICKET_PROTOCOL_PREFIX } from "./protocol.ts";
import { tokenList } from "./validate-upgrade.ts";

/** The HMAC algorithms a deployment may pin. `none` and asymmetric algorithms are never accepted here. */
export type JwtAlgorithm = "HS256" | "HS384" | "HS512";

/** How tokens are verified. */
export interface AuthOptions {
  /** The shared secret (a binding such as `JWT_SECRET`). */
  secret: string;
  /** The one algorithm accepted; a token whose header names another is refused. Default `HS256`. */
  algorithm?: JwtAlgorithm;
  /** Clock skew allowed on `exp`, `nbf` and `iat`, in seconds. Default 5. */
  leewaySeconds?: number;
  /** Refuse tokens without `exp`. Default true: a token that never expires is a standing risk. */
  requireExpiry?: boolean;
  /** The clock, in milliseconds (tests move it). Default `Date.now`. */
  now?: () => number;
}

/** Who the caller is, as a verified token says. Never built from anything the client asserts. */
export interface Identity {
  /** The token's `sub`. */
  readonly userId: string;
  /** When the token stops being valid, in epoch milliseconds (`exp`), or null if it has none. */
  readonly expiresAt: number | null;
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

const USER_ID = /^[A-Za-z0-9._@:+-]{1,128}$/;

/**
 * Whether `userId` may name a user: 1–128 characters from `A-Z a-z 0-9 . _ @ : + -`.
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
 * Verifies a JWT with `hono/jwt`: the signature with the pinned algorithm,
 * then `exp`, `nbf` and `iat` with a small leeway, then `sub` as a user id.
 *
 * @throws {AuthError} naming what was wrong, never the token.
 *
 * @example
 * ```ts
 * import { verifyToken } from "userhub";
 * const { userId } = await verifyToken(token, { secret: env.JWT_SECRET });
 * ```
 */
export async function verifyToken(token: string, options: AuthOptions): Promise<Identity> {
  const algorithm = options.algorithm ?? "HS256";
  const leeway = options.leewaySeconds ?? 5;
  const now = Math.floor((options.now ?? Date.now)() / 1000);
  let payload: Record<string, unknown>;
  try {
    // hono checks exp/nbf/iat without leeway, so those checks happen below.
    payload = await verify(token, options.secret, { alg: algorithm, exp: false, nbf: false, iat: false });
  } catch (error) {
    throw new AuthError(describeJwtError(error), { cause: error, token });
  }
  const exp = payload.exp;
  if (exp !== undefined && (typeof exp !== "number" || !Number.isFinite(exp))) throw new AuthError("exp is not a number");
  if (exp === undefined && (options.requireExpiry ?? true)) throw new AuthError("token has no exp");
  if (typeof exp === "number" && exp + leeway <= now) throw new AuthError("token expired");
  const nbf = payload.nbf;
  if (nbf !== undefined && (typeof nbf !== "number" || nbf - leeway > now)) throw new AuthError("token not yet valid");
  const iat = payload.iat;
  if (iat !== undefined && (typeof iat !== "number" || iat - leeway > now)) throw new AuthError("token issued in the future");
  if (payload.sub === undefined) throw new AuthError("token has no sub");
  if (!isValidUserId(payload.sub)) throw new AuthError("sub is not a valid user id");
  return { userId: payload.sub, expiresAt: typeof exp === "number" ? exp * 1000 : null };
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
  options: { secret: string; ttlSeconds?: number; algorithm?: JwtAlgorithm; now?: () => number },
): Promise<string> {
  if (!isValidUserId(userId)) throw new AuthError("sub is not a valid user id");
  const iat = Math.floor((options.now ?? Date.now)() / 1000);
  return await sign({ sub: userId, iat, exp: iat + (options.ttlSeconds ?? 3600) }, options.secret, options.algorithm ?? "HS256");
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
