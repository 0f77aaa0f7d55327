import { CloseCode, CloseReason } from "./close-code.ts";
import type { HubConfig } from "./config.ts";
import type { Delivery } from "./delivery-log.ts";
import { type Liveness, nextWake, staleReason } from "./heartbeat.ts";
import { type Connection, FrameError, type HubApp, type HubContext } from "./hub-app.ts";
import type { ConnectionAttachment, HubHost } from "./hub-host.ts";
import type { Identity } from "./auth.ts";
import {
  errorFrame,
  ErrorCode,
  HEARTBEAT_PING,
  HEARTBEAT_PONG,
  isLargerThan,
  type MessageFrame,
  parseClientFrame,
  type ServerFrame,
  type WelcomeFrame,
} from "./protocol.ts";
import { Sender, type WritableSocket } from "./sender.ts";

/**
 * The hub logic, written once for every host. It holds no state that must
 * outlive one event: on Cloudflare the object may be rebuilt between any two
 * messages, so everything durable lives in the host (attachments, the log,
 * the scheduled wake). Only the per-socket senders live here, because
 * ordering matters only among writes of one live instance.
 *
 * @example
 * ```ts
 * const hub = new Hub(host, fanOutApp, readHubConfig(env));
 * // host accepted `socket`:
 * await hub.open(socket, hub.attachmentFor(identity));
 * ```
 */
export class Hub<S extends WritableSocket = WritableSocket> {
  readonly #host: HubHost<S>;
  readonly #app: HubApp;
  readonly #config: HubConfig;
  readonly #senders = new WeakMap<S, Sender>();

  constructor(host: HubHost<S>, app: HubApp, config: HubConfig) {
    this.#host = host;
    this.#app = app;
    this.#config = config;
  }

  /** Whether one more socket fits under `maxConnectionsPerUser`. */
  canAdmit(): boolean {
    return this.#host.openSockets().length < this.#config.maxConnectionsPerUser;
  }

  /** The attachment for a new socket of `identity`, with a connection id the server assigns. */
  attachmentFor(identity: Identity): ConnectionAttachment {
    const now = this.#host.now();
    return {
      connectionId: crypto.randomUUID(),
      userId: identity.userId,
      connectedAt: now,
      lastMessageAt: now,
      expiresAt: identity.expiresAt,
    };
  }

  /** A socket the host has just accepted (with `attachment` stored): greet it, tell the app, arm the wake-up. */
  async open(socket: S): Promise<void> {
    const attachment = this.#attachment(socket);
    if (!attachment) return;
    const welcome: WelcomeFrame = {
      type: "welcome",
      connectionId: attachment.connectionId,
      userId: attachment.userId,
      connections: this.#liveSockets().length,
      seq: await this.#host.log.latestSeq(),
      heartbeat: this.#config.heartbeat,
    };
    await this.#sender(socket).send(JSON.stringify(welcome));
    await this.#reschedule();
    await this.#call("onConnect", () => this.#app.onConnect?.(this.#connection(socket, attachment), this.#context(attachment.userId)));
  }

  /** A frame arrived on `socket`. */
  async message(socket: S, data: string | ArrayBuffer): Promise<void> {
    const attachment = this.#attachment(socket);
    if (!attachment || attachment.closing) return;
    if (isLargerThan(data, this.#config.maxMessageBytes)) {
      await this.#end(socket, attachment, CloseCode.MessageTooBig);
      return;
    }
    attachment.lastMessageAt = this.#host.now();
    this.#host.writeAttachment(socket, attachment);
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
    const handler = this.#app.frames?.[parsed.frame.type];
    if (!handler || !Object.hasOwn(this.#app.frames!, parsed.frame.type)) {
      await sender.send(JSON.stringify(errorFrame(ErrorCode.UnknownType, `unknown frame type ${JSON.stringify(parsed.frame.type.slice(0, 64))}`)));
      return;
    }
    try {
      await handler(parsed.frame, this.#connection(socket, attachment), this.#context(attachment.userId));
    } catch (error) {
      if (error instanceof FrameError) {
        await sender.send(JSON.stringify(errorFrame(ErrorCode.InvalidFrame, error.message)));
      } else {
        logFailure(`frame handler "${parsed.frame.type}"`, error);
        await sender.send(JSON.stringify(errorFrame(ErrorCode.HandlerFailed, `the "${parsed.frame.type}" handler failed; nothing was delivered`)));
      }
    }
  }

  /** The peer sent a close frame (or the connection dropped): answer once, clean up once. */
  async closed(socket: S, code: number, reason: string): Promise<void> {
    this.#sender(socket).answerClose(code, reason);
    const attachment = this.#attachment(socket);
    if (attachment) await this.#cleanup(socket, attachment, code, reason);
  }

  /** The runtime reported an error on `socket`: it is gone; clean up once. */
  async errored(socket: S): Promise<void> {
    const attachment = this.#attachment(socket);
    if (attachment) await this.#cleanup(socket, attachment, CloseCode.InternalError, "socket error");
  }

  /**
   * The scheduled wake-up: close every socket whose heartbeat timed out or
   * whose token expired, then schedule the next wake-up (none if no socket is left).
   */
  async wake(): Promise<void> {
    const now = this.#host.now();
    const timeout = this.#config.heartbeat.timeoutMs;
    for (const socket of this.#liveSockets()) {
      const attachment = this.#attachment(socket)!;
      const stale = staleReason(this.#liveness(socket, attachment), timeout, now);
      if (stale === "token-expired") await this.#end(socket, attachment, CloseCode.TokenExpired);
      else if (stale === "heartbeat-timeout") await this.#end(socket, attachment, CloseCode.HeartbeatTimeout);
    }
    await this.#reschedule();
  }

  /** Logs `data`, then sends it to every open socket of the user. */
  async deliver(data: unknown, options: { from?: string } = {}): Promise<{ delivery: Delivery; delivered: number }> {
    const delivery = await this.#host.log.append({ data, at: this.#host.now(), ...(options.from ? { from: options.from } : {}) });
    const frame: MessageFrame = { type: "message", seq: delivery.seq, data: delivery.data, at: delivery.at, ...(delivery.from ? { from: delivery.from } : {}) };
    const text = JSON.stringify(frame);
    const outcomes = await Promise.all(this.#liveSockets().map((socket) => this.#sender(socket).send(text)));
    return { delivery, delivered: outcomes.filter((o) => o === "sent").length };
  }

  /** Sockets that are open and not being closed by the hub. */
  #liveSockets(): S[] {
    return this.#host.openSockets().filter((socket) => {
      const attachment = this.#attachment(socket);
      return attachment !== null && !attachment.closing;
    });
  }

  #attachment(socket: S): ConnectionAttachment | null {
    return this.#host.readAttachment(socket);
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
  async #end(socket: S, attachment: ConnectionAttachment, code: CloseCode): Promise<void> {
    const reason = CloseReason[code] ?? "";
    this.#markClosing(socket, attachment);
    this.#sender(socket).abort(code, reason);
    await this.#cleanup(socket, attachment, code, reason, true);
  }

  #markClosing(socket: S, attachment: ConnectionAttachment): boolean {
    if (attachment.closing) return false;
    attachment.closing = true;
    try {
      this.#host.writeAttachment(socket, attachment);
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

  async #reschedule(): Promise<void> {
    const sockets = this.#liveSockets().map((socket) => this.#liveness(socket, this.#attachment(socket)!));
    await this.#host.scheduleWake(nextWake(sockets, this.#config.heartbeat.timeoutMs));
  }

  #connection(socket: S, attachment: ConnectionAttachment): Connection {
    return {
      id: attachment.connectionId,
      userId: attachment.userId,
      connectedAt: attachment.connectedAt,
      send: (frame: object | string) => this.#sender(socket).send(typeof frame === "string" ? frame : JSON.stringify(frame as ServerFrame)),
      close: (code: number = CloseCode.Normal, reason?: string) => {
        const current = this.#attachment(socket);
        if (!current || current.closing) return;
        this.#markClosing(socket, current);
        this.#sender(socket).close(code, reason ?? CloseReason[code] ?? "");
        void this.#cleanup(socket, current, code, reason ?? CloseReason[code] ?? "", true);
      },
    };
  }

  #context(userId: string): HubContext {
    return {
      userId,
      connections: () => this.#liveSockets().map((socket) => this.#connection(socket, this.#attachment(socket)!)),
      deliver: (data, options) => this.deliver(data, options),
    };
  }

  async #call(hook: string, run: () => void | Promise<void>): Promise<void> {
    try {
      await run();
    } catch (error) {
      logFailure(hook, error);
    }
  }
}

/** One line per failure: a name and a message, never a stack trace (and hub code never holds a token). */
function logFailure(where: string, error: unknown): void {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  console.error(`userhub: ${where} failed: ${text.split("\n")[0]}`);
}
