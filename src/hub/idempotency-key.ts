/**
 * Idempotency keys: the one rule every caller's key follows (1 to 200
 * characters), and the form a user's log keeps each key under. Keys come
 * from three sources (pushes to the user, a push to many users, deliveries
 * between users), and each source's keys are kept in a form that no key of
 * another source can take, so that no caller's key is ever answered as
 * another's duplicate. The forms are made here and nowhere else.
 *
 * @module
 */

import { kindOf } from "./kind-of.ts";

/**
 * The longest idempotency key, in characters (UTF-16 units), wherever one is
 * given: a push (RPC or HTTP), `POST /messages`, `hub.users.deliver`.
 */
export const MAX_IDEMPOTENCY_KEY_CHARS = 200;

/**
 * Half of a UTF-16 surrogate pair without its other half: not a character.
 * A key with one is refused, because stores disagree on it: Deno KV keeps
 * each as U+FFFD, so "m\ud801" and "m\udc01" were one key there and two in
 * SQLite.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Whether `key` is an idempotency key a hub takes: a string of 1 to
 * {@link MAX_IDEMPOTENCY_KEY_CHARS} characters, with no lone surrogate. The one rule for every
 * caller; the HTTP routes also need it in printable ASCII, as a header
 * carries it (`isIdempotencyKey`).
 */
export function isIdempotencyKeyString(key: unknown): key is string {
  return typeof key === "string" && key.length >= 1 && key.length <= MAX_IDEMPOTENCY_KEY_CHARS && !LONE_SURROGATE.test(key);
}

/**
 * An idempotency key that is not a string of 1 to {@link MAX_IDEMPOTENCY_KEY_CHARS}
 * characters of well-formed Unicode. A RangeError, as `hub.users.deliver` always threw for one.
 *
 * @example
 * ```ts
 * try {
 *   await hubs.push("alice", ["hi"], { idempotencyKey: "" });
 * } catch (error) {
 *   if (error instanceof InvalidIdempotencyKeyError) console.log(error.message); // idempotencyKey must be a string of 1 to 200 characters, not 0 characters
 * }
 * ```
 */
export class InvalidIdempotencyKeyError extends RangeError {
  override readonly name = "InvalidIdempotencyKeyError";

  constructor(key: unknown, options: { cause?: unknown } = {}) {
    const given = typeof key !== "string" ? kindOf(key) : key.length >= 1 && key.length <= MAX_IDEMPOTENCY_KEY_CHARS ? "one with a lone surrogate (half of a UTF-16 pair)" : `${key.length} characters`;
    super(`idempotencyKey must be a string of 1 to ${MAX_IDEMPOTENCY_KEY_CHARS} characters of well-formed Unicode, not ${given}`, options);
  }
}

/**
 * Checks an optional idempotency key against {@link isIdempotencyKeyString}.
 *
 * @throws {InvalidIdempotencyKeyError} when `key` is given and is not a string of 1 to {@link MAX_IDEMPOTENCY_KEY_CHARS} characters.
 */
export function checkIdempotencyKey(key: unknown): asserts key is string | undefined {
  if (key !== undefined && !isIdempotencyKeyString(key)) throw new InvalidIdempotencyKeyError(key);
}

/** Where an idempotency key comes from: each source's keys are kept apart in a user's log. */
export type KeySource =
  /** A push to this user (`POST /users/:userId/messages`, the `push` RPC method, `HubNamespace.push`). */
  | { readonly kind: "push" }
  /** This user's part of a push to many users (`POST /messages` and its queue consumer). */
  | { readonly kind: "fan-out" }
  /** A delivery between users: `from` in the recipient's log, `to` in the sender's (its copy, or a note to self). */
  | { readonly kind: "direct"; readonly direction: "from" | "to"; readonly otherUser: string };

/** A push to many users: `fan-out:<key>`, the form such keys always had. */
const FAN_OUT_PREFIX = "fan-out:";
/** A delivery between users: `direct <from|to> <user id> <key>`, the form such keys always had (a user id has no space). */
const DIRECT_PREFIX = "direct ";
/** A push key that begins like a key of another source (or like this escape) is kept behind this. */
const ESCAPED_PUSH_PREFIX = "push ";
/** Every prefix a key kept by another source, or an escaped push key, begins with. */
const RESERVED_PREFIXES = [FAN_OUT_PREFIX, DIRECT_PREFIX, ESCAPED_PUSH_PREFIX] as const;

/**
 * The key a log keeps for `key` from `source`. A key of a push to many
 * users begins with `fan-out:`, a key between users with `direct `; a push's
 * key is kept as it is given (as it always was, so that a push retried
 * across an upgrade is still recognised), unless it begins with one of those
 * or with `push `: then it is kept as `push <key>`. So the three kinds never
 * share a key, and within each kind different keys stay different.
 *
 * @example
 * ```ts
 * logKey({ kind: "push" }, "order-42"); // "order-42"
 * logKey({ kind: "push" }, "fan-out:D1"); // "push fan-out:D1"
 * logKey({ kind: "fan-out" }, "D1"); // "fan-out:D1"
 * logKey({ kind: "direct", direction: "from", otherUser: "bob" }, "m1"); // "direct from bob m1"
 * ```
 */
export function logKey(source: KeySource, key: string): string {
  switch (source.kind) {
    case "fan-out":
      return FAN_OUT_PREFIX + key;
    case "direct":
      // A user id has no space (isValidUserId), so the user ends at the first space after the direction.
      return `${DIRECT_PREFIX}${source.direction} ${source.otherUser} ${key}`;
    case "push":
      return RESERVED_PREFIXES.some((prefix) => key.startsWith(prefix)) ? ESCAPED_PUSH_PREFIX + key : key;
  }
}

/**
 * The key a delivery between users is kept under in a log ({@link logKey}
 * of a `direct` source): the direction, the other user and the sender's key,
 * so that a key is one sender's for one recipient (another sender's same key
 * is another delivery) and never meets a push's.
 *
 * @example
 * ```ts
 * directKey("from", "alice", "m1"); // "direct from alice m1"
 * ```
 */
export function directKey(direction: "from" | "to", otherUser: string, key: string): string {
  return logKey({ kind: "direct", direction, otherUser }, key);
}
