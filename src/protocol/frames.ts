/**
 * The `userhub.v1` wire protocol: the frames each side sends, and the parser
 * that turns a client's text frame into a typed frame or a named problem.
 */
import { utf8Length } from "./utf8-length.ts";

/** The subprotocol every userhub socket speaks; the server selects it in the 101 answer. */
export const PROTOCOL = "userhub.v1";
/** The prefix that marks a credential inside `Sec-WebSocket-Protocol` (`bearer.<jwt>`). The server never echoes it. */
export const BEARER_PROTOCOL_PREFIX = "bearer.";
/** The prefix that marks a connect ticket inside `Sec-WebSocket-Protocol` (`ticket.<ticket>`); see ticket.ts. */
export const TICKET_PROTOCOL_PREFIX = "ticket.";

/** The heartbeat text a client sends; the runtime answers {@link HEARTBEAT_PONG} without waking the hub. */
export const HEARTBEAT_PING = "ping";
/** The runtime's answer to {@link HEARTBEAT_PING}. */
export const HEARTBEAT_PONG = "pong";

/** The codes an `error` frame carries. The socket stays open after each. */
export const ErrorCode = {
  /** The frame is not valid JSON. */
  MalformedJson: "malformed_json",
  /** The frame is JSON but not an object with a string `type`, or a field is missing or wrong. */
  InvalidFrame: "invalid_frame",
  /** The frame's `type` is not one the hub or its application handles. */
  UnknownType: "unknown_type",
  /** Binary frames are not part of `userhub.v1`; send text. */
  BinaryNotSupported: "binary_not_supported",
  /** The application's handler failed on this frame. Nothing is rolled back: a delivery it made before failing stands (a direct message whose copy failed reached its recipient; a retry with the same id delivers nothing twice). */
  HandlerFailed: "handler_failed",
  /** An in-band `auth` frame's token was refused; the socket keeps its old credentials. */
  AuthFailed: "auth_failed",
  /**
   * The socket sent more frames or bytes per second than its limit; the frame was not handled.
   * The error frame carries `retryAfterMs`; at most one is sent per second (frames refused in between are dropped silently).
   */
  RateLimited: "rate_limited",
  /** The handler set a `connection.state` larger than its limit (`MAX_CONNECTION_STATE_BYTES`); the state was not changed. */
  StateTooLarge: "state_too_large",
} as const;

/** One of the values of {@link ErrorCode}. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * The longest delay `setTimeout` and `setInterval` honour: 2^31 − 1 ms
 * (about 24.8 days); a longer one fires at once in browsers and Node. A
 * heartbeat setting may not pass it (clients time both with timers), and
 * every timer of userhub's own that waits longer waits in steps.
 */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** Heartbeat settings, announced in the welcome frame. */
export interface HeartbeatSettings {
  /** How often the client should send `ping`. */
  readonly intervalMs: number;
  /** After this long with no ping or message, the hub closes the socket. */
  readonly timeoutMs: number;
}

/** The server's first frame on every socket. */
export interface WelcomeFrame {
  readonly type: "welcome";
  readonly connectionId: string;
  readonly userId: string;
  /** This user's open sockets, this one included. */
  readonly connections: number;
  /** The latest sequence number delivered to this user (0 before the first). */
  readonly seq: number;
  /** The delivery log's epoch: a client that resumes sends it back, and a different one means the log was reset. */
  readonly epoch: string;
  /** When the socket's credentials expire (epoch ms; the hub closes it then with 4001), or null. */
  readonly expiresAt: number | null;
  readonly heartbeat: HeartbeatSettings;
  /** The largest frame the hub takes, in UTF-8 bytes: a larger one closes the socket with 1009. */
  readonly maxMessageBytes: number;
  /**
   * Present when the client said it acknowledges (`?ack=1`): delivery bytes it may leave
   * unacknowledged before the hub closes it with 4002. Acknowledge with {@link AckFrame}.
   */
  readonly maxUnackedBytes?: number;
}

/** A client's acknowledgment: it has processed every delivery up to `seq`. The hub answers nothing. */
export interface AckFrame {
  readonly type: "ack";
  readonly seq: number;
}

/** Sent after the welcome instead of a replay when what the client missed is no longer kept (or the log was reset). */
export interface ResetFrame {
  readonly type: "reset";
  readonly epoch: string;
  /** The oldest sequence number still kept (latest + 1 when none is). */
  readonly oldest: number;
  readonly latest: number;
}

/** The answer to a client's in-band `{"type":"auth","token":…}` that was accepted. */
export interface AuthFrame {
  readonly type: "auth";
  /** The socket's new credential expiry (epoch ms), or null. */
  readonly expiresAt: number | null;
}

/** A delivery to every socket of the user. */
export interface MessageFrame {
  readonly type: "message";
  readonly seq: number;
  readonly data: unknown;
  /** The connection that sent it, when a socket of this user did. */
  readonly from?: string;
  /** When the hub accepted it, epoch milliseconds. */
  readonly at: number;
  /** The user who sent it from their hub (`hub.users.deliver`), verified by that hub. */
  readonly fromUser?: string;
  /** On the sender's own copy of such a delivery: the user it went to. */
  readonly toUser?: string;
}

/**
 * An ephemeral frame to every socket of the user (typing, cursors, "seen"
 * marks): sent at once, never logged, so it has no seq and is not replayed
 * on resume. The demo app sends one for each `{"type":"signal","data":X}`.
 */
export interface SignalFrame {
  readonly type: "signal";
  readonly data: unknown;
  /** The connection that sent it, when a socket of this user did. */
  readonly from?: string;
}

/** A problem with a frame the client sent; the socket stays up. */
export interface ErrorFrame {
  readonly type: "error";
  readonly code: ErrorCode;
  readonly message: string;
  /** With `rate_limited`: milliseconds until a frame would be handled again. */
  readonly retryAfterMs?: number;
  /** The refused frame's own `id`, when it carried one (a string of 1 to {@link MAX_FRAME_ID_CHARS} characters): which of the client's frames this answers. */
  readonly id?: string;
}

/** The longest `id` of a client's frame that an error frame answering it carries back. */
export const MAX_FRAME_ID_CHARS = 128;

/**
 * Written just before every close frame the hub sends, with the same code
 * and reason. Some clients learn of a close only when the TCP connection
 * ends, which workerd delays by about 10 s after the close handshake (Node's
 * built-in WebSocket reported a 4003 that late): a client that reads this
 * acts on the close at once. Nothing follows it but the close frame.
 */
export interface ClosingFrame {
  readonly type: "closing";
  readonly code: number;
  readonly reason: string;
}

/** Any frame the server sends as JSON. */
export type ServerFrame = WelcomeFrame | MessageFrame | SignalFrame | ResetFrame | AuthFrame | ErrorFrame | ClosingFrame;

/** A client frame after parsing: an object with a string `type`, other fields as sent. */
export interface ClientFrame {
  readonly type: string;
  readonly [field: string]: unknown;
}

/** What parsing a client's text frame produced. */
export type ParsedFrame =
  | { readonly ok: true; readonly frame: ClientFrame }
  | { readonly ok: false; readonly error: ErrorFrame };

/**
 * Parses a client's text frame. Never throws: a bad frame becomes an
 * `error` frame naming the problem.
 *
 * @example
 * ```ts
 * const parsed = parseClientFrame('{"type":"send","data":"hi"}');
 * if (parsed.ok) console.log(parsed.frame.type); // "send"
 * ```
 */
export function parseClientFrame(text: string): ParsedFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: errorFrame(ErrorCode.MalformedJson, "frame is not valid JSON") };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, error: errorFrame(ErrorCode.InvalidFrame, "frame must be a JSON object") };
  }
  const type = (value as { type?: unknown }).type;
  if (typeof type !== "string" || type.length === 0) {
    return { ok: false, error: errorFrame(ErrorCode.InvalidFrame, 'frame needs a string "type"') };
  }
  return { ok: true, frame: value as ClientFrame };
}

/** Builds an `error` frame. */
export function errorFrame(code: ErrorCode, message: string): ErrorFrame {
  return { type: "error", code, message };
}

/**
 * `error` answering the client's `frame`, with the frame's `id` when it
 * carried a usable one, so that a client with several frames in flight can
 * tell which one was refused.
 *
 * @example
 * ```ts
 * answerTo({ type: "direct", to: "bob", data: 1, id: "m1" }, errorFrame(ErrorCode.InvalidFrame, "…")); // { type: "error", code: "invalid_frame", message: "…", id: "m1" }
 * ```
 */
export function answerTo(frame: ClientFrame, error: ErrorFrame): ErrorFrame {
  const id = frame.id;
  return typeof id === "string" && id.length > 0 && id.length <= MAX_FRAME_ID_CHARS ? { ...error, id } : error;
}

/** The size of a frame as it travels: UTF-8 bytes for text. */
export function frameBytes(data: string | ArrayBuffer | ArrayBufferView): number {
  return typeof data === "string" ? utf8Length(data) : data.byteLength;
}

/** Whether a frame is larger than `limit` bytes, encoding text only when its length leaves doubt. */
export function isLargerThan(data: string | ArrayBuffer | ArrayBufferView, limit: number): boolean {
  if (typeof data !== "string") return data.byteLength > limit;
  // A UTF-16 code unit is 1 to 3 UTF-8 bytes.
  if (data.length > limit) return true;
  if (data.length * 3 <= limit) return false;
  return frameBytes(data) > limit;
}
