import { MAX_CLOSE_REASON_BYTES } from "../protocol/close-code.ts";
import { utf8Length } from "../protocol/utf8-length.ts";
import type { Context, Env } from "hono";
import { isValidUserId } from "./auth.ts";
import { type DisconnectOptions, futureRevocationProblem } from "../hub/disconnect.ts";
import { HttpStatus } from "../protocol/http-status.ts";
import { type PushRouteOptions, refuseUnlessServerKey } from "./push-route.ts";
import { readJsonObject } from "./json-body.ts";

/** The largest disconnect body accepted, in bytes. */
const MAX_DISCONNECT_BODY_BYTES = 4096;
/** An identifier sent in the body: a connection id or a session id. */
const IDENTIFIER = /^[\x21-\x7e]{1,256}$/;

/**
 * `POST /users/:userId/disconnect`: a server (with the push key) throws a
 * user out. Optional JSON body `{"connectionId"?, "sessionId"?, "reason"?,
 * "revokeTokensIssuedBefore"?}` (see {@link DisconnectOptions}). Closes the
 * sockets with 4003 and the reason, drops the user's unredeemed tickets, and
 * answers `{"closed": N}`.
 */
export function disconnectRoute<E extends Env>(options: PushRouteOptions<E>): (c: Context<E>) => Promise<Response> {
  return async (c: Context<E>): Promise<Response> => {
    const refused = await refuseUnlessServerKey(c, options);
    if (refused) return refused;
    const userId = c.req.param("userId");
    if (!isValidUserId(userId)) return c.text("400 Bad Request: not a valid user id.\n", HttpStatus.BadRequest);
    const text = await c.req.text();
    if (new TextEncoder().encode(text).byteLength > MAX_DISCONNECT_BODY_BYTES) {
      return c.text(`413 Payload Too Large: a disconnect body may be at most ${MAX_DISCONNECT_BODY_BYTES} bytes.\n`, HttpStatus.PayloadTooLarge);
    }
    const disconnect = readDisconnectOptions(text);
    if (typeof disconnect === "string") return c.text(`400 Bad Request: ${disconnect}.\n`, HttpStatus.BadRequest);
    const future = disconnect.revokeTokensIssuedBefore === undefined ? null : futureRevocationProblem(disconnect.revokeTokensIssuedBefore, Date.now());
    if (future !== null) return c.text(`400 Bad Request: ${future}.\n`, HttpStatus.BadRequest);
    const result = await options.hubs(c).disconnect(userId, disconnect);
    return c.json({ closed: result.closed });
  };
}

/**
 * The options of a disconnect body (empty for an empty body), or what is wrong with it.
 *
 * @example
 * ```ts
 * readDisconnectOptions('{"sessionId":"s1","reason":"signed out"}'); // { sessionId: "s1", reason: "signed out" }
 * ```
 */
export function readDisconnectOptions(text: string): DisconnectOptions | string {
  if (text.trim() === "") return {};
  const body = readJsonObject(text, {
    notJson: 'body must be JSON: {"connectionId"?, "sessionId"?, "reason"?, "revokeTokensIssuedBefore"?}',
    notObject: "body must be a JSON object",
  });
  if (typeof body === "string") return body;
  const { connectionId, sessionId, reason, revokeTokensIssuedBefore, ...rest } = body;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) return `unknown field ${JSON.stringify(unknown[0]!.slice(0, 64))}`;
  if (connectionId !== undefined && (typeof connectionId !== "string" || !IDENTIFIER.test(connectionId))) {
    return '"connectionId" must be a connection id (a welcome frame\'s "connectionId")';
  }
  if (sessionId !== undefined && (typeof sessionId !== "string" || !IDENTIFIER.test(sessionId))) {
    return '"sessionId" must be 1-256 printable ASCII characters (a token\'s "sid")';
  }
  if (reason !== undefined && (typeof reason !== "string" || utf8Length(reason) > MAX_CLOSE_REASON_BYTES)) {
    return `"reason" must be a string of at most ${MAX_CLOSE_REASON_BYTES} UTF-8 bytes (a close reason)`;
  }
  if (
    revokeTokensIssuedBefore !== undefined &&
    (typeof revokeTokensIssuedBefore !== "number" || !Number.isSafeInteger(revokeTokensIssuedBefore) || revokeTokensIssuedBefore < 0)
  ) {
    return '"revokeTokensIssuedBefore" must be a time in epoch seconds (a whole number)';
  }
  return {
    ...(connectionId === undefined ? {} : { connectionId: connectionId as string }),
    ...(sessionId === undefined ? {} : { sessionId: sessionId as string }),
    ...(reason === undefined ? {} : { reason: reason as string }),
    ...(revokeTokensIssuedBefore === undefined ? {} : { revokeTokensIssuedBefore: revokeTokensIssuedBefore as number }),
  };
}
