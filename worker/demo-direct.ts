/**
 * The demo app's message from one user to another: a `direct` frame, which
 * the conformance suite, the bench and the demo page use.
 *
 * @module
 */
import { type FrameHandler, FrameError, InvalidUserIdError } from "../src/index.ts";

/** The most characters a direct frame's client message `id` may have. */
export const MAX_DIRECT_ID_CHARS = 128;

/** A client's direct message: `data` to every socket of `to`, and a copy to every socket of the sender. */
export interface DirectFrame {
  readonly type: "direct";
  /** The recipient's user id. */
  readonly to: string;
  readonly data: unknown;
  /** The client's message id: sending the same id again (a retry) delivers nothing new, to either side. */
  readonly id?: string;
}

/**
 * `{"type":"direct","to":"bob","data":X,"id"?:"m1"}` from alice: every
 * socket of bob gets `{"type":"message","seq":<bob's seq>,"data":X,
 * "fromUser":"alice",…}` and every socket of alice gets her copy, logged in
 * her own log, `{"type":"message","seq":<alice's seq>,"data":X,
 * "toUser":"bob","from":<the sending connection>,…}`. The same `id` again
 * delivers nothing new to either. A `to` that is not a user id, a missing
 * `data` or a bad `id` get an `invalid_frame` error naming the field.
 *
 * A direct to oneself is one delivery in one's own log, with `fromUser`
 * and `toUser` both oneself (a note to self): every socket gets it once.
 */
export const directFrame: FrameHandler = async (frame, connection, hub) => {
  if (typeof frame.to !== "string") throw new FrameError('a "direct" frame needs "to", the recipient\'s user id (a string)');
  if (!("data" in frame) || frame.data === undefined) throw new FrameError('a "direct" frame needs a "data" field');
  const id = frame.id;
  if (id !== undefined && (typeof id !== "string" || id.length === 0 || id.length > MAX_DIRECT_ID_CHARS)) {
    throw new FrameError(`"id" must be a string of 1 to ${MAX_DIRECT_ID_CHARS} characters (the client's message id)`);
  }
  try {
    await hub.users.deliver(frame.to, frame.data, { copy: true, from: connection.id, ...(id === undefined ? {} : { idempotencyKey: id }) });
  } catch (error) {
    if (error instanceof InvalidUserIdError) throw new FrameError(`"to" is ${error.message}`, { cause: error });
    // The hub's rule for keys, past the length checked above: well-formed Unicode (no lone surrogate).
    if (error instanceof RangeError) throw new FrameError(`"id" must be a string of 1 to ${MAX_DIRECT_ID_CHARS} characters of well-formed Unicode (the client's message id)`, { cause: error });
    throw error;
  }
};
