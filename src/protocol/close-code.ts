import { utf8Length } from "./utf8-length.ts";

/**
 * Every close code userhub sends, documented once.
 *
 * Codes below 4000 are RFC 6455's; the 4000 range is userhub's own
 * (RFC 6455 §7.4.2 reserves 4000–4999 for private use).
 *
 * @example
 * ```ts
 * import { CloseCode } from "userhub";
 * socket.addEventListener("close", (e) => {
 *   if (e.code === CloseCode.HeartbeatTimeout) console.log("no heartbeat: reconnecting");
 * });
 * ```
 */
export const CloseCode = {
  /** The hub or the client ended the connection on purpose. */
  Normal: 1000,
  /** The server is going away (shutdown, redeploy). Reconnect. */
  GoingAway: 1001,
  /** The socket broke a rule that is not about size (e.g. a rate limit). */
  PolicyViolation: 1008,
  /** A frame was larger than `MAX_MESSAGE_BYTES`. Only that socket is closed. */
  MessageTooBig: 1009,
  /** The hub hit an unexpected error while handling this socket. */
  InternalError: 1011,
  /**
   * No text `ping` or other frame arrived within `HEARTBEAT_TIMEOUT_MS`.
   * Protocol-level PING frames do not count: the runtime answers them and
   * neither host ever hands them to the hub. Reconnect, and send the text
   * `ping` every `heartbeat.intervalMs` of the welcome.
   */
  HeartbeatTimeout: 4000,
  /** The credentials the socket was opened with have expired. Reconnect with a fresh token. */
  TokenExpired: 4001,
  /** The client read too slowly: more than the send queue's bound was waiting for it. */
  SlowConsumer: 4002,
  /** A server disconnected this user (`POST /users/:userId/disconnect`): signed out, revoked. Do not reconnect with the same credentials. */
  Revoked: 4003,
} as const;

/** One of the values of {@link CloseCode}. */
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** A close reason is at most 123 UTF-8 bytes (RFC 6455 §5.5: a control frame's 125 bytes, less the code). */
export const MAX_CLOSE_REASON_BYTES = 123;

/**
 * `reason` cut to the {@link MAX_CLOSE_REASON_BYTES} UTF-8 bytes a close
 * frame can carry, never inside a character.
 *
 * @example
 * ```ts
 * fitCloseReason("é".repeat(100)); // 61 characters: 122 bytes
 * ```
 */
export function fitCloseReason(reason: string): string {
  if (utf8Length(reason) <= MAX_CLOSE_REASON_BYTES) return reason;
  let cut = "";
  let bytes = 0;
  for (const character of reason) {
    bytes += utf8Length(character);
    if (bytes > MAX_CLOSE_REASON_BYTES) break;
    cut += character;
  }
  return cut;
}

/**
 * The reason text sent with each of userhub's own close codes. Each fits a
 * close frame (at most 123 bytes of UTF-8, RFC 6455 §5.5). The heartbeat
 * timeout's says what the hub expects, for clients whose library keeps a
 * connection alive with protocol-level pings (Python `websockets`, gorilla).
 */
export const CloseReason: Readonly<Record<number, string>> = {
  [CloseCode.Normal]: "normal closure",
  [CloseCode.GoingAway]: "going away",
  [CloseCode.PolicyViolation]: "policy violation",
  [CloseCode.MessageTooBig]: "message too big",
  [CloseCode.InternalError]: "internal error",
  [CloseCode.HeartbeatTimeout]: 'heartbeat timeout: send the text "ping" every heartbeat.intervalMs; protocol-level pings never reach the hub',
  [CloseCode.TokenExpired]: "token expired",
  [CloseCode.SlowConsumer]: "slow consumer",
  [CloseCode.Revoked]: "revoked",
};

/** The 1008 reason for a socket that kept sending more frames per second than `RATE_LIMIT_FRAMES_PER_SECOND` allows. */
export const FRAME_RATE_LIMIT_REASON = "rate limit: too many frames per second";
/** The 1008 reason for a socket that kept sending more bytes per second than `RATE_LIMIT_BYTES_PER_SECOND` allows. */
export const BYTE_RATE_LIMIT_REASON = "rate limit: too many bytes per second";
/** The 1008 reason for a socket with more than `MAX_MESSAGE_BACKLOG` frames waiting for its hub (Deno). */
export const MESSAGE_BACKLOG_REASON = "message backlog full: frames arrive faster than the hub handles them";
/** The 4002 reason for an acknowledging client that left more than `MAX_UNACKED_BYTES` of deliveries unacknowledged. */
export const UNACKED_BYTES_REASON = "slow consumer: too many unacknowledged deliveries; resume from your last seq";

/**
 * The code to answer a peer's close frame with: its own when a close frame
 * may carry it, else 1000. 1005 (no status), 1006 (abnormal) and 1015 (TLS)
 * describe a close but may never be sent in one; 1004 and 1016–2999 are
 * reserved (RFC 6455 §7.4; `close()` throws on some of them, which would
 * leave the peer with no answer at all).
 */
export function replyCloseCode(received: number): number {
  const sendable = (received >= 1000 && received <= 1003) || (received >= 1007 && received <= 1014) || (received >= 3000 && received <= 4999);
  return sendable ? received : CloseCode.Normal;
}
