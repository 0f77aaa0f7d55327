/**
 * The events a `UserhubClient` dispatches, and what each carries in `detail`.
 */
import type { ResetFrame, SignalFrame, WelcomeFrame } from "../protocol/frames.ts";

/**
 * Where the client is:
 * - `connecting`: the first attempt is under way (fetching credentials, opening, waiting for the welcome);
 * - `open`: the welcome arrived; sends go out at once (after any replay);
 * - `reconnecting`: the connection was lost or never came up; waiting out a delay, waiting for the network, or trying again;
 * - `closed`: for good, after `close()` or a terminal error. It never leaves this state.
 */
export type ConnectionState = "connecting" | "open" | "reconnecting" | "closed";

/** `detail` of "state". */
export interface StateChange {
  readonly state: ConnectionState;
  /** Which try this is: 0 with `connecting` (the first), and with `reconnecting` the retry since the last stable connection (1 for the first). */
  readonly attempt?: number;
  /** With `reconnecting`: how long the client waits before trying, in ms (0 for at once). Absent while offline. */
  readonly delayMs?: number;
  /** True while the client waits for the browser's `online` event instead of a delay. */
  readonly offline?: boolean;
}

/** `detail` of "message": one delivery, each `seq` at most once; `Data` is what your server delivers. */
export interface ReceivedMessage<Data = unknown> {
  /** The delivery's sequence number, per user; it grows by one per delivery. Persist it to resume across page loads. */
  readonly seq: number;
  readonly data: Data;
  /** When the hub accepted it, epoch ms. */
  readonly at: number;
  /** The connection that sent it, when a socket of this user did. */
  readonly from?: string;
  /** The user who sent it from their hub (`hub.users.deliver`), as that hub verified. */
  readonly fromUser?: string;
  /** On this user's own copy of something they sent to another user: who it went to. */
  readonly toUser?: string;
}

/**
 * `detail` of "close": one connection ended (the client may reconnect after
 * it). A close the hub announced with its `closing` frame is reported when
 * that frame arrives, with its code and reason, not when the socket's own
 * close event comes (seconds later on some runtimes); that event is then ignored.
 */
export interface ConnectionClosed {
  /** The close code: the hub's (e.g. 4000, 4001, 1011), 1006 for a lost network or refused upgrade, or the one the client closed with. */
  readonly code: number;
  readonly reason: string;
  /**
   * Whether the closing handshake completed, or (a `closing` frame) the hub announced that it is closing.
   * Always false when the client ended the connection, since it does not wait for the handshake.
   */
  readonly wasClean: boolean;
  /** True when the client ended it: `close()`, no welcome within `connectTimeoutMs`, or nothing heard within the heartbeat timeout. */
  readonly byClient: boolean;
}

/** `detail` of "frame": a JSON frame of a type the client does not handle itself, i.e. one your `HubApp` sent. */
export interface AppFrame {
  readonly type: string;
  readonly [field: string]: unknown;
}

/** `detail` of "signal": an ephemeral frame whose `data` is what your server signals. */
export type ReceivedSignal<Data = unknown> = Omit<SignalFrame, "data"> & { readonly data: Data };

/** What a typed client's frames must be: objects with a string `type` (interfaces fit too, unlike {@link AppFrame}). */
export interface TypedFrame {
  readonly type: string;
}

/**
 * Every event of a `UserhubClient`, by name. `ServerData` types the `data`
 * of "message" and "signal"; `ServerFrames`, your app's own frames ("frame").
 */
export interface UserhubClientEventMap<ServerData = unknown, ServerFrames extends TypedFrame = AppFrame> {
  state: CustomEvent<StateChange>;
  welcome: CustomEvent<WelcomeFrame>;
  message: CustomEvent<ReceivedMessage<ServerData>>;
  /** An ephemeral frame (typing, cursors): no seq, never replayed, so a client that was away simply missed it. */
  signal: CustomEvent<ReceivedSignal<ServerData>>;
  reset: CustomEvent<ResetFrame>;
  frame: CustomEvent<ServerFrames>;
  error: CustomEvent<Error>;
  close: CustomEvent<ConnectionClosed>;
}

/**
 * What `send(data)` takes for a client whose frames are `ClientFrames`: the
 * `data` of its `send` frame; anything when the frames are not typed; nothing
 * (`never`) when they have no `send` frame.
 */
export type SendData<ClientFrames extends TypedFrame> = AppFrame extends ClientFrames ? unknown
  : [Extract<ClientFrames, { readonly type: "send" }>] extends [never] ? never
  : Extract<ClientFrames, { readonly type: "send" }> extends { readonly data: infer Data } ? Data
  : never;

/** The options `addEventListener` takes, written out so that they mean the same under every runtime's type library. */
export interface ClientListenerOptions {
  capture?: boolean;
  once?: boolean;
  passive?: boolean;
  signal?: AbortSignal;
}
