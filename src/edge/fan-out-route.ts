import type { Context, Env } from "hono";
import { ConfigError } from "../hub/config.ts";
import { HttpStatus } from "../protocol/http-status.ts";
import { utf8Length } from "../protocol/utf8-length.ts";
import { isValidUserId } from "./auth.ts";
import {
  DEFAULT_DIRECT_RECIPIENTS,
  failedForThePayload,
  MAX_FAN_OUT_BODY_BYTES,
  MAX_FAN_OUT_DATA_BYTES,
  MAX_FAN_OUT_DATA_DEPTH,
  MAX_FAN_OUT_RECIPIENTS,
  type FanOutQueue,
  nestsDeeperThan,
  pushToEach,
  queuedBatches,
} from "./fan-out.ts";
import { isIdempotencyKey, type PushRouteOptions, refuseUnlessServerKey } from "./push-route.ts";
import { readJsonObject } from "./json-body.ts";

/** What `POST /messages` needs beyond the push route's options. */
export interface FanOutRouteOptions<E extends Env> extends PushRouteOptions<E> {
  /** The queue that takes lists longer than `directRecipients`; absent, such lists get 413. */
  fanOutQueue?: (c: Context<E>) => FanOutQueue | undefined;
  /** Users pushed to directly, by the request itself. Default {@link DEFAULT_DIRECT_RECIPIENTS}. */
  directRecipients?: number;
}

/** The answer of `POST /messages`. */
export interface FanOutAnswer {
  /** Distinct users named (duplicates in the list collapsed). */
  readonly recipients: number;
  /** Users whose log took the data during this request. */
  readonly delivered: number;
  /** Users whose log already had it under this `Idempotency-Key`: nothing new. */
  readonly duplicates: number;
  /** Users handed to the queue: each log takes the data once, soon after. */
  readonly queued: number;
  /** Only with 503: users that could not be reached; retry the request with the same `Idempotency-Key`. */
  readonly failed?: readonly string[];
}

/**
 * `POST /messages`: a server (never a user) pushes one piece of data to many
 * users. Body `{"userIds": [...], "data": X}` and a required
 * `Idempotency-Key` header; each listed user's log takes `data` once, however
 * often the request (or a queued part of it) is retried. Up to
 * `directRecipients` users are pushed to at once by the request (200);
 * longer lists go to the queue in messages of 100 users (202). Answers a
 * {@link FanOutAnswer}.
 */
export function fanOutRoute<E extends Env>(options: FanOutRouteOptions<E>): (c: Context<E>) => Promise<Response> {
  const directRecipients = options.directRecipients ?? DEFAULT_DIRECT_RECIPIENTS;
  return async (c: Context<E>): Promise<Response> => {
    const refused = await refuseUnlessServerKey(c, options);
    if (refused) return refused;
    const key = c.req.header("Idempotency-Key");
    if (key === undefined) {
      return c.text("400 Bad Request: POST /messages needs an Idempotency-Key header (1-200 printable ASCII characters): a retry with the same key delivers nothing twice.\n", HttpStatus.BadRequest);
    }
    if (!isIdempotencyKey(key)) return c.text("400 Bad Request: Idempotency-Key must be 1-200 printable ASCII characters.\n", HttpStatus.BadRequest);
    const text = await c.req.text();
    if (utf8Length(text) > MAX_FAN_OUT_BODY_BYTES) {
      return c.text(`413 Payload Too Large: a POST /messages body may be at most ${MAX_FAN_OUT_BODY_BYTES} bytes.\n`, HttpStatus.PayloadTooLarge);
    }
    const push = readFanOutBody(text);
    if (typeof push === "string") return c.text(`400 Bad Request: ${push}.\n`, HttpStatus.BadRequest);
    const { userIds, data } = push;
    if (userIds.length > MAX_FAN_OUT_RECIPIENTS) {
      return c.text(`413 Payload Too Large: "userIds" names ${userIds.length} distinct users; at most ${MAX_FAN_OUT_RECIPIENTS} a request.\n`, HttpStatus.PayloadTooLarge);
    }
    let dataBytes: number;
    try {
      dataBytes = utf8Length(JSON.stringify(data));
    } catch {
      // JSON.parse takes nesting that JSON.stringify (and a hub) cannot.
      return c.text('400 Bad Request: "data" nests too deeply to be delivered.\n', HttpStatus.BadRequest);
    }
    if (dataBytes > MAX_FAN_OUT_DATA_BYTES) {
      return c.text(`413 Payload Too Large: "data" may be at most ${MAX_FAN_OUT_DATA_BYTES} bytes of JSON.\n`, HttpStatus.PayloadTooLarge);
    }
    if (nestsDeeperThan(data, MAX_FAN_OUT_DATA_DEPTH)) {
      return c.text(`400 Bad Request: "data" nests deeper than ${MAX_FAN_OUT_DATA_DEPTH} levels of arrays and objects.\n`, HttpStatus.BadRequest);
    }
    // A host that can tell its hubs are misconfigured throws ConfigError here (500 naming it), before anything is accepted.
    const hubs = options.hubs(c);
    if (userIds.length <= directRecipients) {
      const outcome = await pushToEach(hubs, userIds, data, key);
      // No retry or queue can deliver to a hub whose configuration cannot be used: answered as the error it is.
      const misconfigured = outcome.failed.find((failure) => failure.error instanceof ConfigError);
      if (misconfigured) throw misconfigured.error;
      if (failedForThePayload(outcome)) {
        const detail = (outcome.failed[0]!.error as Error).message;
        return c.text(`400 Bad Request: ${detail}.\n`, HttpStatus.BadRequest);
      }
      const answer = { recipients: userIds.length, delivered: outcome.delivered, duplicates: outcome.duplicates, queued: 0 };
      if (outcome.failed.length === 0) return c.json(answer satisfies FanOutAnswer, HttpStatus.OK);
      const queue = options.fanOutQueue?.(c);
      const failed = outcome.failed.map((failure) => failure.userId);
      if (queue) {
        // The queue retries them with the same per-user key: a user a failed call did reach gets nothing twice.
        const sent = await sendToQueue(queue, key, failed, data);
        if (sent === failed.length) return c.json({ ...answer, queued: sent } satisfies FanOutAnswer, HttpStatus.Accepted);
      }
      console.error(`userhub: POST /messages: ${failed.length} of ${userIds.length} users could not be reached`);
      return c.json({ ...answer, failed } satisfies FanOutAnswer, HttpStatus.ServiceUnavailable, { "Retry-After": "1" });
    }
    const queue = options.fanOutQueue?.(c);
    if (!queue) {
      return c.text(
        `413 Payload Too Large: "userIds" names ${userIds.length} users; this server pushes to at most ${directRecipients} a request itself, and longer lists need a queue binding, which it has none of (see the README, "Push to many users"). Split the list, or bind a queue.\n`,
        HttpStatus.PayloadTooLarge,
      );
    }
    const queued = await sendToQueue(queue, key, userIds, data);
    if (queued < userIds.length) {
      // Whatever was queued will be delivered; the same request again queues the rest and delivers nothing twice.
      return c.json(
        { recipients: userIds.length, delivered: 0, duplicates: 0, queued, failed: userIds.slice(queued) } satisfies FanOutAnswer,
        HttpStatus.ServiceUnavailable,
        { "Retry-After": "1" },
      );
    }
    return c.json({ recipients: userIds.length, delivered: 0, duplicates: 0, queued } satisfies FanOutAnswer, HttpStatus.Accepted);
  };
}

/** Sends `userIds` to the queue in batches; how many users were queued before a `sendBatch` failed (all of them when none did). */
async function sendToQueue(queue: FanOutQueue, key: string, userIds: readonly string[], data: unknown): Promise<number> {
  let queued = 0;
  for (const batch of queuedBatches(key, userIds, data)) {
    try {
      await queue.sendBatch(batch.map((body) => ({ body, contentType: "json" as const })));
    } catch (error) {
      console.error(`userhub: POST /messages: the queue refused a batch: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
      return queued;
    }
    for (const message of batch) queued += message.userIds.length;
  }
  return queued;
}

/** The distinct users and the data of a `POST /messages` body, or what is wrong with it. */
export function readFanOutBody(text: string): { userIds: string[]; data: unknown } | string {
  const body = readJsonObject(text, {
    notJson: 'body must be JSON: {"userIds": ["alice", …], "data": …}',
    notObject: 'body must be a JSON object: {"userIds": ["alice", …], "data": …}',
  });
  if (typeof body === "string") return body;
  const { userIds, data, messages } = body;
  if (messages !== undefined) return 'POST /messages takes one "data" for every user, not "messages" (a batch for one user goes to POST /users/:userId/messages)';
  if (!Array.isArray(userIds) || userIds.length === 0) return '"userIds" must be a non-empty array of user ids';
  if (data === undefined) return 'body needs "data": what every listed user gets';
  const distinct = new Set<string>();
  for (const [index, userId] of userIds.entries()) {
    if (!isValidUserId(userId)) return `userIds[${index}] is not a valid user id (1-128 characters from A-Z a-z 0-9 . _ @ : + - |)`;
    distinct.add(userId);
  }
  return { userIds: [...distinct], data };
}
