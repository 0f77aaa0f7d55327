import type { ConnectionStateUpdate } from "./connection-state.ts";
import type { Delivery } from "./delivery-log.ts";
import { noteFrame, stateFrame } from "./demo-frames.ts";
import type { SchemaFrameHandler } from "./frame-schema.ts";
import type { ClientFrame } from "./protocol.ts";
import type { SendOutcome } from "./sender.ts";

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
}

/** A frame the application refuses; the client gets an `invalid_frame` error naming `message`. */
export class FrameError extends Error {
  override readonly name: string = "FrameError";
}

/** Handles one frame `type`. Throw {@link FrameError} to refuse the frame. For a checked, typed frame, see `withSchema`. */
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
  /**
   * Handlers by frame `type`: a function, or a schema and a handler (`withSchema`),
   * whose frame the schema checks first. A type with no handler gets an `unknown_type` error frame.
   */
  frames?: Readonly<Record<string, FrameHandler | SchemaFrameHandler>>;
  /** Called once per socket, however it ended (close frame, error, heartbeat timeout, limit). */
  onClose?(connection: Connection, event: { code: number; reason: string }, hub: HubContext): void | Promise<void>;
}

/** What the demo app tells a user's sockets when one of them joins or leaves: how many are open now. */
export interface PresenceFrame {
  readonly type: "presence";
  readonly connections: number;
}

/**
 * The demo Worker's application: a `{"type":"send","data":X}` frame is
 * delivered to every open socket of the same user, the sender's included;
 * a `{"type":"signal","data":X}` frame goes to the same sockets as
 * `{"type":"signal","data":X,"from":<connection id>}`, unlogged;
 * `note` and `state` frames show typed frames and connection state (see demo-frames.ts);
 * when a socket joins or leaves, the user's other sockets get a
 * `{"type":"presence","connections":N}` frame (the page's device count).
 */
export const fanOutApp: HubApp = {
  frames: {
    async send(frame, connection, hub) {
      if (!("data" in frame) || frame.data === undefined) throw new FrameError('a "send" frame needs a "data" field');
      await hub.deliver(frame.data, { from: connection.id });
    },
    async signal(frame, connection, hub) {
      if (!("data" in frame) || frame.data === undefined) throw new FrameError('a "signal" frame needs a "data" field');
      await hub.signal(frame.data, { from: connection.id });
    },
    note: noteFrame,
    state: stateFrame,
  },
  // The newcomer's welcome already carries the count, so only the others are told.
  onConnect: (connection, hub) => announcePresence(hub, connection.id),
  onClose: (connection, _event, hub) => announcePresence(hub, connection.id),
};

async function announcePresence(hub: HubContext, except: string): Promise<void> {
  const connections = hub.connections();
  const frame: PresenceFrame = { type: "presence", connections: connections.length };
  await Promise.all(connections.filter((c) => c.id !== except).map((c) => c.send(frame)));
}
