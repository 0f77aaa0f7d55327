import type { Delivery } from "./delivery-log.ts";
import type { ClientFrame } from "../protocol/frames.ts";
import type { SendOutcome } from "./sender.ts";

/** One socket of the user, as an application sees it. */
export interface Connection {
  /** Assigned by the hub. */
  readonly id: string;
  /** The verified user id (the token's `sub`). */
  readonly userId: string;
  readonly connectedAt: number;
  /** Writes a frame (an object is sent as JSON) through this socket's one sender. */
  send(frame: object | string): Promise<SendOutcome>;
  /** Closes this socket; cleanup and `onClose` run once. */
  close(code?: number, reason?: string): void;
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
}

/** A frame the application refuses; the client gets an `invalid_frame` error naming `message`. */
export class FrameError extends Error {
  override readonly name = "FrameError";
}

/** Handles one frame `type`. Throw {@link FrameError} to refuse the frame. */
export type FrameHandler = (frame: ClientFrame, connection: Connection, hub: HubContext) => void | Promise<void>;

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
  /** Handlers by frame `type`. A type with no handler gets an `unknown_type` error frame. */
  frames?: Readonly<Record<string, FrameHandler>>;
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
