import { AuthError, type Identity } from "../edge/auth.ts";
import {
  BYTE_RATE_LIMIT_REASON,
  CloseCode,
  CloseReason,
  FRAME_RATE_LIMIT_REASON,
  MAX_CLOSE_REASON_BYTES,
  MESSAGE_BACKLOG_REASON,
  UNACKED_BYTES_REASON,
} from "../protocol/close-code.ts";
import { utf8Length } from "../protocol/utf8-length.ts";
import type { HubConfig } from "./config.ts";
import { ConnectionStateTooLargeError, connectionStateText, readConnectionState } from "./connection-state.ts";
import type { AppendResult, Delivery, NewDelivery } from "./delivery-log.ts";
import { messageFrameText, messageText, serializeDelivery, signalFrameText, UnserializablePayloadError } from "../protocol/delivery-frame.ts";
import type { Liveness } from "./heartbeat.ts";
import { type Connection, FrameError, type HubApp, type HubContext } from "./hub-app.ts";
import { runFrameHandler } from "./frame-schema.ts";
import type { ConnectionAttachment, HubHost } from "./hub-host.ts";
import { type DisconnectOptions, type DisconnectResult, FutureRevocationError, futureRevocationProblem } from "./disconnect.ts";
import type { HubHandoff, ResumePoint } from "./hub-handoff.ts";
import type { PushOptions, PushResult } from "./push.ts";
import type { TicketResult } from "./ticket-result.ts";
import { HttpStatus } from "../protocol/http-status.ts";
import {
  type AuthFrame,
  type ClientFrame,
  errorFrame,
  ErrorCode,
  frameBytes,
  HEARTBEAT_PING,
  HEARTBEAT_PONG,
  isLargerThan,
  parseClientFrame,
  type ResetFrame,
  type WelcomeFrame,
} from "../protocol/frames.ts";
import { KeySetUnavailableError } from "../edge/jwks-key-set.ts";
import { isRevoked } from "./revocation.ts";
import { Sender, type WritableSocket } from "./sender.ts";
import { SocketRateLimit } from "./socket-rate-limit.ts";
import { UserRateLimits } from "./user-rate-limits.ts";
import { UnackedDeliveries } from "./unacked-deliveries.ts";
import { ZombieSweep } from "./zombie-sweep.ts";

/** Options of a {@link Hub} beyond its configuration. */
export interface HubOptions {
  /** Verifies a token sent in band (`{"type":"auth","token":…}`) exactly as at the upgrade. Without it, such frames are refused. */
  verifyToken?: (token: string) => Promise<Identity>;
  /** This user's connection and ticket limits, when they must outlive the hub (Deno's namespace drops an empty hub). Default: the hub's own. */
  userLimits?: UserRateLimits;
}

/** Whether the hub takes a socket, and as whom; or the HTTP answer that refuses it. */
export type Admission =
  | { readonly ok: true; readonly identity: Identity }
  | { readonly ok: false; readonly status: HttpStatus; readonly message: string; readonly headers?: Readonly<Record<string, string>> };

/** A socket the hub took: the host accepted it with its attachment; or the HTTP answer that refuses the upgrade. */
export type Acceptance<S> =
  | { readonly ok: true; readonly socket: S; readonly attachment: ConnectionAttachment }
  | Extract<Admission, { ok: false }>;

/** Options of {@link Hub.accept}. */
export interface AcceptOptions {
  /**
   * For a host whose socket opens only after the 101 is answered (Deno): the
   * hub hands it the greeting to run when the socket opens. Without it, the
   * hub greets the socket before `accept` returns (Cloudflare, where an
   * accepted socket is open at once).
   */
  readonly whenOpen?: (greet: () => Promise<void>) => void;
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
  readonly #senders = new WeakMap<S, Sender>();
  // Limits live in memory, per live instance: after hibernation a hub starts them afresh (full buckets, nothing unacknowledged).
  readonly #rates = new WeakMap<S, SocketRateLimit>();
  /** Per acknowledging socket, its unacknowledged deliveries; a promise while this instance rebuilds them from the log. */
  readonly #unacked = new WeakMap<S, Promise<UnackedDeliveries>>();
  #userLimits: UserRateLimits | undefined;
  /** Attachments read once per socket per instance: the hub is their only writer, so its copy is the stored one. */
  readonly #attachments = new WeakMap<S, ConnectionAttachment>();
  readonly #sweep: ZombieSweep;
  readonly #connections = new WeakMap<S, Connection>();
  #hubContext: HubContext | undefined;
  /** The last append handed to the log: the next one starts after it, so appends settle in call order on every log (the one place that rule lives). */
  #appendTail: Promise<unknown> = Promise.resolve();

  constructor(host: HubHost<S>, app: HubApp, config: HubConfig, options: HubOptions = {}) {
    this.#host = host;
    this.#app = app;
    this.#config = config;
    this.#options = options;
    this.#sweep = new ZombieSweep(config.heartbeat, config.heartbeatSweepMs);
  }

  /** Whether one more socket fits under `maxConnectionsPerUser`. */
  canAdmit(): boolean {
    return this.#liveSockets().length < this.#config.maxConnectionsPerUser;
  }

  /**
   * Decides on a handed-over upgrade: redeems its ticket (once) if it has
   * one, and checks the user's socket limit.
   */
  async admit(handoff: HubHandoff): Promise<Admission> {
    await this.#sweepStale();
    const now = this.#host.now();
    const limits = this.#limitsAt(now);
    if (limits.penaltyUntil > now) return retryLater(limits.penaltyUntil - now, "a socket of this user was just closed for its rate limit");
    // A ticket proves its user only once redeemed: until then it names a user
    // anyone could name, so a forged one must cost that user nothing (no
    // connection counted, no penalty); only a verified identity is counted.
    let identity = handoff.identity;
    if (handoff.ticket !== undefined) {
      const redeemed = await this.#host.tickets.redeem(handoff.ticket, this.#host.now());
      if (redeemed === null || redeemed.userId !== handoff.userId) {
        return {
          ok: false,
          status: HttpStatus.Unauthorized,
          message: "401 Unauthorized: ticket unknown, already used or expired; get a new one.\n",
          headers: { "WWW-Authenticate": 'Bearer realm="userhub", error="invalid_token", error_description="ticket unknown, used or expired"' },
        };
      }
      identity = redeemed;
    }
    const wait = limits.connections.take(this.#host.now());
    if (wait > 0) return retryLater(wait, `this user opened more than ${this.#config.connectionsPerMinute} connections in a minute`);
    if (isRevoked(identity!.issuedAt, await this.#host.revocation.read())) return revokedAdmission();
    if (!this.canAdmit()) {
      return {
        ok: false,
        status: HttpStatus.TooManyRequests,
        message: `429 Too Many Requests: this user already has ${this.#config.maxConnectionsPerUser} open connections; close one first.\n`,
      };
    }
    return { ok: true, identity: identity! };
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
    this.#writeAttachment(socket, attachment);
    const greet = () => this.open(socket, handoff.resume);
    if (options.whenOpen) options.whenOpen(greet);
    else await greet();
    return { ok: true, socket, attachment };
  }

  /** Issues a single-use connect ticket for `identity`, good for `ticketTtlMs`, unless its token is revoked; past `ticketsPerMinute`, only how long to wait. */
  async issueTicket(identity: Identity): Promise<TicketResult> {
    if (isRevoked(identity.issuedAt, await this.#host.revocation.read())) return { refused: REVOKED };
    await this.#sweepStale();
    const now = this.#host.now();
    const wait = this.#limitsAt(now).tickets.take(now);
    if (wait > 0) return { retryAfterMs: wait };
    const ticket = await this.#host.tickets.issue(identity, now, this.#config.ticketTtlMs);
    return { ticket, expiresAt: now + this.#config.ticketTtlMs };
  }

  #limitsAt(now: number): UserRateLimits {
    const limits = (this.#userLimits ??= this.#options.userLimits ?? new UserRateLimits(this.#config, now));
    limits.usedAt = now;
    return limits;
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
  async open(socket: S, resume: ResumePoint | null = null): Promise<void> {
    await this.#sweepStale();
    const attachment = this.#attachment(socket);
    if (!attachment) return;
    const sender = this.#sender(socket);
    const log = this.#host.log;
    const snapshot = Promise.all([log.latestSeq(), log.epoch()]);
    const welcomeSent = sender.send(async () => {
      const [seq, epoch] = await snapshot;
      if (attachment.acks && attachment.ackedSeq === undefined) {
        // What the socket got at open (its replay ends at this seq too) counts as acknowledged; counting a replay could close a resuming client before it reads it.
        attachment.ackedSeq = seq;
        this.#writeAttachment(socket, attachment);
      }
      const welcome: WelcomeFrame = {
        type: "welcome",
        connectionId: attachment.connectionId,
        userId: attachment.userId,
        connections: this.#liveSockets().length,
        seq,
        epoch,
        expiresAt: attachment.expiresAt,
        heartbeat: this.#config.heartbeat,
        ...(attachment.acks ? { maxUnackedBytes: this.#config.maxUnackedBytes } : {}),
      };
      return JSON.stringify(welcome);
    });
    const replaySent = resume ? sender.send(async () => this.#replay(resume, ...(await snapshot))) : undefined;
    await welcomeSent;
    await replaySent;
    await this.#reschedule();
    await this.#call("onConnect", () => this.#app.onConnect?.(this.#connection(socket, attachment), this.#context(attachment.userId)));
  }

  /** A frame arrived on `socket`: {@link admitFrame}, then {@link handleFrame}. */
  async message(socket: S, data: string | ArrayBuffer): Promise<void> {
    const admitted = this.#admit(socket, data);
    if (admitted === true) await this.handleFrame(socket, data);
    else await admitted;
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
    const admitted = this.#admit(socket, data);
    if (admitted === true) return true;
    admitted.catch((error) => logFailure("refusing a frame", error));
    return false;
  }

  /** True for a frame to handle; otherwise the work of refusing it (an error frame, a close). */
  #admit(socket: S, data: string | ArrayBuffer): true | Promise<unknown> {
    const attachment = this.#attachment(socket);
    if (!attachment || attachment.closing) return Promise.resolve();
    if (isLargerThan(data, this.#config.maxMessageBytes)) return this.#end(socket, attachment, CloseCode.MessageTooBig);
    const now = this.#host.now();
    let rate = this.#rates.get(socket);
    if (!rate) this.#rates.set(socket, (rate = new SocketRateLimit(this.#config.rate, now)));
    const verdict = rate.check(typeof data === "string" ? frameBytes(data) : data.byteLength, now);
    if (verdict.kind === "pass") return true;
    if (verdict.kind === "close") {
      this.#limitsAt(now).penaltyUntil = now + this.#config.rate.penaltyMs;
      return this.#end(socket, attachment, CloseCode.PolicyViolation, verdict.limit === "frames" ? FRAME_RATE_LIMIT_REASON : BYTE_RATE_LIMIT_REASON);
    }
    if (!verdict.notify) return Promise.resolve();
    const what = verdict.limit === "frames" ? `${this.#config.rate.framesPerSecond} frames` : `${this.#config.rate.bytesPerSecond} bytes`;
    return this.#sender(socket).send(
      JSON.stringify({
        ...errorFrame(ErrorCode.RateLimited, `more than ${what} per second: this frame and the next ones until retryAfterMs are dropped`),
        retryAfterMs: verdict.retryAfterMs,
      }),
    );
  }

  /**
   * The host's queue of frames waiting for the hub on `socket` is full
   * (`maxMessageBacklog`): close it with 1008 rather than let it grow.
   */
  async backlogFull(socket: S): Promise<void> {
    const attachment = this.#attachment(socket);
    if (attachment && !attachment.closing) await this.#end(socket, attachment, CloseCode.PolicyViolation, MESSAGE_BACKLOG_REASON);
  }

  /** Handles a frame that {@link admitFrame} let through. */
  async handleFrame(socket: S, data: string | ArrayBuffer): Promise<void> {
    const attachment = this.#attachment(socket);
    if (!attachment || attachment.closing) return;
    // A frame is a sign of life: recorded at most once per interval (the heartbeat allows for the lag), so most frames write no attachment.
    const now = this.#host.now();
    if (now - attachment.lastMessageAt >= this.#config.heartbeat.intervalMs) {
      attachment.lastMessageAt = now;
      this.#writeAttachment(socket, attachment);
    }
    if (this.#sweep.mayBeStale(now)) await this.#sweepStale(now);
    if (attachment.closing) return;
    const sender = this.#sender(socket);
    if (typeof data !== "string") {
      await sender.send(JSON.stringify(errorFrame(ErrorCode.BinaryNotSupported, "binary frames are not supported; send JSON text")));
      return;
    }
    // Hosts without a runtime auto-response (or a ping that reached us anyway) still get their pong.
    if (data === HEARTBEAT_PING) {
      await sender.send(HEARTBEAT_PONG);
      return;
    }
    const parsed = parseClientFrame(data);
    if (!parsed.ok) {
      await sender.send(JSON.stringify(parsed.error));
      return;
    }
    if (parsed.frame.type === AUTH_FRAME) {
      await this.#refreshCredentials(socket, attachment, parsed.frame);
      return;
    }
    if (parsed.frame.type === ACK_FRAME) {
      const seq = parsed.frame.seq;
      if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 0) {
        await sender.send(JSON.stringify(errorFrame(ErrorCode.InvalidFrame, 'an "ack" frame needs "seq", a whole number >= 0')));
        return;
      }
      // Kept in the attachment (no storage write: this frame woke the hub anyway) so a later instance can rebuild the count.
      if (attachment.acks && seq > (attachment.ackedSeq ?? -1)) {
        attachment.ackedSeq = seq;
        this.#writeAttachment(socket, attachment);
      }
      (await this.#unacked.get(socket))?.acknowledged(seq);
      return;
    }
    const frames = this.#app.frames;
    const handler = frames && Object.hasOwn(frames, parsed.frame.type) ? frames[parsed.frame.type] : undefined;
    if (!handler) {
      await sender.send(JSON.stringify(errorFrame(ErrorCode.UnknownType, `unknown frame type ${JSON.stringify(parsed.frame.type.slice(0, 64))}`)));
      return;
    }
    try {
      await runFrameHandler(handler, parsed.frame, this.#connection(socket, attachment), this.#context(attachment.userId));
    } catch (error) {
      if (error instanceof FrameError || error instanceof UnserializablePayloadError) {
        await sender.send(JSON.stringify(errorFrame(ErrorCode.InvalidFrame, error.message)));
      } else if (error instanceof ConnectionStateTooLargeError) {
        await sender.send(JSON.stringify(errorFrame(ErrorCode.StateTooLarge, `the "${parsed.frame.type}" handler's ${error.message}`)));
      } else {
        logFailure(`frame handler "${parsed.frame.type}"`, error);
        await sender.send(JSON.stringify(errorFrame(ErrorCode.HandlerFailed, `the "${parsed.frame.type}" handler failed; nothing was delivered`)));
      }
    }
  }

  /** The peer sent a close frame (or the connection dropped): answer once, clean up once. */
  async closed(socket: S, code: number, reason: string): Promise<void> {
    this.#sender(socket).answerClose(code, reason);
    await this.#sweepStale();
    const attachment = this.#attachment(socket);
    if (attachment) await this.#cleanup(socket, attachment, code, reason);
  }

  /** The runtime reported an error on `socket`: it is gone; clean up once. */
  async errored(socket: S): Promise<void> {
    await this.#sweepStale();
    const attachment = this.#attachment(socket);
    if (attachment) await this.#cleanup(socket, attachment, CloseCode.InternalError, "socket error");
  }

  /**
   * The scheduled wake-up (the janitor): close every socket whose heartbeat
   * timed out or whose token expired, then schedule the next wake-up (none
   * if no socket is left). Every other wake closes them too.
   */
  async wake(): Promise<void> {
    this.#sweep.alarmIs(null);
    await this.#sweepStale();
    await this.#reschedule();
  }

  /**
   * Logs `messages` with the next sequence numbers, then sends them to every
   * open socket of the user, in order. A repeated idempotency key delivers nothing.
   */
  async push(messages: readonly unknown[], options: PushOptions = {}): Promise<PushResult> {
    await this.#sweepStale();
    const { seqs, delivered, duplicate } = await this.#deliver(messages.map((data) => ({ data })), options.idempotencyKey);
    return { seqs, delivered, duplicate };
  }

  /** Logs `data`, then sends it to every open socket of the user. */
  async deliver(data: unknown, options: { from?: string } = {}): Promise<{ delivery: Delivery; delivered: number }> {
    // Inline, not a call: on the hot path (a handler's deliver) nothing can be stale most of the time.
    if (this.#sweep.mayBeStale(this.#host.now())) await this.#sweepStale();
    const { deliveries, delivered } = await this.#deliver([{ data, ...(options.from ? { from: options.from } : {}) }]);
    return { delivery: deliveries[0]!, delivered };
  }

  /**
   * A server throws the user out: raises the revocation watermark first (so
   * no upgrade racing this call gets in with an old token), drops the user's
   * unredeemed tickets, then closes with 4003 every socket that matches
   * (all, the one connection, or the session's) and every socket whose token
   * the watermark revokes.
   */
  async disconnect(options: DisconnectOptions = {}): Promise<DisconnectResult> {
    if (options.revokeTokensIssuedBefore !== undefined) {
      const problem = futureRevocationProblem(options.revokeTokensIssuedBefore, this.#host.now());
      if (problem !== null) throw new FutureRevocationError(problem);
      await this.#host.revocation.raise(options.revokeTokensIssuedBefore * 1000);
    }
    await this.#host.tickets.revokeAll();
    const watermark = await this.#host.revocation.read();
    const reason = closeReason(options.reason ?? CloseReason[CloseCode.Revoked]!);
    let closed = 0;
    for (const socket of this.#liveSockets()) {
      const attachment = this.#attachment(socket)!;
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
  async signal(data: unknown, options: { from?: string } = {}): Promise<{ delivered: number }> {
    if (this.#sweep.mayBeStale(this.#host.now())) await this.#sweepStale();
    // The payload goes through the same serialization as a delivery's: a payload with no JSON form is an
    // UnserializablePayloadError (an invalid_frame to a sender), and the frame is built around its JSON, never nesting it deeper.
    const { json } = serializeDelivery({ data });
    const text = signalFrameText(json, options.from);
    const outcomes = await Promise.all(this.#liveSockets().map((socket) => this.#sender(socket).send(text)));
    return { delivered: outcomes.filter((o) => o === "sent").length };
  }

  /**
   * Serializes each payload once (a payload with no JSON form is refused
   * here, before it can take a seq), logs the batch, then sends the same
   * frame text to every live socket. An acknowledging socket that would pass
   * `maxUnackedBytes` is closed with 4002 instead; it resumes from its last seq.
   */
  async #deliver(entries: readonly NewDelivery[], idempotencyKey?: string) {
    const serialized = entries.map(serializeDelivery);
    const now = this.#host.now();
    const appended = await this.#append(serialized, now, idempotencyKey);
    if (appended.duplicate || appended.deliveries.length === 0) return { ...appended, delivered: 0 };
    const texts = appended.deliveries.map((delivery, i) => messageFrameText(delivery, serialized[i]!.json));
    const frames = texts.length === 1 ? texts[0]! : texts;
    let sizes: number[] | undefined;
    const outcomes = await Promise.all(
      this.#liveSockets().map((socket) => {
        const attachment = this.#attachment(socket)!;
        if (attachment.acks) {
          sizes ??= texts.map(frameBytes);
          return this.#unackedOf(socket, attachment).then((unacked) => {
            appended.deliveries.forEach((delivery, i) => unacked.sent(delivery.seq, sizes![i]!));
            if (unacked.bytes > this.#config.maxUnackedBytes) {
              return this.#end(socket, attachment, CloseCode.SlowConsumer, UNACKED_BYTES_REASON).then(() => "overflow" as const);
            }
            return this.#sender(socket).send(frames);
          });
        }
        return this.#sender(socket).send(frames);
      }),
    );
    const pruning = this.#host.log.prune(now);
    if (pruning instanceof Promise) await pruning;
    return { ...appended, delivered: outcomes.filter((o) => o === "sent").length };
  }

  /**
   * An acknowledging socket's unacknowledged deliveries. The first time this
   * instance needs them (after a wake from hibernation, say) they are rebuilt
   * from the log: every delivery after the attachment's `ackedSeq` was sent
   * to the socket and not acknowledged.
   */
  #unackedOf(socket: S, attachment: ConnectionAttachment): Promise<UnackedDeliveries> {
    let unacked = this.#unacked.get(socket);
    if (!unacked) {
      unacked = this.#rebuildUnacked(attachment.ackedSeq);
      this.#unacked.set(socket, unacked);
    }
    return unacked;
  }

  async #rebuildUnacked(ackedSeq: number | undefined): Promise<UnackedDeliveries> {
    const unacked = new UnackedDeliveries();
    if (ackedSeq === undefined) return unacked;
    const log = this.#host.log;
    let replay = await log.since(ackedSeq);
    if (replay.kind === "gap") {
      // The log already dropped deliveries this socket never acknowledged: it cannot get them back, so it is
      // past any bound. Counted as one entry over the bound, so that it is closed (4002) and learns of the loss
      // from the reset its resume gets, unless an ack past them arrives first.
      if (ackedSeq >= replay.oldest - 1) return unacked;
      unacked.sent(replay.oldest - 1, this.#config.maxUnackedBytes + 1);
      replay = await log.since(replay.oldest - 1);
    }
    if (replay.kind === "replay") for (const delivery of replay.deliveries) unacked.sent(delivery.seq, frameBytes(messageText(delivery)));
    return unacked;
  }

  /** Appends to the log after every earlier append has settled, so seqs reach the sockets in the order they were taken. */
  #append(entries: readonly NewDelivery[], at: number, idempotencyKey?: string): Promise<AppendResult> {
    const log = this.#host.log;
    const appended = this.#appendTail.then(() => log.append(entries, at, idempotencyKey));
    this.#appendTail = appended.catch(() => {});
    return appended;
  }

  /** The frames that bring a resuming client up to `latest`: the deliveries it missed, or a reset when they are gone. */
  async #replay(resume: ResumePoint, latest: number, epoch: string): Promise<string[]> {
    const log = this.#host.log;
    const reset = async (): Promise<string[]> => {
      const frame: ResetFrame = { type: "reset", epoch, oldest: await log.oldestSeq(), latest };
      return [JSON.stringify(frame)];
    };
    if (resume.epoch !== null && resume.epoch !== epoch) return await reset();
    const replay = await log.since(resume.since);
    if (replay.kind === "gap") return await reset();
    // Deliveries after the welcome's seq go out live; replaying them too would send them twice.
    return replay.deliveries.filter((d) => d.seq <= latest).map(messageText);
  }

  async #refreshCredentials(socket: S, attachment: ConnectionAttachment, frame: ClientFrame): Promise<void> {
    const sender = this.#sender(socket);
    const refuse = (message: string) => sender.send(JSON.stringify(errorFrame(ErrorCode.AuthFailed, message)));
    if (typeof frame.token !== "string" || frame.token.length === 0) {
      await sender.send(JSON.stringify(errorFrame(ErrorCode.InvalidFrame, 'an "auth" frame needs a string "token"')));
      return;
    }
    if (!this.#options.verifyToken) {
      await refuse("this hub cannot verify tokens in band; reconnect with a fresh token");
      return;
    }
    let identity: Identity;
    try {
      identity = await this.#options.verifyToken(frame.token);
    } catch (error) {
      if (error instanceof KeySetUnavailableError) await refuse("the identity provider's key set is unreachable; try again shortly");
      else await refuse(error instanceof AuthError ? error.reason : "token refused");
      return;
    }
    if (identity.userId !== attachment.userId) {
      await refuse("token is for another user");
      return;
    }
    if (isRevoked(identity.issuedAt, await this.#host.revocation.read())) {
      await refuse(REVOKED);
      return;
    }
    const current = this.#attachment(socket);
    if (!current || current.closing) return;
    current.expiresAt = identity.expiresAt;
    current.issuedAt = identity.issuedAt ?? null;
    current.sessionId = identity.sessionId ?? null;
    this.#writeAttachment(socket, current);
    const answer: AuthFrame = { type: "auth", expiresAt: identity.expiresAt };
    await sender.send(JSON.stringify(answer));
    await this.#reschedule();
  }

  /**
   * Closes every socket that is stale at `now` (heartbeat timeout: 4000;
   * token expired: 4001), unless none can be yet. Every wake runs it first,
   * so no count, delivery or `onClose` ever includes a zombie. All of them
   * are marked closing before any `onClose` runs, so none counts another.
   */
  async #sweepStale(now: number = this.#host.now()): Promise<void> {
    if (!this.#sweep.mayBeStale(now)) return;
    const stale: [S, ConnectionAttachment, CloseCode][] = [];
    const live: Liveness[] = [];
    for (const socket of this.#liveSockets()) {
      const attachment = this.#attachment(socket)!;
      const liveness = this.#liveness(socket, attachment);
      const reason = this.#sweep.staleReason(liveness, now);
      if (reason === null) live.push(liveness);
      else stale.push([socket, attachment, reason === "token-expired" ? CloseCode.TokenExpired : CloseCode.HeartbeatTimeout]);
    }
    this.#sweep.scanned(this.#sweep.earliestStale(live));
    for (const [socket, attachment, code] of stale) {
      this.#markClosing(socket, attachment);
      this.#sender(socket).abort(code, CloseReason[code] ?? "");
    }
    for (const [socket, attachment, code] of stale) await this.#cleanup(socket, attachment, code, CloseReason[code] ?? "", true);
  }

  /** Sockets that are open and not being closed by the hub. */
  #liveSockets(): S[] {
    const open = this.#host.openSockets();
    // Most of the time every open socket is live: then the host's array is the answer, with no second one built.
    for (let i = 0; i < open.length; i++) {
      const attachment = this.#attachment(open[i]!);
      if (attachment === null || attachment.closing) {
        return open.filter((socket) => {
          const a = this.#attachment(socket);
          return a !== null && !a.closing;
        });
      }
    }
    return open;
  }

  #attachment(socket: S): ConnectionAttachment | null {
    const cached = this.#attachments.get(socket);
    if (cached) return cached;
    const attachment = this.#host.readAttachment(socket);
    if (attachment) this.#attachments.set(socket, attachment);
    return attachment;
  }

  #writeAttachment(socket: S, attachment: ConnectionAttachment): void {
    this.#attachments.set(socket, attachment);
    this.#host.writeAttachment(socket, attachment);
  }

  #liveness(socket: S, attachment: ConnectionAttachment): Liveness {
    return { ...attachment, lastAutoResponseAt: this.#host.lastAutoResponseAt(socket) };
  }

  #sender(socket: S): Sender {
    let sender = this.#senders.get(socket);
    if (!sender) {
      sender = new Sender(socket, {
        maxQueuedBytes: this.#config.maxQueuedBytes,
        onGone: (reason) => {
          if (reason === "overflow") {
            const attachment = this.#attachment(socket);
            if (attachment) void this.#cleanup(socket, attachment, CloseCode.SlowConsumer, CloseReason[CloseCode.SlowConsumer]!);
          }
        },
        onError: (error) => logFailure("send", error),
      });
      this.#senders.set(socket, sender);
    }
    return sender;
  }

  /** The hub ends a socket: close frame first (nothing is written after it), then cleanup. */
  async #end(socket: S, attachment: ConnectionAttachment, code: CloseCode, reason: string = CloseReason[code] ?? ""): Promise<void> {
    this.#markClosing(socket, attachment);
    this.#sender(socket).abort(code, reason);
    await this.#cleanup(socket, attachment, code, reason, true);
  }

  #markClosing(socket: S, attachment: ConnectionAttachment): boolean {
    if (attachment.closing) return false;
    attachment.closing = true;
    try {
      this.#writeAttachment(socket, attachment);
    } catch {
      // A closed socket may refuse a new attachment; the flag still holds for this instance.
    }
    return true;
  }

  async #cleanup(socket: S, attachment: ConnectionAttachment, code: number, reason: string, alreadyMarked = false): Promise<void> {
    if (!alreadyMarked && !this.#markClosing(socket, attachment)) return;
    await this.#reschedule();
    await this.#call("onClose", () => this.#app.onClose?.(this.#connection(socket, attachment), { code, reason }, this.#context(attachment.userId)));
  }

  /** Sets, moves or clears the one alarm when the one set no longer serves (see ZombieSweep); most calls write nothing. */
  async #reschedule(): Promise<void> {
    const earliest = this.#sweep.earliestStale(this.#liveSockets().map((socket) => this.#liveness(socket, this.#attachment(socket)!)));
    if (earliest !== null) this.#sweep.mayTurnStaleAt(earliest);
    if (this.#sweep.alarmUnknown) this.#sweep.alarmIs(await this.#host.scheduledWake());
    const at = this.#sweep.plan(earliest, this.#host.now());
    if (at === undefined) return;
    this.#sweep.alarmIs(at);
    await this.#host.scheduleWake(at);
  }

  #connection(socket: S, attachment: ConnectionAttachment): Connection {
    // One object per socket per instance, not one per frame.
    const known = this.#connections.get(socket);
    if (known) return known;
    const attachmentNow = () => this.#attachment(socket) ?? attachment;
    const connection: Connection = {
      id: attachment.connectionId,
      userId: attachment.userId,
      connectedAt: attachment.connectedAt,
      send: (frame: object | string) => this.#sender(socket).send(typeof frame === "string" ? frame : JSON.stringify(frame)),
      close: (code: number = CloseCode.Normal, reason?: string) => {
        const current = this.#attachment(socket);
        if (!current || current.closing) return;
        const text = reason ?? CloseReason[code] ?? "";
        this.#markClosing(socket, current);
        this.#sender(socket).close(code, text);
        void this.#cleanup(socket, current, code, text, true);
      },
      get state() {
        return readConnectionState(attachmentNow().state);
      },
      // Written through at once, like the hub's own fields: the object may hibernate right after the handler.
      setState: (next) => {
        const attachment = attachmentNow();
        const text = connectionStateText(typeof next === "function" ? next(readConnectionState(attachment.state)) : next);
        if (text === undefined) delete attachment.state;
        else attachment.state = text;
        this.#writeAttachment(socket, attachment);
        return readConnectionState(text);
      },
    };
    this.#connections.set(socket, connection);
    return connection;
  }

  #context(userId: string): HubContext {
    if (this.#hubContext?.userId === userId) return this.#hubContext;
    return (this.#hubContext = {
      userId,
      connections: () => this.#liveSockets().map((socket) => this.#connection(socket, this.#attachment(socket)!)),
      deliver: (data, options) => this.deliver(data, options),
      signal: (data, options) => this.signal(data, options),
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

/**
 * A `signal` frame's text, built around the payload's JSON: the same text as
 * `JSON.stringify` of a {@link SignalFrame} (same fields, same order),
 * without building the frame object first.
 */
/** `reason` cut to the {@link MAX_CLOSE_REASON_BYTES} UTF-8 bytes a close frame can carry, never inside a character. */
function closeReason(reason: string): string {
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

/** Why a revoked token is refused, at the upgrade, in band and for a ticket. */
const REVOKED = "token revoked";

/** A 429 that says why and when to try again (`Retry-After`, whole seconds). */
function retryLater(waitMs: number, why: string): Admission {
  const seconds = Math.ceil(waitMs / 1000);
  return {
    ok: false,
    status: HttpStatus.TooManyRequests,
    message: `429 Too Many Requests: ${why}; retry in ${seconds} s.\n`,
    headers: { "Retry-After": String(seconds) },
  };
}

function revokedAdmission(): Admission {
  return {
    ok: false,
    status: HttpStatus.Unauthorized,
    message: `401 Unauthorized: ${REVOKED}; sign in again for a new token.\n`,
    headers: { "WWW-Authenticate": `Bearer realm="userhub", error="invalid_token", error_description="${REVOKED}"` },
  };
}

/** One line per failure: a name and a message, never a stack trace (and hub code never holds a token). */
function logFailure(where: string, error: unknown): void {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  console.error(`userhub: ${where} failed: ${text.split("\n")[0]}`);
}
