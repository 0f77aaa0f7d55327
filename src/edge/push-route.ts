import type { Context, Env } from "hono";
import { timingSafeEqual } from "hono/utils/buffer";
import { type AuthOptions, findCredentials, isValidUserId, MISSING_CREDENTIALS_CHALLENGE, verifyToken } from "./auth.ts";
import { isUnserializablePayload } from "../protocol/delivery-frame.ts";
import { isIdempotencyKeyString } from "../hub/idempotency-key.ts";
import type { HubNamespace } from "../hub/hub-namespace.ts";
import { MAX_PUSH_BATCH } from "../hub/push.ts";
import { HttpStatus } from "../protocol/http-status.ts";
import { readJsonObject } from "./json-body.ts";

/** The largest push body accepted, in bytes. */
export const MAX_PUSH_BODY_BYTES = 1024 * 1024;

/** What the push endpoint needs from the router's options. */
export interface PushRouteOptions<E extends Env> {
  hubs: (c: Context<E>) => HubNamespace;
  /** The server credential that may push (e.g. `PUSH_API_KEY`). Unset: the endpoint answers 404. */
  pushKey: (c: Context<E>) => string | undefined;
  /** How user tokens are verified, only to tell a user's token (403) from a wrong key (401). */
  auth: (c: Context<E>) => AuthOptions;
}

/**
 * Checks that a request carries the server key (`Authorization: Bearer
 * <PUSH_API_KEY>`), as every server-only route needs.
 *
 * @returns null when it does, or the answer: 404 when no key is set, 401 for
 * a wrong key, 403 for a user's token.
 */
export async function refuseUnlessServerKey<E extends Env>(c: Context<E>, options: PushRouteOptions<E>): Promise<Response | null> {
  const key = options.pushKey(c);
  if (!key) return c.text("404 Not Found: pushing and disconnecting over HTTP are off; set PUSH_API_KEY to turn them on.\n", HttpStatus.NotFound);
  const credentials = findCredentials(c.req.raw.headers);
  if (credentials === null || credentials.carrier !== "authorization") {
    return c.text('401 Unauthorized: send the server push key as "Authorization: Bearer <PUSH_API_KEY>".\n', HttpStatus.Unauthorized, {
      "WWW-Authenticate": MISSING_CREDENTIALS_CHALLENGE,
    });
  }
  if (await timingSafeEqual(credentials.token, key)) return null;
  const isUserToken = await verifyToken(credentials.token, options.auth(c)).then(() => true, () => false);
  if (isUserToken) return c.text("403 Forbidden: a user's token cannot push or disconnect; use the server push key.\n", HttpStatus.Forbidden);
  return c.text("401 Unauthorized: wrong push key.\n", HttpStatus.Unauthorized, {
    "WWW-Authenticate": 'Bearer realm="userhub", error="invalid_token", error_description="wrong push key"',
  });
}

/**
 * `POST /users/:userId/messages`: a server (never a user) delivers to a user.
 * Body `{"data": X}` or `{"messages": [X, …]}`; optional `Idempotency-Key`
 * header. Answers `{"seq", "seqs", "delivered", "duplicate"}`.
 */
export function pushRoute<E extends Env>(options: PushRouteOptions<E>): (c: Context<E>) => Promise<Response> {
  return async (c: Context<E>): Promise<Response> => {
    const refused = await refuseUnlessServerKey(c, options);
    if (refused) return refused;
    const userId = c.req.param("userId");
    if (!isValidUserId(userId)) return c.text("400 Bad Request: not a valid user id.\n", HttpStatus.BadRequest);
    const idempotencyKey = c.req.header("Idempotency-Key");
    if (idempotencyKey !== undefined && !isIdempotencyKey(idempotencyKey)) {
      return c.text("400 Bad Request: Idempotency-Key must be 1-200 printable ASCII characters.\n", HttpStatus.BadRequest);
    }
    const text = await c.req.text();
    if (new TextEncoder().encode(text).byteLength > MAX_PUSH_BODY_BYTES) {
      return c.text(`413 Payload Too Large: a push body may be at most ${MAX_PUSH_BODY_BYTES} bytes.\n`, HttpStatus.PayloadTooLarge);
    }
    const messages = readMessages(text);
    if (typeof messages === "string") return c.text(`400 Bad Request: ${messages}.\n`, HttpStatus.BadRequest);
    let result;
    try {
      result = await options.hubs(c).push(userId, messages, idempotencyKey === undefined ? {} : { idempotencyKey });
    } catch (error) {
      // Refused before it was logged: nothing was delivered, no seq was taken.
      if (isUnserializablePayload(error)) return c.text(`400 Bad Request: ${(error as Error).message}.\n`, HttpStatus.BadRequest);
      throw error;
    }
    return c.json({ seq: result.seqs.at(-1) ?? null, seqs: result.seqs, delivered: result.delivered, duplicate: result.duplicate });
  };
}

/**
 * Whether `key` is a usable `Idempotency-Key`: the hubs' one rule for a key
 * (`isIdempotencyKeyString`, 1 to 200 characters), in printable ASCII
 * without spaces, as a header carries it.
 */
export function isIdempotencyKey(key: string): boolean {
  return isIdempotencyKeyString(key) && PRINTABLE_ASCII.test(key);
}

const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;

/** The messages of a push body, or what is wrong with it. */
function readMessages(text: string): unknown[] | string {
  const body = readJsonObject(text, {
    notJson: 'body must be JSON: {"data": …} or {"messages": […]}',
    notObject: 'body must be a JSON object: {"data": …} or {"messages": […]}',
  });
  if (typeof body === "string") return body;
  const { data, messages } = body;
  if (messages !== undefined) {
    if (data !== undefined) return 'send either "data" or "messages", not both';
    if (!Array.isArray(messages) || messages.length === 0) return '"messages" must be a non-empty array';
    if (messages.length > MAX_PUSH_BATCH) return `at most ${MAX_PUSH_BATCH} messages per push`;
    return messages;
  }
  if (data === undefined) return 'body needs "data" (one message) or "messages" (a batch)';
  return [data];
}
