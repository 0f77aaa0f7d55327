import { kindOf } from "./kind-of.ts";

/**
 * What to close when a server disconnects a user (`POST /users/:userId/disconnect`).
 * With neither `connectionId` nor `sessionId`, every socket of the user.
 */
export interface DisconnectOptions {
  /** Only the socket with this connection id (the welcome's `connectionId`). */
  readonly connectionId?: string;
  /** Only the sockets whose token carried this `sid`. */
  readonly sessionId?: string;
  /** The close reason the sockets get (at most 123 UTF-8 bytes). Default "revoked". */
  readonly reason?: string;
  /**
   * Epoch seconds (a finite number, at least 0): from now on the hub refuses
   * every token of this user issued (`iat`) before it, at the upgrade and in
   * band (401 "token revoked"), and closes the sockets opened with such
   * tokens. Kept durably; it only ever moves forward, so a time later than
   * now (past a 5 s leeway) is refused: {@link FutureRevocationError} from
   * the hub, 400 from the route.
   */
  readonly revokeTokensIssuedBefore?: number;
}

/** What a disconnect did. */
export interface DisconnectResult {
  /** Sockets closed with 4003. */
  readonly closed: number;
}

/** The fields of {@link DisconnectOptions}: a disconnect with any other (a misspelt watermark, say) is refused rather than half done. */
const DISCONNECT_FIELDS: ReadonlySet<string> = new Set(["connectionId", "sessionId", "reason", "revokeTokensIssuedBefore"]);

/**
 * A disconnect whose options are not {@link DisconnectOptions}: not an
 * object, a field the hub does not know, an id or reason that is not a
 * string, or a `revokeTokensIssuedBefore` that is not a finite number of
 * epoch seconds (a string, `NaN`, a negative number). Nothing was closed,
 * revoked or dropped.
 *
 * @example
 * ```ts
 * try {
 *   await hubs.disconnect("eve", { revokeTokensIssuedBefore: Number("soon") });
 * } catch (error) {
 *   if (error instanceof InvalidDisconnectOptionsError) console.log(error.message); // "revokeTokensIssuedBefore" must be …, not NaN
 * }
 * ```
 */
export class InvalidDisconnectOptionsError extends TypeError {
  override readonly name = "InvalidDisconnectOptionsError";
}

/**
 * Checks a disconnect's options as they arrive (over RPC they are whatever
 * the caller sent), before anything is done. A `revokeTokensIssuedBefore`
 * later than now is the hub's to refuse ({@link FutureRevocationError}): it
 * depends on the clock.
 *
 * @throws {InvalidDisconnectOptionsError} when `options` is neither an object nor undefined, names a field that is not an option, has a `connectionId`, `sessionId` or `reason` that is not a string (the ids: not empty), or a `revokeTokensIssuedBefore` that is not a finite number of epoch seconds, at least 0.
 */
export function checkDisconnect(options: unknown): asserts options is DisconnectOptions | undefined {
  if (options === undefined) return;
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new InvalidDisconnectOptionsError(`a disconnect's options must be an object (or left out), not ${kindOf(options)}`);
  }
  for (const field of Object.keys(options)) {
    if (!DISCONNECT_FIELDS.has(field)) throw new InvalidDisconnectOptionsError(`unknown disconnect option ${JSON.stringify(field.slice(0, 64))}: the options are ${[...DISCONNECT_FIELDS].join(", ")}`);
  }
  const { connectionId, sessionId, reason, revokeTokensIssuedBefore } = options as Record<string, unknown>;
  for (const [field, value] of [["connectionId", connectionId], ["sessionId", sessionId]] as const) {
    if (value !== undefined && (typeof value !== "string" || value.length === 0)) {
      throw new InvalidDisconnectOptionsError(`"${field}" must be a non-empty string, not ${typeof value === "string" ? "an empty one" : kindOf(value)}`);
    }
  }
  if (reason !== undefined && typeof reason !== "string") throw new InvalidDisconnectOptionsError(`"reason" must be a string, not ${kindOf(reason)}`);
  if (revokeTokensIssuedBefore !== undefined && !(typeof revokeTokensIssuedBefore === "number" && Number.isFinite(revokeTokensIssuedBefore) && revokeTokensIssuedBefore >= 0)) {
    const given = typeof revokeTokensIssuedBefore === "number" ? String(revokeTokensIssuedBefore) : kindOf(revokeTokensIssuedBefore);
    throw new InvalidDisconnectOptionsError(`"revokeTokensIssuedBefore" must be a time in epoch seconds (a finite number, at least 0), not ${given}`);
  }
}

/** How far past now, in seconds, a `revokeTokensIssuedBefore` may be: the clock skew token verification allows. */
export const REVOCATION_LEEWAY_SECONDS = 5;

/**
 * A `revokeTokensIssuedBefore` later than now (plus {@link REVOCATION_LEEWAY_SECONDS}).
 * The watermark only moves forward, so such a value (often milliseconds
 * given for seconds) would refuse every token the user will ever get.
 *
 * @example
 * ```ts
 * try {
 *   await hubs.disconnect("eve", { revokeTokensIssuedBefore: Date.now() }); // milliseconds: refused
 * } catch (error) {
 *   if (error instanceof FutureRevocationError) console.log(error.message);
 * }
 * ```
 */
export class FutureRevocationError extends RangeError {
  override name = "FutureRevocationError";
}

/**
 * Why `revokeTokensIssuedBefore` (epoch seconds) cannot be used at `nowMs`, or null when it can.
 *
 * @example
 * ```ts
 * futureRevocationProblem(99999999999, Date.now()); // '"revokeTokensIssuedBefore" is later than now: …'
 * futureRevocationProblem(Math.floor(Date.now() / 1000), Date.now()); // null
 * ```
 */
export function futureRevocationProblem(revokeTokensIssuedBefore: number, nowMs: number): string | null {
  const nowSeconds = Math.floor(nowMs / 1000);
  if (revokeTokensIssuedBefore <= nowSeconds + REVOCATION_LEEWAY_SECONDS) return null;
  return `"revokeTokensIssuedBefore" is later than now (${nowSeconds}): it is a time in epoch seconds, not milliseconds, and a future watermark would refuse every new token of the user`;
}
