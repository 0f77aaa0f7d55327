import type { Identity } from "../edge/auth.ts";
import {
  BYTE_RATE_LIMIT_REASON,
  CloseCode,
  CloseReason,
  fitCloseReason,
  FRAME_RATE_LIMIT_REASON,
  MESSAGE_BACKLOG_REASON,
} from "../protocol/close-code.ts";
import { payloadJson, signalFrameText } from "../protocol/delivery-frame.ts";
import { errorFrame, ErrorCode, frameBytes, HEARTBEAT_PING, HEARTBEAT_PONG, isLargerThan, parseClientFrame, type ClientFrame, type WelcomeFrame } from "../protocol/frames.ts";
import { type Acceptance, type AcceptOptions, type Admission, AdmissionControl } from "./admission.ts";
import type { HubConfig } from "./config.ts";
import { connectionHandle } from "./connection-handle.ts";
import type { Delivery, NewDelivery } from "./delivery-log.ts";
import { DeliveryFanOut } from "./delivery-fan-out.ts";
import { deliverToUser, type LogAndSend, receiveDirect } from "./direct-delivery.ts";
import { checkDisconnect, type DisconnectOptions, type DisconnectResult, FutureRevocationError, futureRevocationProblem } from "./disconnect.ts";
import { dispatchAppFrame } from "./app-frame-dispatch.ts";
import type { Connection, HubApp, HubContext } from "./hub-app.ts";
import type { HubHandoff, ResumeRequest } from "./hub-handoff.ts";
import type { ConnectionAttachment, HubHost } from "./hub-host.ts";
import { HubSockets } from "./hub-sockets.ts";
import { logKey } from "./idempotency-key.ts";
import { refreshCredentials } from "./in-band-auth.ts";
import { logFailure } from "./log-failure.ts";
import { checkPush, type PushOptions, type PushResult } from "./push.ts";
import { isRevoked } from "./revocation.ts";
import { SentTally, type WritableSocket } from "./sender.ts";
import { SocketRateLimit, USER_RATE_FACTOR } from "./socket-rate-limit.ts";
import { StaleSockets } from "./stale-sockets.ts";
import type { TicketResult } from "./ticket-result.ts";
import type { UserRateLimits } from "./user-rate-limits.ts";
import type { DirectDelivery, DirectRefusal, LoggedDelivery } from "./user-delivery.ts";


/** Options of a {@link Hub} beyond its configuration. */
export interface HubOptions {
  /** Verifies a token sent in band (`{"type":"auth","token":…}`) exactly as at the upgrade. Without it, such frames are refused. */
  verifyToken?: (token: string) => Promise<Identity>;
  /** This user's connection and ticket limits, when they must outlive the hub (Deno's namespace drops an empty hub). Default: the hub's own. */
  userLimits?: UserRateLimits;
}

/** Frame types the hub handles itself, before any application handler. */
const AUTH_FRAME = "auth";
const ACK_FRAME = "ack";

/**
 * The hub logic, written once for every host. It holds no state that must
 * outlive one event: on Cloudflare the object may be rebuilt between any two
 * messages, so everything durable lives in the host (attachments, the log,
 * tickets, the scheduled wake). Only the per-socket senders live here,
 * because ordering matters only among the writes of one live instance.
 *
 * A host hands each upgrade to {@link accept} with the one runtime-specific
 * step (accepting a socket), then routes `message`, `closed`, `errored` and
 * its scheduled `wake` here.
 *
 * @example
 * ```ts
 * const hub = new Hub(host, app, readHubConfig(env));
 * const accepted = await hub.accept(handoff, () => {
 *   ctx.acceptWebSocket(server);
 *   return server;
 * });
 * if (!accepted.ok) return new Response(accepted.message, { status: accepted.status });
 * ```
 */
export class Hub<S extends WritableSocket = WritableSocket> {
  readonly #host: HubHost<S>;
  readonly #app: HubApp;
  readonly #config: HubConfig;
  readonly #options: HubOptions;
  readonly #sockets: HubSockets<S>;
  readonly #fanOut: DeliveryFanOut<S>;
  // Limits live in memory, per live instance: after hibernation a hub starts them afresh (full buckets, nothing unacknowledged).
  readonly #rates = new WeakMap<S, SocketRateLimit>();
  readonly #admission: AdmissionControl;
  readonly #stale: StaleSockets<S>;
  readonly #connections = new WeakMap<S, Connection>();
  #hubContext: HubContext | undefined;
  /**
   * While a frame's handler runs its synchronous part: the time the frame was
   * read at, after which no socket was stale. `deliver` and `signal` called
   * then neither read the clock again nor check for stale sockets again (on
   * workerd the clock stands still until the next I/O anyway).
   */
  #handlingAt: number | undefined;

  constructor(host: HubHost<S>, app: HubApp, config: HubConfig, options: HubOptions = {}) {
    this.#host = host;
    this.#app = app;
    this.#config = config;
    this.#options = options;
    this.#sockets = new HubSockets(host, config, (socket, attachment) => {
      void this.#cleanup(socket, attachment, CloseCode.SlowConsumer, CloseReason[CloseCode.SlowConsumer]!);
    });
    this.#admission = new AdmissionControl(host, config, () => this.#sockets.live().length, options.userLimits);
    this.#stale = new StaleSockets(host, this.#sockets, config, (socket, attachment, code, reason) => this.#cleanup(socket, attachment, code, reason, true));
    this.#fanOut = new DeliveryFanOut(host, this.#sockets, config, (socket, attachment, code, reason) => this.#end(socket, attachment, code, reason));
  }

  /** Whether one more socket fits under `maxConnectionsPerUser`. */
  canAdmit(): boolean {
    return this.#admission.hasRoom();
  }

  /**
   * Decides on a handed-over upgrade: redeems its ticket (once) if it has
   * one, and checks the user's limits and the revocation watermark.
   */
  async admit(handoff: HubHandoff): Promise<Admission> {
    await this.#stale.sweep();
    return await this.#admission.admit(handoff);
  }

  /**
   * Takes a handed-over upgrade, in the one order every host needs: admit it
   * (ticket, limits, revocation), make its attachment, let the host accept
   * the socket (`acceptSocket`, the runtime's own step), store the
   * attachment with it, then greet it (now, or when `whenOpen` says it opened).
   */
  async accept(handoff: HubHandoff, acceptSocket: (attachment: ConnectionAttachment) => S, options: AcceptOptions = {}): Promise<Acceptance<S>> {
    const admission = await this.admit(handoff);
    if (!admission.ok) return admission;
    const attachment = this.attachmentFor(admission.identity, { acks: handoff.acks === true });
    const socket = acceptSocket(attachment);
    this.#sockets.write(socket, attachment);
    const greet = () => this.open(socket, handoff.resume);
    if (options.whenOpen) options.whenOpen(greet);
    else await greet();
    return { ok: true, socket, attachment };
  }

  /** Issues a single-use connect ticket for `identity`, good for `ticketTtlMs`, unless its token is revoked; past `ticketsPerMinute`, only how long to wait. */
  async issueTicket(identity: Identity): Promise<TicketResult> {
    await this.#stale.sweep();
    return await this.#admission.issueTicket(identity);
  }

  /**
   * The attachment for a new socket of `identity`, with a connection id the
   * server assigns; `acks` when its client said it acknowledges deliveries
   * (`?ack=1`), so that its unacknowledged bytes are bounded.
   */
  attachmentFor(identity: Identity, options: { acks?: boolean } = {}): ConnectionAttachment {
    const now = this.#host.now();
    return {
      connectionId: crypto.randomUUID(),
      userId: identity.userId,
      connectedAt: now,
      lastMessageAt: now,
      expiresAt: identity.expiresAt,
      issuedAt: identity.issuedAt ?? null,
      sessionId: identity.sessionId ?? null,
      ...(options.acks ? { acks: true as const } : {}),
    };
  }

  /**
   * A socket the host has just accepted (with its attachment stored): greet
   * it, replay what it missed if it resumes, tell the app, arm the wake-up.
   * The welcome and the replay are queued on the socket's sender before the
   * first await, so no live delivery can overtake them.
   */
  async open(socket: S, resume: ResumeRequest | null = null): Promise<void> {
    const attachment = this.#sockets.attachment(socket);
    if (!attachment) return;
    const sender = this.#sockets.sender(socket);
    const log = this.#host.log;
    // The sweep (so the welcome counts no zombie) and the reads happen in the welcome's turn: queued before any
    // await, so that no live delivery reaches the socket ahead of its welcome.
    const snapshot = this.#stale.sweep().then(() => Promise.all([log.latestSeq(), log.epoch()]));
    const welcomeSent = sender.send(async () => {
      const [seq, epoch] = await snapshot;
      if (attachment.acks && attachment.ackedSeq === undefined) {
        // What the socket got at open (its replay ends at this seq too) counts as acknowledged; counting a replay could close a resuming client before it reads it.
        attachment.ackedSeq = seq;
        this.#sockets.write(socket, attachment);
      }
      const welcome: WelcomeFrame = {
        type: "welcome",
        connectionId: attachment.connectionId,
        userId: attachment.userId,
        connections: this.#sockets.live().length,
        seq,
        epoch,
        expiresAt: attachment.expiresAt,
        heartbeat: this.#config.heartbeat,
        maxMessageBytes: this.#config.maxMessageBytes,
        ...(attachment.acks ? { maxUnackedBytes: this.#config.maxUnackedBytes } : {}),
      };
      return JSON.stringify(welcome);
    });
    const replaySent = resume ? sender.send(async () => this.#fanOut.replay(resume, ...(await snapshot))) : undefined;
    this.#fanOut.greeting(socket, snapshot.then(([seq]) => seq), Promise.all([welcomeSent, replaySent]));
    await welcomeSent;
    await replaySent;
    await snapshot;
    await this.#stale.reschedule();
    await this.#call("onConnect", () => this.#app.onConnect?.(this.#connection(socket, attachment), this.#context(attachment.userId)));
  }

  /**
   * A frame arrived on `socket`: {@link admitFrame}, then {@link handleFrame}.
   * Not an async function: a frame that passes is handled in handleFrame's
   * own promise, without one more layer of promise per frame around it.
   */
  message(socket: S, data: string | ArrayBuffer): Promise<void> {
    try {
      // One attachment lookup and one clock read serve the admission and the handling.
      const attachment = this.#sockets.openAttachment(socket);
      if (!attachment) return NOTHING;
      const now = this.#host.now();
      const admitted = this.#admit(socket, data, attachment, now);
      return admitted === true ? this.#handle(socket, data, attachment, now) : admitted.then(settled);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * The checks a frame passes as it arrives, before it may wait for the hub:
   * its size (1009 past `maxMessageBytes`) and the socket's rates. A frame
   * over a rate is dropped, answered with at most one `rate_limited` error
   * frame per second, and a socket that stays over its rate for
   * `rate.closeAfterMs` is closed with 1008. Synchronous, so that a host that
   * queues frames (Deno) refuses a flood before it queues it.
   */
  admitFrame(socket: S, data: string | ArrayBuffer): boolean {
    const attachment = this.#sockets.openAttachment(socket);
    if (!attachment) return false;
    const admitted = this.#admit(socket, data, attachment, this.#host.now());
    if (admitted === true) return true;
    admitted.catch((error) => logFailure("refusing a frame", error));
    return false;
  }

  /** True for a frame to handle; otherwise the work of refusing it (an error frame, a close). */
  #admit(socket: S, data: string | ArrayBuffer, attachment: ConnectionAttachment, now: number): true | Promise<unknown> {
    if (isLargerThan(data, this.#config.maxMessageBytes)) return this.#end(socket, attachment, CloseCode.MessageTooBig);
    let rate = this.#rates.get(socket);
    if (!rate) this.#rates.set(socket, (rate = new SocketRateLimit(this.#config.rate, now, this.#admission.limitsAt(now).frames)));
    const verdict = rate.check(typeof data === "string" ? frameBytes(data) : data.byteLength, now);
    if (verdict.kind === "pass") return true;
    if (verdict.kind === "close") {
      this.#admission.limitsAt(now).penaltyUntil = now + this.#config.rate.penaltyMs;
      return this.#end(socket, attachment, CloseCode.PolicyViolation, verdict.limit === "frames" ? FRAME_RATE_LIMIT_REASON : BYTE_RATE_LIMIT_REASON);
    }
    if (!verdict.notify) return Promise.resolve();
    const factor = verdict.scope === "user" ? USER_RATE_FACTOR : 1;
    const what = verdict.limit === "frames" ? `${factor * this.#config.rate.framesPerSecond} frames` : `${factor * this.#config.rate.bytesPerSecond} bytes`;
    const whose = verdict.scope === "user" ? " from all of this user's sockets together" : "";
    return this.#sockets.sender(socket).send(
      JSON.stringify({
        ...errorFrame(ErrorCode.RateLimited, `more than ${what} per second${whose}: this frame and the next ones until retryAfterMs are dropped`),
        retryAfterMs: verdict.retryAfterMs,
      }),
    );
  }

  /**
   * The host's queue of frames waiting for the hub on `socket` is full
   * (`maxMessageBacklog`): close it with 1008 rather than let it grow.
   */
  async backlogFull(socket: S): Promise<void> {
    const attachment = this.#sockets.openAttachment(socket);
    if (attachment) await this.#end(socket, attachment, CloseCode.PolicyViolation, MESSAGE_BACKLOG_REASON);
  }

  /**
   * Handles a frame that {@link admitFrame} let through. Not an async
   * function: an application frame's promise is its handler's (through
   * dispatchAppFrame), with no layer of ours around it; only a sweep that
   * may close stale sockets first, and the hub's own auth and ack frames,
   * take an async way.
   */
  handleFrame(socket: S, data: string | ArrayBuffer): Promise<void> {
    try {
      const attachment = this.#sockets.openAttachment(socket);
      if (!attachment) return NOTHING;
      return this.#handle(socket, data, attachment, this.#host.now());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** {@link handleFrame} with the socket's attachment (live) and the time read. */
  #handle(socket: S, data: string | ArrayBuffer, attachment: ConnectionAttachment, now: number): Promise<void> {
    try {
      // A frame is a sign of life: recorded at most once per interval (the heartbeat allows for the lag), so most frames write no attachment.
      if (now - attachment.lastMessageAt >= this.#config.heartbeat.intervalMs) {
        attachment.lastMessageAt = now;
        this.#sockets.write(socket, attachment);
      }
      if (this.#stale.mayBeStale(now)) return this.#handleAfterSweep(socket, data, attachment, now);
      this.#handlingAt = now;
      try {
        return this.#route(socket, data, attachment);
      } finally {
        this.#handlingAt = undefined;
      }
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async #handleAfterSweep(socket: S, data: string | ArrayBuffer, attachment: ConnectionAttachment, now: number): Promise<void> {
    await this.#stale.sweep(now);
    if (attachment.closing) return;
    await this.#route(socket, data, attachment);
  }

  /** Parses the frame and hands it on: the hub's own (ping, auth, ack) here, the application's to its handler. */
  #route(socket: S, data: string | ArrayBuffer, attachment: ConnectionAttachment): Promise<void> {
    const sender = this.#sockets.sender(socket);
    if (typeof data !== "string") {
      return sender.send(JSON.stringify(errorFrame(ErrorCode.BinaryNotSupported, "binary frames are not supported; send JSON text"))).then(settled);
    }
    // Hosts without a runtime auto-response (or a ping that reached us anyway) still get their pong.
    if (data === HEARTBEAT_PING) return sender.send(HEARTBEAT_PONG).then(settled);
    const parsed = parseClientFrame(data);
    if (!parsed.ok) return sender.send(JSON.stringify(parsed.error)).then(settled);
    if (parsed.frame.type === AUTH_FRAME) return this.#refresh(socket, attachment, parsed.frame);
    if (parsed.frame.type === ACK_FRAME) return this.#fanOut.acknowledge(socket, attachment, parsed.frame.seq);
    return dispatchAppFrame(this.#app, parsed.frame, sender, this.#connection(socket, attachment), this.#context(attachment.userId));
  }

  async #refresh(socket: S, attachment: ConnectionAttachment, frame: ClientFrame): Promise<void> {
    const refreshed = await refreshCredentials({ host: this.#host, sockets: this.#sockets, verifyToken: this.#options.verifyToken }, socket, attachment, frame);
    if (refreshed) await this.#stale.reschedule();
  }

  /** The peer sent a close frame (or the connection dropped): answer once, clean up once. */
  async closed(socket: S, code: number, reason: string): Promise<void> {
    this.#sockets.sender(socket).answerClose(code, reason);
    await this.#stale.sweep();
    const attachment = this.#sockets.attachment(socket);
    if (attachment) await this.#cleanup(socket, attachment, code, reason);
  }

  /** The runtime reported an error on `socket`: it is gone; clean up once. */
  async errored(socket: S): Promise<void> {
    await this.#stale.sweep();
    const attachment = this.#sockets.attachment(socket);
    if (attachment) await this.#cleanup(socket, attachment, CloseCode.InternalError, "socket error");
  }

  /**
   * The scheduled wake-up (the janitor): close every socket whose heartbeat
   * timed out or whose token expired, then schedule the next wake-up (none
   * if no socket is left). Every other wake closes them too.
   */
  async wake(): Promise<void> {
    await this.#stale.alarmFired();
  }

  /**
   * Logs `messages` with the next sequence numbers, then sends them to every
   * open socket of the user, in order. A repeated idempotency key delivers
   * nothing; it is kept apart from the keys of other sources (`keyScope`,
   * direct messages), so that only a key of the same kind can repeat it.
   * The arguments are checked first (over RPC they are whatever the caller
   * sent): a refused push logs nothing and uses up no key.
   *
   * @throws {InvalidPushError} for arguments that are not a push (see `checkPush`).
   * @throws {InvalidIdempotencyKeyError} (a RangeError) when `idempotencyKey` is not a string of 1 to 200 characters of well-formed Unicode.
   * @throws {UnserializablePayloadError} when a message has no JSON form.
   */
  async push(messages: readonly unknown[], options: PushOptions = {}): Promise<PushResult> {
    checkPush(messages, options);
    await this.#stale.sweep();
    const key = options.idempotencyKey === undefined ? undefined : logKey({ kind: options.keyScope ?? "push" }, options.idempotencyKey);
    const { seqs, delivered, duplicate } = await this.#fanOut.deliver(messages.map((data) => ({ data })), key);
    return { seqs, delivered, duplicate };
  }

  /** Logs `data`, then sends it to every open socket of the user. */
  deliver(data: unknown, options: { from?: string } = {}): Promise<{ delivery: Delivery; delivered: number }> {
    // Not an async function, like signal: the fan-out's own promise is the answer.
    try {
      const entry: NewDelivery = options.from ? { data, from: options.from } : { data };
      if (this.#mustSweep()) return this.#stale.sweep().then(() => this.#fanOut.deliverOne(entry));
      return this.#fanOut.deliverOne(entry, this.#handlingAt);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Logs a delivery another user's hub sent (`hub.users.deliver`) with this
   * user's next seq, under the sender's idempotency key (kept per sender),
   * and sends it to every open socket as a `message` with `fromUser`. It runs
   * no application code, so it never calls back into the sender's hub. Past
   * the sender's quota it logs nothing and answers a `DirectRefusal`, unless
   * the delivery's key was already logged: then it answers the duplicate.
   *
   * @throws {InvalidUserIdError} when `fromUser` cannot name a user.
   */
  async receiveDirect(delivery: DirectDelivery): Promise<LoggedDelivery | DirectRefusal> {
    await this.#stale.sweep();
    const now = this.#host.now();
    const senders = this.#admission.limitsAt(now).directSenders;
    const log = this.#host.log;
    return await receiveDirect(this.#logAndSend, delivery, {
      // A sender this instance has not counted yet (it may have slept since) starts from what the log kept of it.
      admit: (fromUser) => senders.take(fromUser, now, log.deliveredFrom && ((since) => log.deliveredFrom!(fromUser, since))),
      unused: (fromUser) => senders.putBack(fromUser),
      // Asked only for a delivery the count refused: a retry past the quota is still answered as a duplicate.
      remembered: log.remembered && ((key) => log.remembered!(key, now)),
    });
  }

  /** One delivery between users, logged (with its origin) and sent: both sides of `hub.users.deliver` go through it. */
  readonly #logAndSend: LogAndSend = async (entry, idempotencyKey) => {
    if (this.#stale.mayBeStale(this.#host.now())) await this.#stale.sweep();
    const { seqs, delivered, duplicate } = await this.#fanOut.deliver([entry], idempotencyKey);
    return { seq: seqs[0]!, delivered, duplicate };
  };

  /**
   * A server throws the user out: raises the revocation watermark first (so
   * no upgrade racing this call gets in with an old token), drops the user's
   * unredeemed tickets, then closes with 4003 every socket that matches
   * (all, the one connection, or the session's) and every socket whose token
   * the watermark revokes. The options are checked first: a refused
   * disconnect closes, revokes and drops nothing.
   *
   * @throws {InvalidDisconnectOptionsError} for options that are not {@link DisconnectOptions} (see `checkDisconnect`).
   * @throws {FutureRevocationError} for a `revokeTokensIssuedBefore` later than now (past a 5 s leeway).
   */
  async disconnect(options: DisconnectOptions = {}): Promise<DisconnectResult> {
    checkDisconnect(options);
    if (options.revokeTokensIssuedBefore !== undefined) {
      const problem = futureRevocationProblem(options.revokeTokensIssuedBefore, this.#host.now());
      if (problem !== null) throw new FutureRevocationError(problem);
      await this.#host.revocation.raise(options.revokeTokensIssuedBefore * 1000);
    }
    await this.#host.tickets.revokeAll();
    const watermark = await this.#host.revocation.read();
    const reason = fitCloseReason(options.reason ?? CloseReason[CloseCode.Revoked]!);
    let closed = 0;
    for (const socket of this.#sockets.live()) {
      const attachment = this.#sockets.attachment(socket)!;
      const selected =
        (options.connectionId === undefined || attachment.connectionId === options.connectionId) &&
        (options.sessionId === undefined || attachment.sessionId === options.sessionId);
      if (!selected && !isRevoked(attachment.issuedAt, watermark)) continue;
      await this.#end(socket, attachment, CloseCode.Revoked, reason);
      closed++;
    }
    return { closed };
  }

  /**
   * Sends `data` to every open socket of the user as a `signal` frame, now,
   * without logging it: no seq, never replayed (typing, cursors, "seen").
   */
  signal(data: unknown, options: { from?: string } = {}): Promise<{ delivered: number }> {
    // Not an async function: a signal is the lightest thing a hub sends, and each layer of promise costs every frame.
    try {
      if (this.#mustSweep()) return this.#stale.sweep().then(() => this.#signalNow(data, options.from));
      return this.#signalNow(data, options.from);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Whether `deliver` or `signal` must sweep stale sockets first: never inside a frame's synchronous handling (its own check stands). */
  #mustSweep(): boolean {
    return this.#handlingAt === undefined && this.#stale.mayBeStale(this.#host.now());
  }

  #signalNow(data: unknown, from: string | undefined): Promise<{ delivered: number }> {
    // The payload goes through the same serialization as a delivery's: a payload with no JSON form is an
    // UnserializablePayloadError (an invalid_frame to a sender), and the frame is built around its JSON, never nesting it deeper.
    const text = signalFrameText(payloadJson(data), from);
    // Each socket's frame is written now unless earlier writes wait on it; only those are waited for.
    const tally = new SentTally();
    for (const socket of this.#sockets.live()) tally.add(this.#sockets.sender(socket).sendNow(text));
    const delivered = tally.total();
    return typeof delivered === "number" ? Promise.resolve({ delivered }) : delivered.then((n) => ({ delivered: n }));
  }

  /** The hub ends a socket: close frame first (nothing is written after it), then cleanup. */
  async #end(socket: S, attachment: ConnectionAttachment, code: CloseCode, reason: string = CloseReason[code] ?? ""): Promise<void> {
    this.#sockets.markClosing(socket, attachment);
    this.#sockets.sender(socket).abort(code, reason);
    await this.#cleanup(socket, attachment, code, reason, true);
  }

  async #cleanup(socket: S, attachment: ConnectionAttachment, code: number, reason: string, alreadyMarked = false): Promise<void> {
    if (!alreadyMarked && !this.#sockets.markClosing(socket, attachment)) return;
    await this.#stale.reschedule();
    await this.#call("onClose", () => this.#app.onClose?.(this.#connection(socket, attachment), { code, reason }, this.#context(attachment.userId)));
  }

  #connection(socket: S, attachment: ConnectionAttachment): Connection {
    // One object per socket per instance, not one per frame.
    let connection = this.#connections.get(socket);
    if (!connection) {
      connection = connectionHandle(this.#sockets, socket, attachment, (current, code, reason) => void this.#cleanup(socket, current, code, reason, true));
      this.#connections.set(socket, connection);
    }
    return connection;
  }

  #context(userId: string): HubContext {
    if (this.#hubContext?.userId === userId) return this.#hubContext;
    return (this.#hubContext = {
      userId,
      connections: () => this.#sockets.live().map((socket) => this.#connection(socket, this.#sockets.attachment(socket)!)),
      deliver: (data, options) => this.deliver(data, options),
      signal: (data, options) => this.signal(data, options),
      users: { deliver: (toUser, data, options) => deliverToUser(userId, this.#host.users, this.#logAndSend, toUser, data, options) },
    });
  }

  async #call(hook: string, run: () => void | Promise<void>): Promise<void> {
    try {
      await run();
    } catch (error) {
      logFailure(hook, error);
    }
  }
}

/** Turns a promise's value into nothing (a refused frame's outcome is not the caller's business). */
function settled(): void {}

/** What a frame with nothing left to do returns: one settled promise, not a new one each time. */
const NOTHING: Promise<void> = Promise.resolve();
