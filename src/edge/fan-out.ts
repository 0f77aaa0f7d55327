import type { HubNamespace } from "../hub/hub-namespace.ts";
import { isIdempotencyKeyString } from "../hub/idempotency-key.ts";
import type { PushOptions } from "../hub/push.ts";
import { isUnserializablePayload } from "../protocol/delivery-frame.ts";
import { isValidUserId } from "./auth.ts";

/** The most distinct users one `POST /messages` may name. */
export const MAX_FAN_OUT_RECIPIENTS = 10_000;
/** The largest `POST /messages` body accepted, in bytes. */
export const MAX_FAN_OUT_BODY_BYTES = 1024 * 1024;
/**
 * The largest `data` of a `POST /messages`, in bytes of its JSON. A queued
 * message carries `data` beside up to {@link USERS_PER_QUEUED_MESSAGE} user
 * ids (at most 128 characters each) and must stay under Cloudflare Queues'
 * 128 KB per message.
 */
export const MAX_FAN_OUT_DATA_BYTES = 64 * 1024;
/**
 * The deepest nesting of arrays and objects a `POST /messages` `data` may
 * have. Workers RPC overflows its stack between 2,000 and 5,000 levels
 * (measured in workerd), and a queued push would learn it only in the
 * consumer, after the request had answered 202: so it is refused up front.
 */
export const MAX_FAN_OUT_DATA_DEPTH = 1000;
/**
 * Users a Worker's `POST /messages` pushes to itself, one Durable Object call
 * each, before it hands the list to a queue instead: the 50 subrequests of a
 * Workers Free invocation. Raise it with the router's `directRecipients` on
 * Workers Paid (10,000 subrequests); Deno's `serve` pushes every list itself.
 */
export const DEFAULT_DIRECT_RECIPIENTS = 50;
/** Pushes in flight at once, in a request or a queue consumer: enough to overlap the calls, few enough not to swamp one isolate. */
export const FAN_OUT_CONCURRENCY = 16;
/** User ids per queued message: one consumer message is at most this many hub calls. */
export const USERS_PER_QUEUED_MESSAGE = 100;

/**
 * The body of one queued message of a push to many users: the request's
 * idempotency key, a slice of its users, and the data. A consumer that
 * reads it pushes `data` to each user with {@link fanOutPushOptions}.
 */
export interface FanOutMessage {
  /** The shape's version, so that a consumer can tell a message it cannot read. */
  readonly v: 1;
  /** The request's `Idempotency-Key`. */
  readonly key: string;
  readonly userIds: readonly string[];
  readonly data: unknown;
}

/**
 * The part of a Cloudflare Queues producer binding `POST /messages` uses
 * (structurally `Queue.sendBatch`). `contentType: "json"` keeps each
 * message's size what its JSON is.
 */
export interface FanOutQueue {
  sendBatch(messages: Iterable<{ body: FanOutMessage; contentType?: "json" }>): Promise<unknown>;
}

/**
 * The push options one user's hub is given for a push to many users: the
 * request's key, in the fan-out's own key scope. The same request key gives
 * the same options, so a retried request or a redelivered queue message
 * delivers nothing twice; the scope keeps these keys apart from those of
 * `POST /users/:userId/messages` (and of direct messages), whatever the
 * keys are.
 *
 * @example
 * ```ts
 * fanOutPushOptions("digest-2026-11-30"); // { idempotencyKey: "digest-2026-11-30", keyScope: "fan-out" }
 * ```
 */
export function fanOutPushOptions(requestKey: string): PushOptions {
  return { idempotencyKey: requestKey, keyScope: "fan-out" };
}

/** What pushing one piece of data to many users did, user by user. */
export interface FanOutOutcome {
  /** Users whose log took the data now. */
  readonly delivered: number;
  /** Users whose log already had it under this key (a retry): nothing new. */
  readonly duplicates: number;
  /** Users that could not be reached, with what went wrong: retry them with the same key. */
  readonly failed: readonly { readonly userId: string; readonly error: unknown }[];
}

/**
 * Pushes `data` to each of `userIds` with the per-user key of `requestKey`,
 * at most `concurrency` hub calls at a time. A hub that fails is reported in
 * `failed`, never thrown: the others go on.
 */
export async function pushToEach(
  hubs: HubNamespace,
  userIds: readonly string[],
  data: unknown,
  requestKey: string,
  concurrency: number = FAN_OUT_CONCURRENCY,
): Promise<FanOutOutcome> {
  const options = fanOutPushOptions(requestKey);
  let delivered = 0;
  let duplicates = 0;
  const failed: { userId: string; error: unknown }[] = [];
  await forEachBounded(userIds, concurrency, async (userId) => {
    try {
      const result = await hubs.push(userId, [data], options);
      if (result.duplicate) duplicates++;
      else delivered++;
    } catch (error) {
      failed.push({ userId, error });
    }
  });
  return { delivered, duplicates, failed };
}

/** Whether every failure is the payload's own fault (it has no form a hub can take), so that no retry can help. */
export function failedForThePayload(outcome: FanOutOutcome): boolean {
  return outcome.failed.length > 0 && outcome.failed.every((failure) => isUnserializablePayload(failure.error));
}

/** Whether `value` nests arrays and objects deeper than `limit` levels (counted without recursion, so any depth is safe to ask about). */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0) {
    const [item, depth] = pending.pop()!;
    if (typeof item !== "object" || item === null) continue;
    if (depth + 1 > limit) return true;
    for (const child of Array.isArray(item) ? item : Object.values(item)) pending.push([child, depth + 1]);
  }
  return false;
}

/** Runs `task` on every item, at most `limit` at a time, and settles when all have. */
export async function forEachBounded<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

/**
 * Splits a push into queue messages of at most {@link USERS_PER_QUEUED_MESSAGE}
 * users, and those into `sendBatch` calls within Cloudflare Queues' limits
 * (100 messages and 256 KB a call).
 */
export function queuedBatches(requestKey: string, userIds: readonly string[], data: unknown): FanOutMessage[][] {
  const batches: FanOutMessage[][] = [];
  let batch: FanOutMessage[] = [];
  let batchBytes = 0;
  for (let i = 0; i < userIds.length; i += USERS_PER_QUEUED_MESSAGE) {
    const message: FanOutMessage = { v: 1, key: requestKey, userIds: userIds.slice(i, i + USERS_PER_QUEUED_MESSAGE), data };
    const bytes = new TextEncoder().encode(JSON.stringify(message)).byteLength + QUEUE_MESSAGE_OVERHEAD_BYTES;
    if (batch.length > 0 && (batch.length === MAX_SEND_BATCH_MESSAGES || batchBytes + bytes > MAX_SEND_BATCH_BYTES)) {
      batches.push(batch);
      batch = [];
      batchBytes = 0;
    }
    batch.push(message);
    batchBytes += bytes;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/** Cloudflare Queues: at most 100 messages per `sendBatch`. */
const MAX_SEND_BATCH_MESSAGES = 100;
/** Cloudflare Queues: at most 256 KB (of 1,000 bytes) per `sendBatch`; kept under with room to spare. */
const MAX_SEND_BATCH_BYTES = 240_000;
/** Cloudflare Queues counts up to ~100 bytes of its own metadata against each message. */
const QUEUE_MESSAGE_OVERHEAD_BYTES = 100;

/** The {@link FanOutMessage} in a queued message's body, or null when the body is not one (not this queue's, or from a later version). */
export function readFanOutMessage(body: unknown): FanOutMessage | null {
  if (typeof body !== "object" || body === null) return null;
  const { v, key, userIds, data } = body as Partial<Record<keyof FanOutMessage, unknown>>;
  if (v !== 1 || !isIdempotencyKeyString(key) || !Array.isArray(userIds) || !userIds.every(isValidUserId) || data === undefined) return null;
  return { v, key, userIds: userIds as string[], data };
}
