/**
 * The errors the userhub client throws or reports through its "error" event.
 * Each is a named class, so an application tells them apart with
 * `instanceof` (or `error.name` across realms), and each keeps the error that
 * caused it as `cause` where there is one. None carries a token.
 */
import type { ErrorCode } from "../protocol/frames.ts";

/**
 * The base of every error the client defines.
 *
 * @example
 * ```ts
 * client.addEventListener("error", ({ detail }) => {
 *   if (detail instanceof UserhubClientError) console.warn(detail.name, detail.message);
 * });
 * ```
 */
export class UserhubClientError extends Error {
  override readonly name: string = "UserhubClientError";
}

/** Which bound of a {@link SendQueue} a push would have passed. */
export type QueueLimit = "messages" | "bytes";

/**
 * Thrown synchronously by `send`/`sendFrame` (and `SendQueue.push`) when the
 * offline queue cannot take one more message. Nothing is dropped silently:
 * the message that did not fit is the one refused, and what is queued stays.
 *
 * @example
 * ```ts
 * try {
 *   client.send({ text });
 * } catch (error) {
 *   if (error instanceof QueueFullError) showBanner("offline: too many unsent messages");
 *   else throw error;
 * }
 * ```
 */
export class QueueFullError extends UserhubClientError {
  override readonly name = "QueueFullError";
  /** The bound that was hit. */
  readonly limit: QueueLimit;
  /** The refused message's size in UTF-8 bytes. */
  readonly messageBytes: number;
  /** The queue's bound on messages. */
  readonly maxMessages: number;
  /** The queue's bound on bytes. */
  readonly maxBytes: number;

  constructor(limit: QueueLimit, details: { messageBytes: number; maxMessages: number; maxBytes: number }) {
    super(
      limit === "messages"
        ? `send queue full: it already holds ${details.maxMessages} messages`
        : details.messageBytes > details.maxBytes
          ? `message of ${details.messageBytes} bytes is larger than the send queue's ${details.maxBytes} bytes`
          : `send queue full: ${details.messageBytes} more bytes would pass its ${details.maxBytes} bytes`,
    );
    this.limit = limit;
    this.messageBytes = details.messageBytes;
    this.maxMessages = details.maxMessages;
    this.maxBytes = details.maxBytes;
  }
}

/**
 * A frame larger than the hub takes: more UTF-8 bytes than the welcome's
 * `maxMessageBytes` (the hub would close the socket with 1009, and what was
 * written after the frame would be lost with it). `send`/`sendFrame` throw it
 * while the client is open, and nothing is sent or queued. A frame queued
 * while the client was not open and found too large when the queue is
 * flushed is dropped and reported through "error" with this error; the rest
 * of the queue goes out. A hub whose welcome has no `maxMessageBytes` gets
 * every frame, as before.
 *
 * @example
 * ```ts
 * try {
 *   client.send(document);
 * } catch (error) {
 *   if (error instanceof MessageTooLargeError) uploadInstead(document, error.maxMessageBytes);
 *   else throw error;
 * }
 * client.addEventListener("error", ({ detail }) => {
 *   if (detail instanceof MessageTooLargeError) console.warn(`dropped a queued ${detail.messageBytes}-byte frame`, detail.frame);
 * });
 * ```
 */
export class MessageTooLargeError extends UserhubClientError {
  override readonly name = "MessageTooLargeError";
  /** The frame's size in UTF-8 bytes. */
  readonly messageBytes: number;
  /** The hub's limit, from the welcome. */
  readonly maxMessageBytes: number;
  /** The frame, as the JSON text that would have been sent. */
  readonly frame: string;

  constructor(details: { messageBytes: number; maxMessageBytes: number; frame: string }) {
    super(`frame of ${details.messageBytes} bytes is larger than the ${details.maxMessageBytes} bytes the hub takes; not sent`);
    this.messageBytes = details.messageBytes;
    this.maxMessageBytes = details.maxMessageBytes;
    this.frame = details.frame;
  }
}

/**
 * Terminal: the credentials were refused and retrying with them cannot help.
 * The client reports it through "error", goes to state "closed" and does not
 * reconnect. `ticketFrom` throws it when `POST /ws/ticket` answers 401 or
 * 403; throw it from your own `token`/`ticket` provider to stop the client
 * (e.g. the user signed out, or the refresh token was revoked).
 *
 * @example
 * ```ts
 * const client = new UserhubClient({
 *   url: "wss://example.com/ws",
 *   token: async () => {
 *     const token = await session.accessToken();
 *     if (token === null) throw new AuthRefusedError("signed out");
 *     return token;
 *   },
 * });
 * ```
 */
export class AuthRefusedError extends UserhubClientError {
  override readonly name = "AuthRefusedError";
  /** The HTTP status that refused the credentials (401 or 403), when one did. */
  readonly status: number | undefined;

  constructor(message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = options.status;
  }
}

/**
 * Terminal: the hub closed the socket with 1008 (policy violation), its way
 * of saying "do not come back". The client does not reconnect.
 *
 * @example
 * ```ts
 * client.addEventListener("error", ({ detail }) => {
 *   if (detail instanceof PolicyViolationError) showBanner(`disconnected: ${detail.reason}`);
 * });
 * ```
 */
export class PolicyViolationError extends UserhubClientError {
  override readonly name = "PolicyViolationError";
  /** The close code (1008). */
  readonly code: number;
  /** The close reason the hub sent. */
  readonly reason: string;

  constructor(code: number, reason: string) {
    super(`the hub closed the connection for a policy violation (${code}${reason ? `: ${reason}` : ""}); not reconnecting`);
    this.code = code;
    this.reason = reason;
  }
}

/**
 * Terminal: a server disconnected this user (close 4003: signed out
 * everywhere, session revoked). The client does not reconnect; sign the
 * user in again and start a new client.
 *
 * @example
 * ```ts
 * client.addEventListener("error", ({ detail }) => {
 *   if (detail instanceof RevokedError) showSignIn(detail.reason);
 * });
 * ```
 */
export class RevokedError extends UserhubClientError {
  override readonly name = "RevokedError";
  /** The close code (4003). */
  readonly code: number;
  /** The close reason the server gave. */
  readonly reason: string;

  constructor(code: number, reason: string) {
    super(`a server disconnected this user (${code}${reason ? `: ${reason}` : ""}); not reconnecting`);
    this.code = code;
    this.reason = reason;
  }
}

/**
 * An `error` frame from the hub: it refused one frame this client sent; the
 * connection stays up. `code` is one of `ErrorCode` (e.g. `invalid_frame`,
 * `auth_failed`).
 *
 * @example
 * ```ts
 * client.addEventListener("error", ({ detail }) => {
 *   if (detail instanceof ServerError && detail.code === "invalid_frame") console.warn(detail.message);
 * });
 * ```
 */
export class ServerError extends UserhubClientError {
  override readonly name = "ServerError";
  /** The error frame's code. */
  readonly code: ErrorCode;
  /** For `rate_limited`: how long the hub drops this socket's frames (or, for a direct message, refuses this sender), in milliseconds. */
  readonly retryAfterMs: number | undefined;
  /** The `id` of the frame this answers, when that frame carried one (for example the demo's `direct` message id). */
  readonly id: string | undefined;

  constructor(code: ErrorCode, message: string, retryAfterMs?: number, id?: string) {
    super(message);
    this.code = code;
    this.retryAfterMs = retryAfterMs;
    this.id = id;
  }
}

/**
 * Not terminal: the `token` or `ticket` provider failed (threw or rejected
 * with anything but {@link AuthRefusedError}, or gave something that cannot
 * be a credential: not a string, empty, or with characters a subprotocol
 * cannot carry), so this attempt had no credentials. Reported through
 * "error"; the client retries with backoff. `cause` is what the provider
 * threw, when it threw. Also reported when the in-band refresh gets no
 * usable token (the connection then stays as it is).
 *
 * @example
 * ```ts
 * client.addEventListener("error", ({ detail }) => {
 *   if (detail instanceof CredentialsError) console.warn("no token this time:", detail.cause);
 * });
 * ```
 */
export class CredentialsError extends UserhubClientError {
  override readonly name = "CredentialsError";

  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }
}

/**
 * Not terminal: `POST /ws/ticket` failed for a reason other than refused
 * credentials (network error, 5xx, a malformed answer). `ticketFrom` throws
 * it; the client wraps it in a {@link CredentialsError} and retries.
 *
 * @example
 * ```ts
 * try {
 *   await ticketFrom("https://example.com/ws/ticket", token)();
 * } catch (error) {
 *   if (error instanceof TicketRequestError) console.warn(error.status, error.cause);
 * }
 * ```
 */
export class TicketRequestError extends UserhubClientError {
  override readonly name = "TicketRequestError";
  /** The HTTP status, when an answer came. */
  readonly status: number | undefined;

  constructor(message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = options.status;
  }
}

/**
 * Thrown by `send`/`sendFrame` after the client has closed for good (by
 * `close()` or a terminal error): queueing would hold the message forever.
 *
 * @example
 * ```ts
 * client.close();
 * client.send("late"); // throws ClientClosedError
 * ```
 */
export class ClientClosedError extends UserhubClientError {
  override readonly name = "ClientClosedError";

  constructor() {
    super("the client is closed; create a new one to connect again");
  }
}

/**
 * Terminal: `new WebSocket(url, protocols)` threw. The standard constructor
 * throws only for a malformed URL or subprotocol (SyntaxError) or a blocked
 * port (SecurityError): the client's configuration, which the next attempt
 * would meet again. `cause` is what the constructor threw.
 *
 * @example
 * ```ts
 * client.addEventListener("error", ({ detail }) => {
 *   if (detail instanceof SocketSetupError) console.error("check the url option", detail.cause);
 * });
 * ```
 */
export class SocketSetupError extends UserhubClientError {
  override readonly name = "SocketSetupError";

  constructor(cause: unknown) {
    super(`new WebSocket(…) threw, so no connection can be made: ${cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)}`, { cause });
  }
}
