import type { DisconnectOptions, DisconnectResult, HubApp, HubConfig, Identity, PushOptions, PushResult } from "../index.ts";
import {
  type DirectDelivery,
  type DeliveryLog,
  Hub,
  type HubHandoff,
  type DirectRefusal,
  type LoggedDelivery,
  type PeerHubs,
  type RevocationWatermark,
  type TicketResult,
  type TicketStore,
  type UserRateLimits,
} from "../host.ts";
import { LocalHubHost } from "./local-hub-host.ts";
import { SocketInbox } from "./socket-inbox.ts";

/** What a {@link LocalHub} is built from; the namespace supplies it. */
export interface LocalHubOptions {
  readonly app: HubApp;
  readonly config: HubConfig;
  readonly log: DeliveryLog;
  readonly tickets: TicketStore;
  /** The user's revocation watermark, which outlives this hub (the namespace keeps it). */
  readonly revocation?: RevocationWatermark;
  readonly verifyToken?: (token: string) => Promise<Identity>;
  /** This user's connection and ticket limits, kept by the namespace so that they outlive the hub. */
  readonly userLimits?: UserRateLimits;
  /** Deno's protocol-level ping timeout for dead TCP connections, in seconds (`Deno.upgradeWebSocket`'s `idleTimeout`). */
  readonly idleTimeoutSeconds?: number;
  /** Other users' hubs, for `hub.users.deliver` (the namespace). */
  readonly users?: PeerHubs;
  /** Called once, when the hub holds no socket and no request is in flight: the namespace lets it go. */
  readonly onEmpty: (hub: LocalHub) => void;
}

/**
 * One user's hub on Deno: the shared {@link Hub} logic over a
 * {@link LocalHubHost}, plus what only Deno needs: upgrading the request,
 * routing the socket's events to the hub, and telling its namespace when
 * the user's last socket has left.
 *
 * Deno's socket opens only after the 101 has been returned, so the hub greets
 * it from its `open` event.
 */
export class LocalHub {
  readonly userId: string;
  readonly host: LocalHubHost<WebSocket>;
  readonly #hub: Hub<WebSocket>;
  readonly #options: LocalHubOptions;
  /** Requests awaiting the hub (admission, push, ticket): the hub must not be dropped under them. */
  #inFlight = 0;
  #dropped = false;

  constructor(userId: string, options: LocalHubOptions) {
    this.userId = userId;
    this.#options = options;
    this.host = new LocalHubHost<WebSocket>({
      log: options.log,
      tickets: options.tickets,
      ...(options.revocation ? { revocation: options.revocation } : {}),
      ...(options.users ? { users: options.users } : {}),
      onWake: () => this.#settle(this.#hub.wake(), "wake"),
    });
    this.#hub = new Hub(this.host, options.app, options.config, {
      ...(options.verifyToken ? { verifyToken: options.verifyToken } : {}),
      ...(options.userLimits ? { userLimits: options.userLimits } : {}),
    });
  }

  /** Whether the namespace has let this hub go. */
  get dropped(): boolean {
    return this.#dropped;
  }

  /** Admits and upgrades a request the router handed over: 101 with a socket, or the hub's refusal (401 ticket, 429 limit). */
  async connect(request: Request, handoff: HubHandoff): Promise<Response> {
    // Held until the socket is accepted, so the hub cannot be dropped between admission and upgrade.
    this.#inFlight++;
    try {
      let upgraded: { socket: WebSocket; response: Response } | undefined;
      // One frame at a time per socket, after the greeting, as on workerd; size and rate are checked on arrival, before queueing.
      const inbox = new SocketInbox(this.#options.config.maxMessageBacklog, (error) => logFailure("message", error));
      const accepted = await this.#hub.accept(
        handoff,
        () => {
          // The router already chose the protocol. Deno's own check splits the offer on ", " exactly and refuses
          // `userhub.v1,bearer.<jwt>` (valid list syntax, sent by some clients), so the answer's header is set here instead.
          upgraded = Deno.upgradeWebSocket(request, {
            ...(this.#options.idleTimeoutSeconds === undefined ? {} : { idleTimeout: this.#options.idleTimeoutSeconds }),
          });
          upgraded.socket.binaryType = "arraybuffer";
          this.host.accept(upgraded.socket);
          return upgraded.socket;
        },
        { whenOpen: (greet) => upgraded!.socket.addEventListener("open", () => void inbox.push(greet)) },
      );
      if (!accepted.ok) return new Response(accepted.message, { status: accepted.status, headers: accepted.headers ?? {} });
      const { socket, response } = upgraded!;
      if (handoff.protocol) response.headers.set("Sec-WebSocket-Protocol", handoff.protocol);
      socket.addEventListener("message", (event) => {
        const data = event.data as string | ArrayBuffer;
        if (!this.#hub.admitFrame(socket, data)) return;
        if (!inbox.push(() => this.#hub.handleFrame(socket, data))) this.#settle(this.#hub.backlogFull(socket), "message");
      });
      socket.addEventListener("close", (event) => this.#leave(socket, this.#hub.closed(socket, event.code, event.reason)));
      socket.addEventListener("error", () => this.#leave(socket, this.#hub.errored(socket)));
      return response;
    } finally {
      this.#inFlight--;
      this.#dropIfEmpty();
    }
  }

  /** Logs `messages` and sends them to every open socket of this user. */
  async push(messages: readonly unknown[], options?: PushOptions): Promise<PushResult> {
    try {
      return await this.#during(() => this.#hub.push(messages, options));
    } finally {
      this.#dropIfEmpty();
    }
  }

  /** Logs a delivery another user's hub sent (`hub.users.deliver`) and sends it to every open socket of this user, with `fromUser`. */
  async receiveDirect(delivery: DirectDelivery): Promise<LoggedDelivery | DirectRefusal> {
    try {
      return await this.#during(() => this.#hub.receiveDirect(delivery));
    } finally {
      this.#dropIfEmpty();
    }
  }

  /** Closes this user's sockets with 4003 (all, one connection or one session's) and may raise the revocation watermark. */
  async disconnect(options?: DisconnectOptions): Promise<DisconnectResult> {
    try {
      return await this.#during(() => this.#hub.disconnect(options));
    } finally {
      this.#dropIfEmpty();
    }
  }

  /** Issues a single-use connect ticket for `identity`, unless its token is revoked. */
  async issueTicket(identity: Identity): Promise<TicketResult> {
    try {
      return await this.#during(() => this.#hub.issueTicket(identity));
    } finally {
      this.#dropIfEmpty();
    }
  }

  async #during<T>(run: () => Promise<T>): Promise<T> {
    this.#inFlight++;
    try {
      return await run();
    } finally {
      this.#inFlight--;
    }
  }

  /** The socket is gone: once the hub has cleaned up after it, let go of it, and of the hub if it was the last. */
  #leave(socket: WebSocket, cleanup: Promise<void>): void {
    cleanup.catch((error) => logFailure("close", error)).finally(() => {
      this.host.forget(socket);
      this.#dropIfEmpty();
    });
  }

  #dropIfEmpty(): void {
    if (this.#dropped || this.#inFlight > 0 || this.host.socketCount > 0) return;
    this.#dropped = true;
    this.host.dispose();
    this.#options.onEmpty(this);
  }

  #settle(work: Promise<void>, event: string): void {
    work.catch((error) => logFailure(event, error));
  }
}

function logFailure(event: string, error: unknown): void {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  console.error(`userhub: ${event} on Deno failed: ${text.split("\n")[0]}`);
}
