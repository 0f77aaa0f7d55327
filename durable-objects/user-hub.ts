import { DurableObject } from "cloudflare:workers";
import {
  type AuthOptions,
  ConfigError,
  type DisconnectOptions,
  type DisconnectResult,
  type HubApp,
  type HubConfig,
  type Identity,
  type PushOptions,
  type PushResult,
  PUSH_ONLY_APP,
  verifyToken,
} from "../src/index.ts";
import {
  type DirectDelivery,
  type DirectRefusal,
  HEARTBEAT_PING,
  HEARTBEAT_PONG,
  HttpStatus,
  Hub,
  type LoggedDelivery,
  type PeerHubs,
  retentionOf,
  type TicketResult,
} from "../src/host.ts";
import { DurableObjectHost } from "./durable-object-host.ts";
import { authOptionsOf, hubConfigOf } from "./env-config.ts";
import { durableObjectHubs } from "./hub-namespace.ts";
import { readHandoff } from "./handoff.ts";
import { SqliteDeliveryLog } from "./sqlite-delivery-log.ts";
import { SqliteRevocationWatermark } from "./sqlite-revocation-watermark.ts";
import { SqliteTicketStore } from "./sqlite-ticket-store.ts";

/** The variables a `UserHub` reads (all optional strings; see the README's configuration table). */
export interface UserHubEnv {
  /** These verify in-band `auth` frames exactly as the router verifies upgrades (see `readAuthOptions`). */
  JWT_SECRET?: string;
  JWKS_URL?: string;
  JWT_ALGORITHMS?: string;
  JWT_ISSUER?: string;
  JWT_AUDIENCE?: string;
  JWT_USER_CLAIM?: string;
  JWKS_UNKNOWN_KID_REFETCH_MS?: string;
  HEARTBEAT_INTERVAL_MS?: string;
  HEARTBEAT_TIMEOUT_MS?: string;
  HEARTBEAT_SWEEP_MS?: string;
  MAX_MESSAGE_BYTES?: string;
  MAX_CONNECTIONS_PER_USER?: string;
  MAX_QUEUED_BYTES?: string;
  LOG_RETENTION?: string;
  LOG_RETENTION_MS?: string;
  LOG_RETENTION_BYTES?: string;
  TICKET_TTL_MS?: string;
  DIRECT_DELIVERIES_PER_MINUTE?: string;
  RATE_LIMIT_FRAMES_PER_SECOND?: string;
  RATE_LIMIT_FRAME_BURST?: string;
  RATE_LIMIT_BYTES_PER_SECOND?: string;
  RATE_LIMIT_BYTE_BURST?: string;
  RATE_LIMIT_CLOSE_AFTER_MS?: string;
  RATE_LIMIT_PENALTY_MS?: string;
  CONNECTIONS_PER_MINUTE?: string;
  TICKETS_PER_MINUTE?: string;
  MAX_UNACKED_BYTES?: string;
  /** Read, but used only by the Deno host (a frame queue per socket). */
  MAX_MESSAGE_BACKLOG?: string;
}

/**
 * One user's hub: a Durable Object that holds every socket of that user, on
 * every device, with the WebSocket Hibernation API. Heartbeat pings are
 * answered by the runtime without waking it; its one alarm closes sockets
 * whose heartbeat timed out or whose token expired; everything it needs
 * after hibernation lives in socket attachments and SQLite (the delivery
 * log, tickets).
 *
 * Bring your own application with {@link UserHub.with} (or by overriding
 * `app` in a subclass); `UserHub` itself runs none (`PUSH_ONLY_APP`). Push to
 * a user from any Worker, Durable Object or queue consumer with the `push`
 * RPC method. An application's `hub.users.deliver` reaches another user's
 * hub through this class's own binding (`USER_HUB` unless `with` names
 * another), with one RPC to that hub's `receiveDirect`.
 *
 * @example
 * ```ts
 * import { UserHub } from "userhub/cloudflare";
 * import type { HubApp } from "userhub";
 *
 * const chat: HubApp = {
 *   frames: { send: async (frame, connection, hub) => void (await hub.deliver(frame.data, { from: connection.id })) },
 * };
 * export const ChatHub = UserHub.with(chat);
 * // elsewhere, with the binding: await env.USER_HUB.get(env.USER_HUB.idFromName("alice")).push([{ text: "hi" }]);
 * ```
 */
export class UserHub<Env extends UserHubEnv = UserHubEnv> extends DurableObject<Env> {
  /**
   * The Durable Object class that runs `app`: export it under the class
   * name your wrangler configuration binds. `options.hub` is the name of
   * that binding (`[[durable_objects.bindings]] name`), through which
   * `hub.users.deliver` reaches other users' hubs.
   *
   * @example
   * ```ts
   * export const ChatHub = UserHub.with(chat, { hub: "CHAT_HUB" });
   * ```
   */
  static with<E extends UserHubEnv = UserHubEnv>(app: HubApp, options: { readonly hub?: string } = {}): typeof UserHub<E> {
    const binding = options.hub;
    return class extends UserHub<E> {
      protected override app: HubApp = app;
      protected override hubBinding: string = binding ?? DEFAULT_HUB_BINDING;
    };
  }

  /** The application this hub runs. Default: none of its own (`PUSH_ONLY_APP`): the hub carries pushes and the protocol's frames. */
  protected app: HubApp = PUSH_ONLY_APP;
  /**
   * The name of this class's own Durable Object binding, through which
   * `hub.users.deliver` reaches other users' hubs. Read only when an
   * application delivers to another user.
   * @default "USER_HUB"
   */
  protected hubBinding: string = DEFAULT_HUB_BINDING;
  #peers: PeerHubs | undefined;
  #hub: Hub<WebSocket> | undefined;
  #config: HubConfig | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // Kept by the runtime across hibernation: set it only if it is not set yet.
    if (!ctx.getWebSocketAutoResponse()) {
      ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(HEARTBEAT_PING, HEARTBEAT_PONG));
    }
  }

  /** The hub logic, built on first use (after any subclass has set `app`). */
  protected get hub(): Hub<WebSocket> {
    if (!this.#hub) {
      const config = this.config;
      const sql = this.ctx.storage.sql;
      const host = new DurableObjectHost(
        this.ctx,
        new SqliteDeliveryLog(sql, retentionOf(config)),
        new SqliteTicketStore(sql),
        new SqliteRevocationWatermark(sql),
        { deliverDirect: (userId, delivery) => this.peers.deliverDirect(userId, delivery) },
      );
      const auth = this.auth;
      this.#hub = new Hub(host, this.app, config, auth.secret || auth.jwksUrl || auth.keySet ? { verifyToken: (token) => verifyToken(token, auth) } : {});
    }
    return this.#hub;
  }

  /**
   * How in-band `auth` frames are verified: by default the same variables
   * the router reads (`JWT_SECRET`, `JWKS_URL`, `JWT_ALGORITHMS`,
   * `JWT_ISSUER`, `JWT_AUDIENCE`, `JWT_USER_CLAIM`). Override it when your
   * router is given options in code rather than variables.
   */
  protected get auth(): AuthOptions {
    return authOptionsOf(this.env);
  }

  /**
   * The other users' hubs: this class's own namespace, from the binding
   * named {@link hubBinding}.
   *
   * @throws {ConfigError} (a `handler_failed` to the client, and a log line naming it) when there is no such binding.
   */
  protected get peers(): PeerHubs {
    if (!this.#peers) {
      const binding = (this.env as Record<string, unknown>)[this.hubBinding] as { idFromName?: unknown } | undefined;
      if (typeof binding?.idFromName !== "function") {
        throw new ConfigError(this.hubBinding, "is not a Durable Object binding; hub.users.deliver reaches other users' hubs through it (UserHub.with(app, { hub }) names it)");
      }
      this.#peers = durableObjectHubs(binding as unknown as DurableObjectNamespace<UserHub>);
    }
    return this.#peers;
  }

  /**
   * This hub's configuration, read from `env` (once per `env`). `userhubWorker`
   * reads the same before it reaches a hub, so that a variable that cannot be
   * used is answered at the edge; an override here is not seen there.
   */
  protected get config(): HubConfig {
    return (this.#config ??= hubConfigOf(this.env));
  }

  /**
   * Logs `messages` for this user and sends them to every open socket, in
   * order. With an idempotency key seen before, delivers nothing again.
   * Over RPC a thrown error arrives with the named class's `name` and its
   * message, though not as an instance of the class.
   *
   * @throws {InvalidPushError} for arguments that are not a push: not an array of 1 to 100 messages (none undefined), or options other than `idempotencyKey` and `keyScope`.
   * @throws {InvalidIdempotencyKeyError} (a RangeError) when `idempotencyKey` is not a string of 1 to 200 characters of well-formed Unicode.
   * @throws {UnserializablePayloadError} when a message has no JSON form.
   */
  async push(messages: unknown[], options: PushOptions = {}): Promise<PushResult> {
    return await this.hub.push(messages, options);
  }

  /**
   * Logs a delivery another user's hub sent (`hub.users.deliver`) with this
   * user's next seq and sends it to every open socket as a `message` with
   * `fromUser`. It runs no application code, so it never calls back into the
   * sender's hub. Called over RPC by `durableObjectHubs(…).deliverDirect`.
   * A sender past `DIRECT_DELIVERIES_PER_MINUTE` gets a `DirectRefusal`, and
   * nothing is logged; a retry of a delivery already logged (its key
   * remembered) is answered as the duplicate it is, quota or not.
   */
  async receiveDirect(delivery: DirectDelivery): Promise<LoggedDelivery | DirectRefusal> {
    return await this.hub.receiveDirect(delivery);
  }

  /** Issues a single-use connect ticket for a caller the router verified, unless this hub revoked that token. */
  async issueTicket(identity: Identity): Promise<TicketResult> {
    return await this.hub.issueTicket(identity);
  }

  /**
   * Throws the user out: closes their sockets (all, one connection, or one
   * session's) with 4003, drops their unredeemed tickets, and with
   * `revokeTokensIssuedBefore` (epoch seconds) keeps a watermark that
   * refuses older tokens from then on.
   *
   * @throws {InvalidDisconnectOptionsError} for options that are not `DisconnectOptions` (a watermark that is not a finite number of epoch seconds, an id that is not a string, a field that is not an option).
   * @throws {FutureRevocationError} for a `revokeTokensIssuedBefore` later than now (milliseconds given for seconds, say).
   *
   * @example
   * ```ts
   * // "log out everywhere", from any Worker with the binding:
   * await env.USER_HUB.get(env.USER_HUB.idFromName("alice")).disconnect({ revokeTokensIssuedBefore: Math.floor(Date.now() / 1000) });
   * ```
   */
  async disconnect(options: DisconnectOptions = {}): Promise<DisconnectResult> {
    return await this.hub.disconnect(options);
  }

  /** Accepts a socket handed over by the router (see `durableObjectHubs`). */
  override async fetch(request: Request): Promise<Response> {
    const handoff = readHandoff(request);
    if (handoff === null) {
      return new Response("400 Bad Request: a UserHub only accepts sockets handed over by the userhub router.\n", { status: HttpStatus.BadRequest });
    }
    let hub: Hub<WebSocket>;
    try {
      hub = this.hub;
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      console.error(`userhub: configuration error: ${error.message}`);
      return new Response(`500 Internal Server Error: server misconfigured: ${error.message}.\n`, { status: HttpStatus.InternalServerError });
    }
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    const accepted = await hub.accept(handoff, (attachment) => {
      this.ctx.acceptWebSocket(server, [`conn:${attachment.connectionId}`]);
      return server;
    });
    if (!accepted.ok) return new Response(accepted.message, { status: accepted.status, headers: accepted.headers ?? {} });
    return new Response(null, {
      status: HttpStatus.SwitchingProtocols,
      webSocket: client,
      headers: handoff.protocol ? { "Sec-WebSocket-Protocol": handoff.protocol } : {},
    });
  }

  // The hub's promise is handed straight back (no async wrapper of our own): every frame of every user comes through here.
  override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    return this.hub.message(ws, message);
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    await this.hub.closed(ws, code, reason);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    await this.hub.errored(ws);
  }

  override async alarm(): Promise<void> {
    await this.hub.wake();
  }
}

/** The binding `hub.users.deliver` uses unless `UserHub.with` names another: the name the README and the demo use. */
const DEFAULT_HUB_BINDING = "USER_HUB";
