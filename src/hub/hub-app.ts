import type { ConnectionStateUpdate } from "./connection-state.ts";
import type { Delivery } from "./delivery-log.ts";
import type { SchemaFrameHandler } from "./frame-schema.ts";
import type { ClientFrame } from "../protocol/frames.ts";
import type { SendOutcome } from "./sender.ts";
import type { UserDeliveryOptions, UserDeliveryResult } from "./user-delivery.ts";

/** One socket of the user, as an application sees it; `State` is what the app keeps in {@link Connection.state}. */
export interface Connection<State = unknown> {
  /** Assigned by the hub. */
  readonly id: string;
  /** The verified user id (the token's `sub`). */
  readonly userId: string;
  readonly connectedAt: number;
  /** Writes a frame (an object is sent as JSON) through this socket's one sender. */
  send(frame: object | string): Promise<SendOutcome>;
  /** Closes this socket; cleanup and `onClose` run once. */
  close(code?: number, reason?: string): void;
  /**
   * The application's state for this connection (a copy; null until set),
   * kept in the socket's attachment, so it survives hibernation.
   */
  readonly state: State | null;
  /**
   * Replaces the state (null clears it) and returns the new one. At most
   * 2 KiB as JSON (`MAX_CONNECTION_STATE_BYTES`).
   *
   * @throws {ConnectionStateTooLargeError} past the limit (a handler that lets it escape: a `state_too_large` error frame; the socket stays).
   * @throws {ConnectionStateUnserializableError} for a value with no JSON form.
   */
  setState(next: ConnectionStateUpdate<State>): State | null;
}

/** What an application may do with the user's hub. */
export interface HubContext {
  readonly userId: string;
  /** The user's open sockets. */
  connections(): Connection[];
  /**
   * Logs `data` with the next sequence number, then sends it to every open
   * socket of the user as a `message` frame.
   */
  deliver(data: unknown, options?: { from?: string }): Promise<{ delivery: Delivery; delivered: number }>;
  /**
   * Sends `data` to every open socket of the user as a `signal` frame without
   * logging it: no seq, not replayed on resume, no row written. For what is
   * stale a moment later anyway: typing, cursors, "seen" marks.
   */
  signal(data: unknown, options?: { from?: string }): Promise<{ delivered: number }>;
  /** Other users, reached through their own hubs. */
  readonly users: UserDeliveries;
}

/** {@link HubContext.users}: delivering into other users' logs. */
export interface UserDeliveries {
  /**
   * Logs `data` in `userId`'s log with that user's next seq and sends it to
   * every open socket of theirs as a `message` frame with `fromUser` (this
   * hub's verified user id); a user with no socket open gets it on resume.
   * The recipient's hub runs no application code for it, so it never calls
   * back into this one. With `copy: true`, this hub then logs a copy with
   * `toUser` in its own log and sends it to its own sockets. A delivery to
   * oneself is one delivery, with both `fromUser` and `toUser`.
   *
   * @throws {InvalidUserIdError} when `userId` cannot name a user.
   * @throws {InvalidIdempotencyKeyError} (a RangeError) for an idempotency key that is not a string of 1 to 200 characters.
   * @throws {UnserializablePayloadError} when `data` has no JSON form.
   *
   * @example
   * ```ts
   * const sent = await hub.users.deliver("bob", { text: "hi" }, { idempotencyKey: "m1", copy: true });
   * sent.seq; // bob's seq; sent.copy?.seq is this user's
   * ```
   */
  deliver(userId: string, data: unknown, options?: UserDeliveryOptions): Promise<UserDeliveryResult>;
}

/** A frame the application refuses; the client gets an `invalid_frame` error naming `message`. */
export class FrameError extends Error {
  override readonly name: string = "FrameError";
}

/**
 * Handles one frame `type`. Throw {@link FrameError} (or reject with it) to
 * refuse the frame. What a handler's promise resolves to is ignored, so a
 * handler may hand back the promise of the hub method it ends with. For a
 * checked, typed frame, see `withSchema`.
 *
 * @example
 * ```ts
 * const echo: FrameHandler = (frame, connection, hub) => hub.signal(frame.data, { from: connection.id });
 * ```
 */
export type FrameHandler = (frame: ClientFrame, connection: Connection, hub: HubContext) => void | Promise<unknown>;

/**
 * A deployer's application: what happens on connect, on each frame type and
 * on close. The same object runs on every host.
 *
 * @example
 * ```ts
 * import { FrameError, type HubApp } from "userhub";
 * export const chat: HubApp = {
 *   frames: {
 *     async send(frame, connection, hub) {
 *       if (typeof frame.data !== "string") throw new FrameError('"data" must be a string');
 *       await hub.deliver(frame.data, { from: connection.id });
 *     },
 *   },
 * };
 * ```
 */
export interface HubApp {
  /** Called after the welcome frame was sent. */
  onConnect?(connection: Connection, hub: HubContext): void | Promise<void>;
  /**
   * Handlers by frame `type`: a function, or a schema and a handler (`withSchema`),
   * whose frame the schema checks first. A type with no handler gets an `unknown_type` error frame.
   */
  frames?: Readonly<Record<string, FrameHandler | SchemaFrameHandler>>;
  /** Called once per socket, however it ended (close frame, error, heartbeat timeout, limit). */
  onClose?(connection: Connection, event: { code: number; reason: string }, hub: HubContext): void | Promise<void>;
}

/**
 * The application a hub runs when none is given: it handles no frame type of
 * its own (each gets an `unknown_type` error frame), so the hub only carries
 * what the server pushes, plus the protocol's own frames (`auth`, `ack`,
 * heartbeats).
 */
export const PUSH_ONLY_APP: HubApp = {};
