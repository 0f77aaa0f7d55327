import { isValidUserId } from "../edge/auth.ts";
import { checkIdempotencyKey, isIdempotencyKeyString, MAX_IDEMPOTENCY_KEY_CHARS } from "./idempotency-key.ts";

/**
 * Delivering from one user's hub into another user's log
 * (`hub.users.deliver`): the options and result an application sees, the
 * message as it crosses from hub to hub, and the interface through which a
 * host reaches the other hub (Durable Object RPC on Cloudflare, the
 * namespace on Deno).
 *
 * @module
 */

/** The longest idempotency key `hub.users.deliver` takes: {@link MAX_IDEMPOTENCY_KEY_CHARS}, the bound of every key. */
export const MAX_USER_DELIVERY_KEY_CHARS = MAX_IDEMPOTENCY_KEY_CHARS;

/** Options of `hub.users.deliver`. */
export interface UserDeliveryOptions {
  /**
   * Makes a retry harmless: a key this sender already used for this
   * recipient (within the log's retention age) delivers nothing new, to the
   * recipient or to the sender's copy. Kept per sender, so no other user can
   * use it up. 1 to {@link MAX_USER_DELIVERY_KEY_CHARS} characters; for a
   * client's retried frame, the client's own message id.
   */
  readonly idempotencyKey?: string;
  /**
   * Also log a copy in the sender's own log, with `toUser`, and send it to
   * the sender's sockets, so that the sender's other devices show (and on
   * resume replay) what it sent. Written by the sender's hub after the
   * recipient's hub answered, never by the recipient.
   * @default false
   */
  readonly copy?: boolean;
  /** The sender's connection that sent it, on the sender's copy (never on the recipient's: a connection id is the sender's business). */
  readonly from?: string;
}

/** What one delivery into a user's log did. */
export interface LoggedDelivery {
  /** Its seq in that user's log (the earlier one when `duplicate`). */
  readonly seq: number;
  /** Sockets of that user that got it live (0 when `duplicate`). */
  readonly delivered: number;
  /** The idempotency key had been used: nothing new was delivered. */
  readonly duplicate: boolean;
}

/** What `hub.users.deliver` did: the recipient's delivery, and with `copy`, the sender's. */
export interface UserDeliveryResult extends LoggedDelivery {
  /** With `copy: true`, the copy in the sender's own log (absent for a delivery to oneself, which is one delivery). */
  readonly copy?: LoggedDelivery;
}

/** A delivery as it crosses from the sender's hub to the recipient's: only what the sender's hub vouches for. */
export interface DirectDelivery {
  /** The sender: the user id of the hub that sends it, never anything a client said. */
  readonly fromUser: string;
  /** The payload's JSON, made once by the sender's hub. */
  readonly json: string;
  /** The sender's key; the recipient keeps it under the sender's id (`directKey`, in idempotency-key.ts). */
  readonly idempotencyKey?: string;
}

/**
 * How a hub reaches other users' hubs: the host provides it
 * (`durableObjectHubs` over RPC on Cloudflare, `LocalHubNamespace` on Deno).
 * The recipient's hub logs the delivery with its next seq and sends it to its
 * sockets; it runs no application code for it, so it never calls back into
 * the sender.
 */
export interface PeerHubs {
  deliverDirect(userId: string, delivery: DirectDelivery): Promise<LoggedDelivery | DirectRefusal>;
}

/**
 * A recipient's hub refused a delivery: its sender put more into this
 * user's log in the last minute than `DIRECT_DELIVERIES_PER_MINUTE` allows.
 * An answer, not an error, so that it crosses an RPC whole.
 */
export interface DirectRefusal {
  readonly refused: "rate_limited";
  /** How long until the sender may deliver to this user again, in milliseconds. */
  readonly retryAfterMs: number;
}

/** `hub.users.deliver` was refused by the recipient's hub ({@link DirectRefusal}); a handler that lets it escape answers `rate_limited`. */
export class DirectDeliveryRateLimitedError extends Error {
  override readonly name = "DirectDeliveryRateLimitedError";
  readonly toUser: string;
  readonly retryAfterMs: number;

  constructor(toUser: string, retryAfterMs: number, options: { cause?: unknown } = {}) {
    super(`more deliveries to ${JSON.stringify(toUser.slice(0, 64))} in a minute than it takes from one sender; retry in ${Math.ceil(retryAfterMs / 1000)} s`, options);
    this.toUser = toUser;
    this.retryAfterMs = retryAfterMs;
  }
}

/** A user id that cannot name a user (1–128 characters from `A-Z a-z 0-9 . _ @ : + - |`). */
export class InvalidUserIdError extends TypeError {
  override readonly name = "InvalidUserIdError";
  /** The refused id, cut to 64 characters. */
  readonly userId: string;

  constructor(userId: unknown, options: { cause?: unknown } = {}) {
    const shown = typeof userId === "string" ? JSON.stringify(userId.slice(0, 64)) : typeof userId;
    super(`not a valid user id: ${shown} (1 to 128 characters from A-Z a-z 0-9 . _ @ : + - |)`, options);
    this.userId = typeof userId === "string" ? userId.slice(0, 64) : String(typeof userId);
  }
}

/**
 * Checks what `hub.users.deliver` was given.
 *
 * @throws {InvalidUserIdError} for a user id that cannot name a user.
 * @throws {InvalidIdempotencyKeyError} (a RangeError) for an idempotency key that is not 1 to {@link MAX_USER_DELIVERY_KEY_CHARS} characters.
 */
export function checkUserDelivery(userId: unknown, options: UserDeliveryOptions): asserts userId is string {
  checkUserId(userId);
  checkIdempotencyKey(options.idempotencyKey);
}

/**
 * Checks a user id a caller hands a hub namespace (`push`, `disconnect`):
 * the routes check theirs, and a namespace called from code must not log
 * under an id no route could name.
 *
 * @throws {InvalidUserIdError} when `userId` cannot name a user.
 */
export function checkUserId(userId: unknown): asserts userId is string {
  if (!isValidUserId(userId)) throw new InvalidUserIdError(userId);
}

/** A hub was asked to deliver to another user, but its host reaches no other users' hubs (a `HubHost` without `users`). */
export class PeerHubsMissingError extends Error {
  override readonly name = "PeerHubsMissingError";

  constructor(options: { cause?: unknown } = {}) {
    super("this hub's host reaches no other users' hubs (HubHost.users is not set)", options);
  }
}

/** Whether `value` has a {@link DirectDelivery}'s shape (its `fromUser` is checked separately): a hub checks what reaches it over RPC. */
export function isDirectDelivery(value: unknown): value is DirectDelivery {
  if (typeof value !== "object" || value === null) return false;
  const { fromUser, json, idempotencyKey } = value as Record<string, unknown>;
  if (typeof fromUser !== "string" || typeof json !== "string") return false;
  return idempotencyKey === undefined || isIdempotencyKeyString(idempotencyKey);
}
