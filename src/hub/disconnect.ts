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
   * Epoch seconds: from now on the hub refuses every token of this user
   * issued (`iat`) before it, at the upgrade and in band (401 "token
   * revoked"), and closes the sockets opened with such tokens. Kept durably;
   * it only ever moves forward, so a time later than now (past a 5 s leeway)
   * is refused: {@link FutureRevocationError} from the hub, 400 from the route.
   */
  readonly revokeTokensIssuedBefore?: number;
}

/** What a disconnect did. */
export interface DisconnectResult {
  /** Sockets closed with 4003. */
  readonly closed: number;
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
