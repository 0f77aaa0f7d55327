import { AuthError, type Identity } from "../edge/auth.ts";
import { KeySetUnavailableError } from "../edge/jwks-key-set.ts";
import { type AuthFrame, type ClientFrame, errorFrame, ErrorCode } from "../protocol/frames.ts";
import { REVOKED } from "./admission.ts";
import type { ConnectionAttachment, HubHost } from "./hub-host.ts";
import type { HubSockets } from "./hub-sockets.ts";
import { isRevoked } from "./revocation.ts";
import type { WritableSocket } from "./sender.ts";

/** What {@link refreshCredentials} needs of the hub. */
export interface InBandAuth<S extends WritableSocket> {
  readonly host: HubHost<S>;
  readonly sockets: HubSockets<S>;
  /** Verifies a token exactly as at the upgrade; without it, every `auth` frame is refused. */
  readonly verifyToken: ((token: string) => Promise<Identity>) | undefined;
}

/**
 * An `auth` frame: a client hands a fresh token to a socket that is already
 * open. A token for the same user that verifies and is not revoked replaces
 * the socket's expiry, issue time and session, and is answered with an
 * `auth` frame; anything else gets an `auth_failed` error frame naming why,
 * and the socket keeps its old token (it closes with 4001 at its expiry).
 *
 * @returns true when the socket's expiry changed (the hub re-plans its wake-up).
 */
export async function refreshCredentials<S extends WritableSocket>(
  { host, sockets, verifyToken }: InBandAuth<S>,
  socket: S,
  attachment: ConnectionAttachment,
  frame: ClientFrame,
): Promise<boolean> {
  const sender = sockets.sender(socket);
  const refuse = async (message: string) => {
    await sender.send(JSON.stringify(errorFrame(ErrorCode.AuthFailed, message)));
    return false;
  };
  if (typeof frame.token !== "string" || frame.token.length === 0) {
    await sender.send(JSON.stringify(errorFrame(ErrorCode.InvalidFrame, 'an "auth" frame needs a string "token"')));
    return false;
  }
  if (!verifyToken) return await refuse("this hub cannot verify tokens in band; reconnect with a fresh token");
  let identity: Identity;
  try {
    identity = await verifyToken(frame.token);
  } catch (error) {
    if (error instanceof KeySetUnavailableError) return await refuse("the identity provider's key set is unreachable; try again shortly");
    return await refuse(error instanceof AuthError ? error.reason : "token refused");
  }
  if (identity.userId !== attachment.userId) return await refuse("token is for another user");
  if (isRevoked(identity.issuedAt, await host.revocation.read())) return await refuse(REVOKED);
  const current = sockets.openAttachment(socket);
  if (!current) return false;
  current.expiresAt = identity.expiresAt;
  current.issuedAt = identity.issuedAt ?? null;
  current.sessionId = identity.sessionId ?? null;
  sockets.write(socket, current);
  const answer: AuthFrame = { type: "auth", expiresAt: identity.expiresAt };
  await sender.send(JSON.stringify(answer));
  return true;
}
