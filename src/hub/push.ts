import { checkIdempotencyKey } from "./idempotency-key.ts";
import { kindOf } from "./kind-of.ts";

/** The most messages one push may carry, over HTTP and RPC alike. */
export const MAX_PUSH_BATCH = 100;
/** The options a push takes; any other field is refused, so that a misspelt `idempotencyKey` is not a push without one. */
const PUSH_OPTIONS: ReadonlySet<string> = new Set(["idempotencyKey", "keyScope"]);

/** What a push did. */
export interface PushResult {
  /** The sequence numbers assigned, in order (the earlier ones for a repeated idempotency key). */
  readonly seqs: readonly number[];
  /** Sockets of the user that received the whole push live (0 for a repeated key). */
  readonly delivered: number;
  /** The idempotency key had been used: nothing new was delivered. */
  readonly duplicate: boolean;
}

/** Options of a push. */
export interface PushOptions {
  /**
   * Makes a retried push harmless: a key seen within the log's retention age
   * is not delivered again. A string of 1 to 200 characters
   * (`MAX_IDEMPOTENCY_KEY_CHARS`).
   */
  readonly idempotencyKey?: string;
  /**
   * Whose keys `idempotencyKey` is among. `"fan-out"` is one user's part of
   * a push to many users (what `POST /messages` and its queue consumer give
   * each user's hub, with the request's key): such keys never meet those of
   * pushes to one user (`"push"`), nor either those of direct messages.
   * @default "push"
   */
  readonly keyScope?: "push" | "fan-out";
}

/**
 * A push whose arguments are not a push: `messages` is not an array, is
 * empty, holds more than {@link MAX_PUSH_BATCH} or an undefined one, or the
 * options are neither an object nor left out, have a field a push does not
 * take, or name an unknown `keyScope`. Nothing was logged, and no
 * idempotency key was used.
 *
 * @example
 * ```ts
 * try {
 *   await hubs.push("alice", []);
 * } catch (error) {
 *   if (error instanceof InvalidPushError) console.log(error.message); // a push needs at least one message: …
 * }
 * ```
 */
export class InvalidPushError extends TypeError {
  override readonly name = "InvalidPushError";
}

/**
 * Checks a push's arguments as they arrive (over RPC they are whatever the
 * caller sent). An empty `messages` is refused, as `POST
 * /users/:userId/messages` refuses an empty batch: it would deliver nothing
 * yet use up its idempotency key. Each message's JSON is checked where it
 * is made, before anything is logged (`UnserializablePayloadError`).
 *
 * @throws {InvalidPushError} when `messages` is not an array of 1 to {@link MAX_PUSH_BATCH} messages (none undefined), or `options` is neither an object nor undefined, has a field other than `idempotencyKey` and `keyScope`, or a `keyScope` other than "push" or "fan-out".
 * @throws {InvalidIdempotencyKeyError} (a RangeError) when `idempotencyKey` is not a string of 1 to 200 characters of well-formed Unicode.
 */
export function checkPush(messages: unknown, options: unknown): asserts messages is readonly unknown[] {
  if (!Array.isArray(messages)) throw new InvalidPushError(`a push needs an array of messages, not ${kindOf(messages)}`);
  if (messages.length === 0) throw new InvalidPushError("a push needs at least one message: an empty one would deliver nothing, yet use up its idempotency key");
  if (messages.length > MAX_PUSH_BATCH) throw new InvalidPushError(`a push carries at most ${MAX_PUSH_BATCH} messages, not ${messages.length}`);
  for (let i = 0; i < messages.length; i++) {
    // A hole, or undefined, has no JSON form: JSON.stringify would make it null, which is not what was sent.
    if (messages[i] === undefined) throw new InvalidPushError(`messages[${i}] is undefined: every message needs a JSON value`);
  }
  if (options === undefined) return;
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new InvalidPushError(`a push's options must be an object (or left out), not ${kindOf(options)}`);
  }
  for (const field of Object.keys(options)) {
    if (!PUSH_OPTIONS.has(field)) throw new InvalidPushError(`a push takes no option ${JSON.stringify(field.slice(0, 64))} (its options: ${[...PUSH_OPTIONS].join(", ")})`);
  }
  const { idempotencyKey, keyScope } = options as Record<string, unknown>;
  if (keyScope !== undefined && keyScope !== "push" && keyScope !== "fan-out") {
    throw new InvalidPushError(`keyScope must be "push" or "fan-out", not ${typeof keyScope === "string" ? JSON.stringify(keyScope.slice(0, 64)) : kindOf(keyScope)}`);
  }
  checkIdempotencyKey(idempotencyKey);
}
