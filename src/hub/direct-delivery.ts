import { isValidUserId } from "../edge/auth.ts";
import { serializeDelivery, type SerializedDelivery } from "../protocol/delivery-frame.ts";
import {
  checkUserDelivery,
  type DirectDelivery,
  DirectDeliveryRateLimitedError,
  type DirectRefusal,
  InvalidUserIdError,
  isDirectDelivery,
  type LoggedDelivery,
  type PeerHubs,
  PeerHubsMissingError,
  type UserDeliveryOptions,
  type UserDeliveryResult,
} from "./user-delivery.ts";
import { directKey } from "./idempotency-key.ts";

/** What the two sides of a delivery between users need of a hub: log one delivery (with its origin) under a key, and send it to the user's sockets. */
export type LogAndSend = (entry: SerializedDelivery, idempotencyKey: string | undefined) => Promise<LoggedDelivery>;

/**
 * The sender's side of `hub.users.deliver`: checks the arguments, serializes
 * the payload once, hands it to the recipient's hub (one call through
 * `peers`), then, with `copy`, logs the sender's copy itself. The copy comes
 * after the recipient answered, so a failed delivery leaves no copy behind,
 * and a retry with the same key after a copy failed writes the copy then
 * (the recipient's side answers `duplicate` with its earlier seq).
 *
 * @throws {InvalidUserIdError} when `toUser` cannot name a user.
 * @throws {InvalidIdempotencyKeyError} (a RangeError) for an idempotency key that is not a string of 1 to 200 characters.
 * @throws {UnserializablePayloadError} when `data` has no JSON form.
 * @throws {PeerHubsMissingError} when the host reaches no other hubs.
 * @throws {DirectDeliveryRateLimitedError} when the recipient's hub refused it: this sender's deliveries to that user passed their rate.
 */
export async function deliverToUser(
  fromUser: string,
  peers: PeerHubs | undefined,
  logAndSend: LogAndSend,
  toUser: string,
  data: unknown,
  options: UserDeliveryOptions = {},
): Promise<UserDeliveryResult> {
  checkUserDelivery(toUser, options);
  const { json } = serializeDelivery({ data });
  const key = options.idempotencyKey;
  const from = options.from ? { from: options.from } : {};
  if (toUser === fromUser) {
    // A note to self: one delivery, in the one log, with no call to another hub.
    return await logAndSend({ data, json, ...from, fromUser, toUser }, key === undefined ? undefined : directKey("to", toUser, key));
  }
  if (!peers) throw new PeerHubsMissingError();
  const delivered = await peers.deliverDirect(toUser, { fromUser, json, ...(key === undefined ? {} : { idempotencyKey: key }) });
  if ("refused" in delivered) throw new DirectDeliveryRateLimitedError(toUser, delivered.retryAfterMs);
  if (!options.copy) return delivered;
  const copy = await logAndSend({ data, json, ...from, toUser }, key === undefined ? undefined : directKey("to", toUser, key));
  return { ...delivered, copy };
}

/** How the recipient's side counts each sender's deliveries (see {@link receiveDirect}). */
export interface DirectSenders {
  /** Counts one delivery from `fromUser`: 0 when it may go in, else milliseconds until one more may. */
  admit(fromUser: string): number;
  /** Gives back the count of a delivery that logged nothing new (a retry). */
  unused(fromUser: string): void;
  /** The seqs the log remembers for a key (`DeliveryLog.remembered`), or null; absent when the log cannot say. */
  remembered?: ((idempotencyKey: string) => Promise<readonly number[] | null>) | undefined;
}

/**
 * The recipient's side: logs what another user's hub sent with this user's
 * next seq, under the sender's key kept per sender, and sends it to this
 * user's sockets. It runs no application code, so nothing here can call back
 * into the sender's hub. `senders` counts each sender's deliveries, so that
 * no one sender can fill this user's log: `admit` says how long the sender
 * must wait (0: it may deliver now), `unused` gives back the count of a
 * retry that logged nothing new. A delivery the count refuses is still
 * answered as a duplicate when its key was already logged (`remembered`,
 * asked only then): a retry is not refused for the quota it no longer needs.
 *
 * @throws {InvalidUserIdError} when the delivery's `fromUser` cannot name a user.
 * @throws {TypeError} when the delivery is not one (`json` is not JSON text).
 */
export async function receiveDirect(
  logAndSend: LogAndSend,
  delivery: DirectDelivery,
  senders: DirectSenders = { admit: () => 0, unused: () => {} },
): Promise<LoggedDelivery | DirectRefusal> {
  if (!isValidUserId(delivery?.fromUser)) throw new InvalidUserIdError(delivery?.fromUser);
  if (!isDirectDelivery(delivery)) throw new TypeError("not a direct delivery: it needs fromUser, json (JSON text) and an optional idempotencyKey string");
  const key = delivery.idempotencyKey === undefined ? undefined : directKey("from", delivery.fromUser, delivery.idempotencyKey);
  const wait = senders.admit(delivery.fromUser);
  if (wait > 0) {
    const seqs = key === undefined || !senders.remembered ? null : await senders.remembered(key);
    if (seqs && seqs.length > 0) return { seq: seqs[0]!, delivered: 0, duplicate: true };
    return { refused: "rate_limited", retryAfterMs: wait };
  }
  const data = JSON.parse(delivery.json) as unknown;
  const logged = await logAndSend({ data, json: delivery.json, fromUser: delivery.fromUser }, key);
  if (logged.duplicate) senders.unused(delivery.fromUser);
  return logged;
}
