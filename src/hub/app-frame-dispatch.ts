import { UnserializablePayloadError } from "../protocol/delivery-frame.ts";
import { answerTo, type ClientFrame, errorFrame, ErrorCode, type ErrorFrame } from "../protocol/frames.ts";
import { ConnectionStateTooLargeError } from "./connection-state.ts";
import { runFrameHandler } from "./frame-schema.ts";
import { type Connection, FrameError, type HubApp, type HubContext } from "./hub-app.ts";
import { logFailure } from "./log-failure.ts";
import { DirectDeliveryRateLimitedError, InvalidUserIdError } from "./user-delivery.ts";
import type { Sender } from "./sender.ts";

/**
 * Hands a parsed frame to the application's handler for its type, and
 * answers on the socket's `sender` when it cannot be handled: `unknown_type`
 * for a type with no handler, `invalid_frame` for a frame the handler (or
 * its schema) refused, a payload with no JSON form or a user id that names
 * no user (`hub.users.deliver`), `rate_limited` (with `retryAfterMs`) for a
 * delivery to another user that user's hub refused for its sender's rate, `state_too_large` for
 * connection state past its bound, `handler_failed` (and one log line) for
 * anything else the handler threw. Each answer carries the frame's `id`
 * when it had one (`answerTo`). The socket stays open in every case.
 */
export function dispatchAppFrame(
  app: HubApp,
  frame: ClientFrame,
  sender: Sender,
  connection: Connection,
  hub: HubContext,
): Promise<void> {
  const frames = app.frames;
  const handler = frames && Object.hasOwn(frames, frame.type) ? frames[frame.type] : undefined;
  if (!handler) {
    return sender.send(JSON.stringify(answerTo(frame, errorFrame(ErrorCode.UnknownType, `unknown frame type ${JSON.stringify(frame.type.slice(0, 64))}`)))).then(nothing);
  }
  // Not an async function: the handler's own promise, with only the answer to a failure chained on it, is
  // what every application frame costs.
  let result: void | Promise<unknown>;
  try {
    result = runFrameHandler(handler, frame, connection, hub);
  } catch (error) {
    return answerFailure(error, frame, sender);
  }
  // A handler that finished as it returned has nothing left to wait for or to fail.
  if (result === undefined) return DONE;
  return Promise.resolve(result).then(nothing, (error: unknown) => answerFailure(error, frame, sender));
}

/** The error frame for a handler that threw or rejected; the socket stays open. */
function answerFailure(error: unknown, frame: ClientFrame, sender: Sender): Promise<void> {
  let answer: ErrorFrame;
  if (error instanceof DirectDeliveryRateLimitedError) {
    answer = { ...errorFrame(ErrorCode.RateLimited, error.message), retryAfterMs: error.retryAfterMs };
  } else if (error instanceof FrameError || error instanceof UnserializablePayloadError || error instanceof InvalidUserIdError) {
    answer = errorFrame(ErrorCode.InvalidFrame, error.message);
  } else if (error instanceof ConnectionStateTooLargeError) {
    answer = errorFrame(ErrorCode.StateTooLarge, `the "${frame.type}" handler's ${error.message}`);
  } else {
    logFailure(`frame handler "${frame.type}"`, error);
    answer = errorFrame(ErrorCode.HandlerFailed, `the "${frame.type}" handler failed; what it did before it failed stands`);
  }
  return sender.send(JSON.stringify(answerTo(frame, answer))).then(nothing);
}

function nothing(): void {}

/** What a handler that returned nothing is answered with: one settled promise, not a new one each frame. */
const DONE: Promise<void> = Promise.resolve();
