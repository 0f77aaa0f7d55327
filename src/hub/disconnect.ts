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
   * it only ever moves forward.
   */
  readonly revokeTokensIssuedBefore?: number;
}

/** What a disconnect did. */
export interface DisconnectResult {
  /** Sockets closed with 4003. */
  readonly closed: number;
}
