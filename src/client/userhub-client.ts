/**
 * The browser client of userhub: one logical connection to the user's hub
 * that survives network loss, hub restarts and token expiry.
 */
import { CloseCode } from "../protocol/close-code.ts";
import {
  type AuthFrame,
  type ClosingFrame,
  type ErrorFrame,
  frameBytes,
  HEARTBEAT_PING,
  HEARTBEAT_PONG,
  type HeartbeatSettings,
  isLargerThan,
  type MessageFrame,
  type ResetFrame,
  type SignalFrame,
  type WelcomeFrame,
} from "../protocol/frames.ts";
import { Backoff, type BackoffOptions } from "./backoff.ts";
import type { AppFrame, ClientListenerOptions, ConnectionClosed, ConnectionState, SendData, StateChange, TypedFrame, UserhubClientEventMap } from "./client-events.ts";
import { type ClientWebSocket, type ClientWebSocketConstructor, SOCKET_OPEN, type SocketCloseEvent, type SocketMessageEvent } from "./client-web-socket.ts";
import { connectUrl, type ResumePoint, socketUrl } from "./connect-url.ts";
import { subprotocolsFor, type TicketProvider, type TokenProvider } from "./credentials.ts";
import {
  AuthRefusedError,
  ClientClosedError,
  CredentialsError,
  MessageTooLargeError,
  PolicyViolationError,
  RevokedError,
  ServerError,
  SocketSetupError,
} from "./errors.ts";
import { HeartbeatMonitor } from "./heartbeat-monitor.ts";
import { globalNetworkEvents, type NetworkEvents, NetworkStatus } from "./network-status.ts";
import { isSeq, ResumeTracker } from "./resume-tracker.ts";
import { AckTracker } from "./ack-tracker.ts";
import { SendQueue, type SendQueueOptions } from "./send-queue.ts";
import { TokenRefreshTimer } from "./token-refresh-timer.ts";
import { type LongTimer, setLongTimeout } from "./long-timer.ts";

/** Options of a {@link UserhubClient}. Give `token`, `ticket`, or both. */
export interface UserhubClientOptions {
  /** The hub's `/ws` URL (`wss://…`; `https://…` and, in a page, relative URLs work too). Never put a token in it. */
  url: string | URL;
  /**
   * Gives the current JWT. Called on every connect, so an expiring token is
   * refreshed by the provider; it travels only as the subprotocol
   * `bearer.<jwt>` next to `userhub.v1`, never in the URL. Also used for the
   * in-band refresh before `expiresAt`, in either mode.
   */
  token?: TokenProvider;
  /**
   * Gives a single-use connect ticket (see `ticketFrom`); called on every
   * connect. When set, the client connects with `userhub.v1, ticket.<ticket>`
   * and uses `token` (if any) only for in-band refresh.
   */
  ticket?: TicketProvider;
  /** No welcome within this long after an attempt starts (credentials included): give it up and retry. Default 10 000 ms. */
  connectTimeoutMs?: number;
  /** Reconnect delays. Defaults: 500 ms base, 30 s cap, stable after 10 s. */
  backoff?: BackoffOptions;
  /** The offline send queue's bounds. Defaults: 1000 messages, 1 MiB. */
  queue?: SendQueueOptions;
  /** Where to resume from, e.g. a `lastSeq`/`epoch` saved before a page reload. Default: nothing (start from the welcome's `seq`). */
  resumeFrom?: ResumePoint;
  /** The WebSocket class. Default `globalThis.WebSocket`. */
  WebSocket?: ClientWebSocketConstructor;
  /** What fires `online`/`offline`. Default `globalThis` where it has `addEventListener` (browsers), else none; `null` ignores the network. */
  network?: NetworkEvents | null;
}

/** The default of {@link UserhubClientOptions.connectTimeoutMs}. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** The close code a WebSocket reports when the connection ended without a close frame (RFC 6455 §7.1.5); never sent. */
const NO_CLOSE_FRAME = 1006;

/** What each of the client's own timers is for (the heartbeat's and the token refresh's are theirs). */
type TimerName = "connect" | "retry";

/**
 * The typed listener overloads of {@link UserhubClient} (declaration merging:
 * `EventTarget` itself only knows plain `Event`s).
 */
export interface UserhubClient<ServerData = unknown, ClientFrames extends TypedFrame = AppFrame, ServerFrames extends TypedFrame = AppFrame> {
  addEventListener<K extends keyof UserhubClientEventMap>(
    type: K,
    listener: (event: UserhubClientEventMap<ServerData, ServerFrames>[K]) => void,
    options?: boolean | ClientListenerOptions,
  ): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | ClientListenerOptions): void;
  removeEventListener<K extends keyof UserhubClientEventMap>(
    type: K,
    listener: (event: UserhubClientEventMap<ServerData, ServerFrames>[K]) => void,
    options?: boolean | ClientListenerOptions,
  ): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | ClientListenerOptions): void;
}

/**
 * One logical connection to the signed-in user's hub, kept up across network
 * loss, hub restarts and token expiry, using web standards only (it runs
 * unchanged in browsers, Deno and Node 22). It starts connecting as soon as
 * it is constructed; listeners added in the same task see every event.
 *
 * What it does for you:
 * - **Reconnects** with exponential backoff and full jitter after any close
 *   that is not terminal (network loss, 1001, 1006, 1009, 1011, 4000,
 *   4002, …); 4001 (token expired) reconnects at once with a fresh token
 *   when the connection had stayed open `backoff.stableAfterMs` and the
 *   one before it did not also end with 4001; otherwise (a provider that
 *   keeps giving a token the hub deems expired) it backs off like any other.
 *   While the browser is offline it waits for `online` instead, then
 *   connects at once.
 * - **Stops for good** on close 1008 ({@link PolicyViolationError}), on
 *   close 4003 (a server disconnected the user: {@link RevokedError}), on
 *   refused credentials ({@link AuthRefusedError}: a provider threw it, or
 *   the ticket endpoint answered 401/403) and when `new WebSocket`
 *   itself throws ({@link SocketSetupError}): "error", then state "closed". A browser cannot see the HTTP status of a refused upgrade (a
 *   401 looks like any failed connection: close 1006 before open), so in
 *   `token` mode a refused token is retried with backoff for as long as the
 *   provider keeps returning it; have your provider throw
 *   `AuthRefusedError` when it knows the session is over. In `ticket` mode
 *   the ticket endpoint's 401/403 is visible and is terminal. A provider
 *   that gives no usable credential (`""`, `null`, `undefined`, a value a
 *   subprotocol cannot carry, a ticket answer without one) is a
 *   {@link CredentialsError}, retried with backoff like a provider that threw.
 * - **Acts on the hub's `closing` frame** (written just before each close
 *   frame the hub sends) at once, as on the close itself: a runtime may
 *   report the close event only when the TCP connection ends, seconds later.
 * - **Heartbeat**: after the welcome it sends `ping` every
 *   `heartbeat.intervalMs` (the runtime answers without waking the hub);
 *   when nothing at all arrives for `heartbeat.timeoutMs`, the connection is
 *   half-open: it is closed (4000) and replaced.
 * - **Token refresh** in band before the welcome's `expiresAt` (at 80% of
 *   the time left, at least 1 s before), when a `token` provider exists. If
 *   the refresh fails, nothing special happens: the hub closes with 4001 and
 *   the client reconnects with a fresh token.
 * - **Resume**: reconnects with `?since=<lastSeq>&epoch=<epoch>`, drops any
 *   delivery it already saw, and dispatches "reset" when the hub no longer
 *   has what was missed (refetch your state then).
 * - **Offline queue**: `send`/`sendFrame` while not open queue the frame
 *   (bounded; {@link QueueFullError} when full) and flush in order after the
 *   next welcome and its replay. A frame handed to a socket that then drops
 *   is not re-sent: the hub may or may not have processed it. What is still
 *   queued when the client closes for good is dropped.
 * - **Frame size**: a frame larger than the welcome's `maxMessageBytes`
 *   (which the hub would answer with 1009) is never written: `send` throws
 *   {@link MessageTooLargeError} while open, and a queued one is dropped at
 *   the flush with that error through "error" while the rest go out.
 *
 * Events ({@link UserhubClientEventMap}, each a `CustomEvent`): "state",
 * "welcome", "message", "signal" (ephemeral frames: no seq, never replayed),
 * "reset", "frame" (your app's own server frames),
 * "error" (an `Error`: {@link ServerError} for error frames, terminal
 * errors, failures that will be retried) and "close" (each connection's end).
 *
 * @example
 * ```ts
 * import { UserhubClient } from "userhub/client";
 *
 * const client = new UserhubClient({ url: "wss://example.com/ws", token: () => auth.getAccessToken() });
 * client.addEventListener("message", ({ detail }) => render(detail.seq, detail.data));
 * client.addEventListener("reset", () => refetchEverything());
 * client.addEventListener("state", ({ detail }) => showStatus(detail.state));
 * client.addEventListener("error", ({ detail }) => console.warn(detail.name, detail.message));
 * client.send({ text: "hello" }); // queued until the welcome, then sent
 * // on sign-out:
 * client.close();
 * ```
 *
 * Typed: `ServerData` is the `data` your server delivers and signals,
 * `ClientFrames` the frames your `HubApp` handles (what `sendFrame` takes;
 * `send` takes their `send` frame's `data`), `ServerFrames` your app's own
 * server frames ("frame"). Types only: nothing is checked at runtime.
 *
 * @example
 * ```ts
 * type Chat = { text: string };
 * type Out = { type: "send"; data: Chat } | { type: "typing"; conversation: string };
 * const chat = new UserhubClient<Chat, Out>({ url, token });
 * chat.addEventListener("message", ({ detail }) => render(detail.data.text)); // detail.data: Chat
 * chat.send({ text: "hi" });                                                    // must be a Chat
 * chat.sendFrame({ type: "typing", conversation: "c-42" });                     // must be one of Out
 * ```
 */
export class UserhubClient<ServerData = unknown, ClientFrames extends TypedFrame = AppFrame, ServerFrames extends TypedFrame = AppFrame> extends EventTarget {
  readonly #baseUrl: URL;
  readonly #token: TokenProvider | undefined;
  readonly #ticket: TicketProvider | undefined;
  readonly #connectTimeoutMs: number;
  readonly #WebSocket: ClientWebSocketConstructor;
  readonly #backoff: Backoff;
  readonly #queue: SendQueue;
  readonly #network: NetworkStatus;
  readonly #resume: ResumeTracker;
  readonly #acks = new AckTracker();
  readonly #heartbeat: HeartbeatMonitor;
  /** Null without a `token` provider: there is nothing to refresh in band with. */
  readonly #tokenRefresh: TokenRefreshTimer | null;

  #state: ConnectionState = "connecting";
  /** Bumped by every attempt and by close(): async work that finds another value belongs to an attempt that was given up. */
  #attemptId = 0;
  #socket: ClientWebSocket | null = null;
  #detachSocket: (() => void) | null = null;
  /** The current connection's welcome; null until it arrives. */
  #welcome: WelcomeFrame | null = null;
  #waitingForNetwork = false;
  /** Whether the last connection to end was closed by the hub with 4001: a second in a row is not reconnected at once. */
  #lastEndedExpired = false;

  /** Every pending timer of the client's own, by what it is for; `close()` clears them all (and stops the heartbeat and the refresh). */
  readonly #timers: Partial<Record<TimerName, LongTimer>> = {};

  /**
   * @throws {TypeError} when `url` is not a ws/wss/http/https URL, neither
   * `token` nor `ticket` is given, `resumeFrom` is malformed, or there is no WebSocket class.
   * @throws {RangeError} when a number option is out of range.
   */
  constructor(options: UserhubClientOptions) {
    super();
    this.#baseUrl = socketUrl(options.url);
    if (options.token === undefined && options.ticket === undefined) {
      throw new TypeError("userhub client: give a `token` provider or a `ticket` provider");
    }
    this.#token = options.token;
    this.#ticket = options.ticket;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    if (!Number.isFinite(this.#connectTimeoutMs) || this.#connectTimeoutMs <= 0) {
      throw new RangeError(`userhub client: connectTimeoutMs must be a finite number > 0, got ${this.#connectTimeoutMs}`);
    }
    const WebSocketClass = options.WebSocket ?? (globalThis as { WebSocket?: unknown }).WebSocket;
    if (typeof WebSocketClass !== "function") {
      throw new TypeError("userhub client: this runtime has no global WebSocket; pass one as the `WebSocket` option");
    }
    this.#WebSocket = WebSocketClass as ClientWebSocketConstructor;
    this.#backoff = new Backoff(options.backoff);
    this.#queue = new SendQueue(options.queue);
    this.#resume = new ResumeTracker(options.resumeFrom);
    this.#heartbeat = new HeartbeatMonitor({
      ping: () => this.#ping(),
      timedOut: () => this.#abandon("heartbeat timeout: nothing from the hub within heartbeat.timeoutMs"),
    });
    this.#tokenRefresh = this.#token === undefined ? null : new TokenRefreshTimer(() => void this.#refresh());
    this.#network = new NetworkStatus(options.network === undefined ? globalNetworkEvents() : options.network, (online) =>
      this.#networkChanged(online),
    );
    // Deferred so that listeners added right after `new` see the first "state" event.
    queueMicrotask(() => this.#start());
  }

  /** Where the client is; see {@link ConnectionState}. */
  get state(): ConnectionState {
    return this.#state;
  }

  /** The current connection's id (from its welcome), or null when not open. */
  get connectionId(): string | null {
    return this.#welcome?.connectionId ?? null;
  }

  /** The highest `seq` seen (or taken from the first welcome), or null before any. Persist it with {@link epoch} to resume after a reload. */
  get lastSeq(): number | null {
    return this.#resume.lastSeq;
  }

  /** The epoch of the delivery log `lastSeq` belongs to, or null before the first welcome. */
  get epoch(): string | null {
    return this.#resume.epoch;
  }

  /** Frames waiting in the offline queue. */
  get queuedMessages(): number {
    return this.#queue.size;
  }

  /**
   * Sends `{"type":"send","data":data}`: at once when open, else queued
   * until the next welcome (and its replay). A queued frame that turns out
   * larger than the next hub's `maxMessageBytes` is dropped when the queue
   * is flushed, with a {@link MessageTooLargeError} through "error".
   *
   * @throws {MessageTooLargeError} while open, when the frame is larger than the welcome's `maxMessageBytes` (nothing was sent or queued).
   * @throws {QueueFullError} when the offline queue is full (nothing is dropped; this frame was not taken).
   * @throws {ClientClosedError} after `close()` or a terminal error.
   * @throws {TypeError} when `data` cannot be serialized as JSON (a cycle, a BigInt).
   *
   * @example
   * ```ts
   * client.send({ text: "hello" });
   * ```
   */
  send(data: SendData<ClientFrames>): void {
    this.#sendFrame({ type: "send", data });
  }

  /**
   * Sends any frame your `HubApp` handles (`frame.type` names its handler),
   * with the same queueing and size limit as {@link send}.
   *
   * @throws {MessageTooLargeError} while open, when the frame is larger than the welcome's `maxMessageBytes`.
   * @throws {QueueFullError} when the offline queue is full.
   * @throws {ClientClosedError} after `close()` or a terminal error.
   * @throws {TypeError} when `frame.type` is not a non-empty string, or the frame cannot be serialized.
   *
   * @example
   * ```ts
   * client.sendFrame({ type: "typing", conversation: "c-42" });
   * ```
   */
  sendFrame(frame: ClientFrames): void {
    this.#sendFrame(frame);
  }

  #sendFrame(frame: AppFrame | TypedFrame): void {
    if (this.#isClosed()) throw new ClientClosedError();
    if (typeof frame?.type !== "string" || frame.type.length === 0) throw new TypeError('userhub client: a frame needs a non-empty string "type"');
    const text = JSON.stringify(frame);
    const max = this.#maxMessageBytes();
    if (max !== null && isLargerThan(text, max)) throw new MessageTooLargeError({ messageBytes: frameBytes(text), maxMessageBytes: max, frame: text });
    const socket = this.#socket;
    if (socket !== null && this.#flushing() && this.#queue.size === 0) {
      socket.send(text);
      return;
    }
    this.#queue.push(text);
  }

  /**
   * Stops for good: closes the socket with 1000, clears every timer and
   * listener, dispatches state "closed", and never reconnects. Frames still
   * queued are dropped (check {@link queuedMessages} first if they matter).
   * Calling it again does nothing.
   *
   * @example
   * ```ts
   * signOutButton.onclick = () => client.close();
   * ```
   */
  close(reason = "client closed"): void {
    if (this.#isClosed()) return;
    this.#state = "closed";
    this.#attemptId++;
    this.#stopRetrying();
    this.#network.stop();
    this.#queue.clear();
    this.#resume.discardPendingReset();
    const hadSocket = this.#socket !== null;
    this.#dropSocket({ code: CloseCode.Normal, reason });
    if (hadSocket) this.#emit("close", { code: CloseCode.Normal, reason, wasClean: false, byClient: true });
    this.#emit("state", { state: "closed" });
  }

  // ---- connecting ----

  #start(): void {
    if (this.#isClosed()) return;
    if (!this.#network.online) {
      this.#waitingForNetwork = true;
      this.#emit("state", { state: "connecting", attempt: 0, offline: true });
      return;
    }
    this.#emit("state", { state: "connecting", attempt: 0 });
    if (this.#isClosed()) return;
    void this.#connect();
  }

  async #connect(): Promise<void> {
    const attemptId = ++this.#attemptId;
    this.#clearTimer("connect");
    // Started before the credentials are fetched: a provider that never answers must not stall the client.
    this.#timers.connect = setLongTimeout(() => this.#connectTimedOut(attemptId), this.#connectTimeoutMs);
    let protocols: [string, string];
    try {
      protocols = await this.#subprotocols();
    } catch (error) {
      if (attemptId !== this.#attemptId) return;
      this.#clearTimer("connect");
      if (error instanceof AuthRefusedError) {
        this.#fail(error);
        return;
      }
      this.#emit("error", error as Error);
      this.#retry("backoff");
      return;
    }
    if (attemptId !== this.#attemptId) return;
    let socket: ClientWebSocket;
    try {
      socket = new this.#WebSocket(connectUrl(this.#baseUrl, this.#resume.resumePoint, { acks: true }), protocols);
    } catch (error) {
      // The standard constructor throws only SyntaxError (bad URL or subprotocol) or SecurityError (a blocked port):
      // both describe this client's configuration, and the next attempt would throw the same.
      this.#clearTimer("connect");
      this.#fail(new SocketSetupError(error));
      return;
    }
    this.#attach(socket);
  }

  /** The subprotocols for this attempt; the provider is asked every time so that expiring credentials are fresh. */
  async #subprotocols(): Promise<[string, string]> {
    const [kind, provider] = this.#ticket !== undefined ? (["ticket", this.#ticket] as const) : (["bearer", this.#token!] as const);
    let credential: string;
    try {
      credential = await provider();
    } catch (error) {
      if (error instanceof AuthRefusedError) throw error;
      throw new CredentialsError(`the ${kind === "ticket" ? "ticket" : "token"} provider failed; retrying: ${describe(error)}`, { cause: error });
    }
    return subprotocolsFor(kind, credential);
  }

  #attach(socket: ClientWebSocket): void {
    const onMessage = (event: SocketMessageEvent) => this.#received(socket, event.data);
    const onClose = (event: SocketCloseEvent) => {
      if (socket !== this.#socket) return;
      // A socket that reports no code gets the one the standard reports when no close frame came.
      this.#connectionEnded({ code: event.code ?? NO_CLOSE_FRAME, reason: event.reason ?? "", wasClean: event.wasClean ?? false, byClient: false });
    };
    // By the standard, "error" means the connection failed and a close with 1006 follows. Node 22's built-in
    // WebSocket (undici) fires "error" on a refused connection but never "close", its readyState stuck at
    // CONNECTING (nodejs/undici#3546, #3506), so waiting for "close" would cost a connect timeout per attempt:
    // the error itself ends the connection. (The listener must exist anyway: an EventEmitter-based socket,
    // such as the `ws` package's, throws an "error" nobody listens to.)
    const onError = () => {
      if (socket !== this.#socket) return;
      this.#dropSocket({ code: CloseCode.Normal, reason: "" });
      this.#connectionEnded({ code: NO_CLOSE_FRAME, reason: "", wasClean: false, byClient: false });
    };
    socket.addEventListener("message", onMessage);
    socket.addEventListener("close", onClose);
    socket.addEventListener("error", onError);
    this.#socket = socket;
    this.#detachSocket = () => {
      socket.removeEventListener("message", onMessage);
      socket.removeEventListener("close", onClose);
      socket.removeEventListener("error", onError);
    };
  }

  #connectTimedOut(attemptId: number): void {
    delete this.#timers.connect;
    if (attemptId !== this.#attemptId || this.#isClosed()) return;
    if (this.#socket !== null) {
      this.#abandon("connect timeout: no welcome within connectTimeoutMs");
      return;
    }
    // Still waiting for the credentials provider: give that attempt up (its answer will be ignored).
    this.#attemptId++;
    this.#emit("error", new CredentialsError(`the credentials provider did not answer within ${this.#connectTimeoutMs} ms; retrying`));
    this.#retry("backoff");
  }

  // ---- receiving ----

  #received(socket: ClientWebSocket, data: unknown): void {
    if (socket !== this.#socket) return;
    // Any frame at all, pong included, proves the connection alive.
    this.#heartbeat.alive();
    if (typeof data !== "string" || data === HEARTBEAT_PONG) return;
    let frame: unknown;
    try {
      frame = JSON.parse(data);
    } catch {
      return; // Not part of userhub.v1; nothing to act on.
    }
    if (typeof frame !== "object" || frame === null || typeof (frame as { type?: unknown }).type !== "string") return;
    const typed = frame as AppFrame;
    // A new-epoch welcome owes a "reset" before any other frame, unless that frame is the hub's own reset.
    if (typed.type !== "reset" && this.#emitPendingReset() && socket !== this.#socket) return;
    switch (typed.type) {
      case "welcome":
        this.#welcomed(socket, typed as unknown as WelcomeFrame);
        return;
      case "message":
        this.#delivered(socket, typed as unknown as MessageFrame, data.length);
        return;
      case "reset":
        this.#reset(socket, typed as unknown as ResetFrame);
        return;
      case "auth":
        this.#reauthorized(typed as unknown as AuthFrame);
        return;
      case "signal":
        this.#emit("signal", typed as unknown as SignalFrame);
        return;
      case "closing":
        this.#closing(typed as unknown as ClosingFrame);
        return;
      case "error": {
        const error = typed as unknown as ErrorFrame;
        const retryAfterMs = typeof error.retryAfterMs === "number" && Number.isFinite(error.retryAfterMs) ? error.retryAfterMs : undefined;
        this.#emit("error", new ServerError(error.code, String(error.message), retryAfterMs, typeof error.id === "string" ? error.id : undefined));
        return;
      }
      default:
        this.#emit("frame", typed);
    }
  }

  #welcomed(socket: ClientWebSocket, welcome: WelcomeFrame): void {
    if (this.#welcome !== null) return; // Only a connection's first welcome counts.
    // A welcome this client cannot follow is no welcome: the connect timeout then replaces the connection.
    if (typeof welcome.connectionId !== "string" || !isSeq(welcome.seq) || typeof welcome.epoch !== "string") return;
    this.#clearTimer("connect");
    this.#welcome = welcome;
    this.#backoff.opened();
    this.#resume.welcomed(welcome);
    this.#acks.welcomed(welcome.maxUnackedBytes);
    this.#state = "open";
    this.#emit("state", { state: "open" });
    if (socket !== this.#socket) return;
    this.#emit("welcome", welcome);
    if (socket !== this.#socket) return;
    // The hub's settings are not trusted to be well-formed: the monitor checks them.
    this.#heartbeat.start(welcome.heartbeat as Partial<HeartbeatSettings> | undefined);
    this.#tokenRefresh?.start(typeof welcome.expiresAt === "number" ? welcome.expiresAt : null);
    this.#flush();
  }

  #delivered(socket: ClientWebSocket, message: MessageFrame, length: number): void {
    // At-least-once over a reconnect: a seq already seen is a duplicate, and the application gets each delivery once.
    if (!isSeq(message.seq) || !this.#resume.accept(message.seq)) return;
    const detail = {
      seq: message.seq,
      data: message.data,
      at: message.at,
      ...(message.from !== undefined ? { from: message.from } : {}),
      ...(typeof message.fromUser === "string" ? { fromUser: message.fromUser } : {}),
      ...(typeof message.toUser === "string" ? { toUser: message.toUser } : {}),
    };
    this.#emit("message", detail);
    if (socket !== this.#socket) return;
    // Processed (the listeners ran): acknowledge when enough has arrived since the last acknowledgment.
    const ack = this.#acks.delivered(message.seq, length);
    if (ack !== null && socket.readyState === SOCKET_OPEN) socket.send(JSON.stringify({ type: "ack", seq: ack }));
    if (this.#resume.finishReplayAt(message.seq)) this.#flush();
  }

  #reset(socket: ClientWebSocket, reset: ResetFrame): void {
    if (!isSeq(reset.latest) || typeof reset.epoch !== "string") return;
    this.#resume.reset(reset);
    this.#emit("reset", reset);
    if (socket !== this.#socket) return;
    this.#flush();
  }

  /**
   * The hub announced the close it is starting. Acted on now, as its close
   * event would be: a runtime may report that event only when the TCP
   * connection ends (Node 22's WebSocket does), which workerd delays by about
   * 10 s. The socket is given up at once (no more pings, sends or heartbeat
   * deadline on it), so its close event, whenever it comes, changes nothing.
   */
  #closing(frame: ClosingFrame): void {
    // A malformed notice is no notice: the close event will tell.
    if (!isCloseCode(frame.code)) return;
    const reason = typeof frame.reason === "string" ? frame.reason : "";
    // Closed from this side too (1000: a client may not send most of the hub's codes), so that a socket whose close
    // frame never came does not linger; when the hub's close frame is already in, this does nothing.
    this.#dropSocket({ code: CloseCode.Normal, reason: "" });
    // Clean: the hub ended the connection on purpose and said so.
    this.#connectionEnded({ code: frame.code, reason, wasClean: true, byClient: false });
  }

  #reauthorized(answer: AuthFrame): void {
    if (answer.expiresAt !== null && typeof answer.expiresAt !== "number") return;
    // Before the welcome there is no refresh schedule to move: the welcome's own expiresAt starts it.
    if (this.#welcome === null) return;
    this.#tokenRefresh?.refreshed(answer.expiresAt);
  }

  /** Dispatches the "reset" a new-epoch welcome left owed, if any; true when it did. */
  #emitPendingReset(): boolean {
    const reset = this.#resume.takePendingReset();
    if (reset === null) return false;
    this.#emit("reset", reset);
    return true;
  }

  // ---- sending ----

  /** Whether queued and new frames may go out: welcomed, the replay is in, the socket is open. */
  #flushing(): boolean {
    return this.#welcome !== null && !this.#resume.replaying && this.#socket?.readyState === SOCKET_OPEN;
  }

  #flush(): void {
    const socket = this.#socket;
    if (socket === null || !this.#flushing()) return;
    const max = this.#maxMessageBytes();
    try {
      this.#queue.drain((text) => {
        if (max !== null && isLargerThan(text, max)) {
          // The hub would close the socket with 1009 and lose everything written after it: this one is dropped (drain
          // takes it off), and the app told. An "error" listener may close the client (the queue is then empty, and
          // drain ends) or send (queued behind the rest).
          this.#emit("error", new MessageTooLargeError({ messageBytes: frameBytes(text), maxMessageBytes: max, frame: text }));
          return;
        }
        socket.send(text);
      });
    } catch (error) {
      // What did not go out stays queued, in order, for the next connection.
      this.#emit("error", error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** The largest frame the current connection's hub takes, in UTF-8 bytes; null when not open or when its welcome names none (an older hub). */
  #maxMessageBytes(): number | null {
    const max = (this.#welcome as { maxMessageBytes?: unknown } | null)?.maxMessageBytes;
    return typeof max === "number" && Number.isFinite(max) && max > 0 ? max : null;
  }

  // ---- keeping the connection honest ----

  #ping(): void {
    const socket = this.#socket;
    if (socket !== null && socket.readyState === SOCKET_OPEN) socket.send(HEARTBEAT_PING);
  }

  async #refresh(): Promise<void> {
    const socket = this.#socket;
    let token: string;
    try {
      token = await this.#token!();
    } catch (error) {
      // Nothing else to do: the hub closes with 4001 at expiry, and the reconnect asks the provider again.
      if (socket === this.#socket && !this.#isClosed()) {
        this.#emit("error", new CredentialsError(`the token provider failed during the in-band refresh: ${describe(error)}`, { cause: error }));
      }
      return;
    }
    if (socket === null || socket !== this.#socket || socket.readyState !== SOCKET_OPEN) return;
    if (typeof token !== "string" || token.length === 0) {
      // The hub would only answer auth_failed; as for a provider that threw, its 4001 at expiry brings a reconnect.
      this.#emit("error", new CredentialsError("the token provider gave no token for the in-band refresh (an empty string, null or undefined)"));
      return;
    }
    socket.send(JSON.stringify({ type: "auth", token }));
  }

  // ---- ending and retrying ----

  /** The client gives the connection up (no welcome in time, or half-open): close it without waiting for the handshake, then retry. */
  #abandon(reason: string): void {
    // 4000 is the hub's own "heartbeat timeout": the same diagnosis, seen from this side.
    const code = CloseCode.HeartbeatTimeout;
    this.#dropSocket({ code, reason });
    this.#connectionEnded({ code, reason, wasClean: false, byClient: true });
  }

  #connectionEnded(closed: ConnectionClosed): void {
    this.#dropSocket(null);
    const stable = this.#backoff.closed();
    const expired = closed.code === CloseCode.TokenExpired && !closed.byClient;
    // 4001 means only that the credentials aged, so a connection that had proved stable is replaced at once. A 4001
    // soon after the welcome, or twice in a row, means the provider keeps handing out a token the hub deems expired
    // (a cached one, a clock running behind): reconnecting at once would loop as fast as the hub answers.
    const expiredOnce = expired && stable && !this.#lastEndedExpired;
    this.#lastEndedExpired = expired;
    if (!this.#isClosed()) this.#emitPendingReset();
    this.#emit("close", closed);
    if (this.#isClosed()) return; // A "close" listener called close().
    if (closed.code === CloseCode.PolicyViolation && !closed.byClient) {
      this.#fail(new PolicyViolationError(closed.code, closed.reason));
      return;
    }
    if (closed.code === CloseCode.Revoked && !closed.byClient) {
      this.#fail(new RevokedError(closed.code, closed.reason));
      return;
    }
    this.#retry(expiredOnce ? "now" : "backoff");
  }

  #retry(mode: "now" | "backoff"): void {
    if (this.#isClosed()) return;
    const delay = this.#backoff.next();
    const attempt = this.#backoff.attempt;
    this.#state = "reconnecting";
    if (!this.#network.online) {
      this.#waitingForNetwork = true;
      this.#emit("state", { state: "reconnecting", attempt, offline: true });
      return;
    }
    // A stable connection's first 4001: the connection itself was fine, so the fresh one is not delayed.
    const delayMs = mode === "now" ? 0 : delay;
    this.#emit("state", { state: "reconnecting", attempt, delayMs });
    if (this.#isClosed()) return; // A "state" listener called close().
    if (mode === "now") {
      void this.#connect();
      return;
    }
    this.#timers.retry = setLongTimeout(() => {
      delete this.#timers.retry;
      void this.#connect();
    }, delayMs);
  }

  #networkChanged(online: boolean): void {
    if (this.#isClosed()) return;
    if (online) {
      // Back online: whatever delay was left is moot; try at once.
      if (!this.#waitingForNetwork && this.#timers.retry === undefined) return;
      this.#stopRetrying();
      const state = this.#state as StateChange["state"];
      this.#emit("state", state === "reconnecting" ? { state, attempt: this.#backoff.attempt, delayMs: 0 } : { state, attempt: 0 });
      if (this.#isClosed()) return;
      void this.#connect();
      return;
    }
    if (this.#timers.retry === undefined) return; // Connected or connecting: the heartbeat or the close will tell.
    this.#stopRetrying();
    this.#waitingForNetwork = true;
    this.#emit("state", { state: this.#state as StateChange["state"], attempt: this.#backoff.attempt, offline: true });
  }

  /** Terminal: report `error`, close, never retry. */
  #fail(error: Error): void {
    this.#state = "closed";
    this.#attemptId++;
    this.#stopRetrying();
    this.#network.stop();
    this.#queue.clear();
    this.#resume.discardPendingReset();
    this.#dropSocket({ code: CloseCode.Normal, reason: "client closed" });
    this.#emit("error", error);
    this.#emit("state", { state: "closed" });
  }

  /** Forgets the current socket: listeners off, per-connection timers cleared, closed with `closeWith` when given. */
  #dropSocket(closeWith: { code: number; reason: string } | null): void {
    const socket = this.#socket;
    this.#detachSocket?.();
    this.#detachSocket = null;
    this.#socket = null;
    this.#welcome = null;
    this.#resume.connectionLost();
    this.#clearTimer("connect");
    this.#heartbeat.stop();
    this.#tokenRefresh?.stop();
    if (socket !== null && closeWith !== null) {
      try {
        socket.close(closeWith.code, closeWith.reason);
      } catch {
        // A reason over 123 UTF-8 bytes makes close() throw; the socket must close all the same.
        try {
          socket.close(closeWith.code);
        } catch {
          // Already closing or closed: nothing to undo.
        }
      }
    }
  }

  #stopRetrying(): void {
    this.#waitingForNetwork = false;
    this.#clearTimer("retry");
  }

  #clearTimer(which: TimerName): void {
    this.#timers[which]?.clear();
    delete this.#timers[which];
  }

  /** A method, not an inline comparison: a listener may close the client during any dispatch, which narrowing cannot see. */
  #isClosed(): boolean {
    return this.#state === "closed";
  }

  #emit<K extends keyof UserhubClientEventMap>(type: K, detail: UserhubClientEventMap[K]["detail"]): void {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

/** A code a close frame may carry (RFC 6455 §7.4): 1000–4999. */
function isCloseCode(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 1000 && value <= 4999;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
