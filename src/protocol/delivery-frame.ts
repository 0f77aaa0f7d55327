import type { Delivery, NewDelivery } from "../hub/delivery-log.ts";
import type { MessageFrame } from "./frames.ts";

/** How every {@link UnserializablePayloadError}'s message begins: Workers RPC keeps a `TypeError`'s message, not its class. */
export const UNSERIALIZABLE_PAYLOAD_PREFIX = "payload cannot be serialized as JSON";

/**
 * A delivery's payload has no JSON form: it nests too deeply for
 * `JSON.stringify`, holds a BigInt, or is a function. It is refused before
 * the log sees it, so it never takes a sequence number.
 */
export class UnserializablePayloadError extends TypeError {
  override readonly name = "UnserializablePayloadError";

  constructor(detail: string, options: { cause?: unknown } = {}) {
    super(`${UNSERIALIZABLE_PAYLOAD_PREFIX}: ${detail}`, options);
  }
}

/** Whether `error` is an {@link UnserializablePayloadError}, also after crossing Workers RPC (which keeps only a TypeError's message). */
export function isUnserializablePayload(error: unknown): boolean {
  return error instanceof UnserializablePayloadError || (error instanceof TypeError && error.message.startsWith(UNSERIALIZABLE_PAYLOAD_PREFIX));
}

/** A delivery with its payload's JSON, made once and used for the log's bytes and for every socket's frame. */
export interface SerializedDelivery extends NewDelivery {
  readonly json: string;
}

/**
 * Serializes a delivery's payload once, before it is logged (`undefined` is
 * `null`, as the log keeps it).
 *
 * @throws {UnserializablePayloadError} when the payload has no JSON form.
 *
 * @example
 * ```ts
 * serializeDelivery({ data: { text: "hi" } }).json; // '{"text":"hi"}'
 * serializeDelivery({ data: 1n }); // throws UnserializablePayloadError
 * ```
 */
export function serializeDelivery(entry: NewDelivery): SerializedDelivery {
  return { ...entry, json: payloadJson(entry.data) };
}

/**
 * A payload's JSON, as a delivery or a signal carries it (`null` for
 * undefined).
 *
 * @throws {UnserializablePayloadError} for a payload with no JSON form.
 */
export function payloadJson(data: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(data ?? null);
  } catch (error) {
    // V8 throws RangeError for nesting past its stack, TypeError for a BigInt or a cycle.
    const detail = error instanceof RangeError ? "it nests too deeply" : error instanceof Error ? error.message.split("\n")[0]! : String(error);
    throw new UnserializablePayloadError(detail, { cause: error });
  }
  if (json === undefined) throw new UnserializablePayloadError(`a ${typeof data} has no JSON form`);
  return json;
}

/**
 * The `message` frame of a logged delivery, built around its payload's JSON
 * instead of stringifying the payload again. Same fields, same order as
 * `JSON.stringify` of a {@link MessageFrame}.
 */
export function messageFrameText(delivery: Delivery, json: string): string {
  const from = delivery.from ? `,"from":${quoted(delivery.from)}` : "";
  const fromUser = delivery.fromUser ? `,"fromUser":${JSON.stringify(delivery.fromUser)}` : "";
  const toUser = delivery.toUser ? `,"toUser":${JSON.stringify(delivery.toUser)}` : "";
  return `{"type":"message","seq":${delivery.seq},"data":${json},"at":${delivery.at}${from}${fromUser}${toUser}}`;
}

/** The `signal` frame around a payload's JSON: same fields, same order as `JSON.stringify` of a `SignalFrame`. */
export function signalFrameText(json: string, from?: string): string {
  return `{"type":"signal","data":${json}${from ? `,"from":${quoted(from)}` : ""}}`;
}

/** The last connection id quoted, and its JSON: an echo or a burst quotes the same one frame after frame. */
let lastQuoted = { text: "", json: '""' };

/** `JSON.stringify(text)`, remembered for the last text asked. */
function quoted(text: string): string {
  if (lastQuoted.text !== text) lastQuoted = { text, json: JSON.stringify(text) };
  return lastQuoted.json;
}

/** The `message` frame of a delivery read back from the log (a replay). */
export function messageText(delivery: Delivery): string {
  const frame: MessageFrame = {
    type: "message",
    seq: delivery.seq,
    data: delivery.data,
    at: delivery.at,
    ...(delivery.from ? { from: delivery.from } : {}),
    ...(delivery.fromUser ? { fromUser: delivery.fromUser } : {}),
    ...(delivery.toUser ? { toUser: delivery.toUser } : {}),
  };
  return JSON.stringify(frame);
}
