import {
  type DisconnectOptions,
  type DisconnectResult,
  type HubApp,
  type HubConfig,
  type Identity,
  type PushOptions,
  type PushResult,
  PUSH_ONLY_APP,
  readHubConfig,
} from "../index.ts";
import {
  type DeliveryLog,
  type DirectDelivery,
  type HubHandoff,
  type HubNamespace,
  type DirectRefusal,
  type LoggedDelivery,
  MemoryDeliveryLog,
  MemoryRevocationWatermarks,
  MemoryTicketStore,
  checkUserId,
  type PeerHubs,
  UserRateLimits,
  retentionOf,
  type TicketResult,
} from "../host.ts";
import { LocalHub } from "./local-hub.ts";

/** Options of a {@link LocalHubNamespace}. */
export interface LocalHubNamespaceOptions {
  /** The hubs' configuration. Default: `readHubConfig({})`, the documented defaults. */
  readonly config?: HubConfig;
  /** The application every hub runs. Default `PUSH_ONLY_APP`: none of its own (the hubs carry pushes and the protocol's frames). */
  readonly app?: HubApp;
  /**
   * Opens a user's delivery log when their hub is created. Default: a new
   * `MemoryDeliveryLog`, which goes when the hub goes (the next hub of that
   * user starts a new epoch). A durable log plugs in here; its `append` must
   * settle in the order it was called, so that deliveries are sent in `seq` order.
   */
  readonly log?: (userId: string, config: HubConfig) => DeliveryLog;
  /** Verifies a token sent in band (`{"type":"auth"}`), as at the upgrade. Without it such frames are refused. */
  readonly verifyToken?: (token: string) => Promise<Identity>;
  /** Deno's protocol-level ping timeout for dead TCP connections, in seconds. Default: Deno's (30). */
  readonly idleTimeoutSeconds?: number;
}

/** What a namespace holds right now; all zero once every user has left. */
export interface LocalHubStats {
  /** Users with a live hub. */
  readonly hubs: number;
  /** Sockets held by those hubs, in any state. */
  readonly sockets: number;
  /** Pending wake-up timers: at most one per hub. */
  readonly timers: number;
}

/**
 * The {@link HubNamespace} of one Deno process: one {@link LocalHub} per user
 * who has a socket open, created on that user's first connection and dropped
 * when their last socket leaves. It is an object the application creates and
 * owns (no module-level registry), and it only holds users who are connected.
 *
 * Connect tickets are kept by the namespace rather than by a hub, because a
 * ticket is usually issued while its user has no socket yet; they are
 * short-lived, and expired ones are swept as new ones are issued.
 *
 * It is also how one user's hub reaches another's ({@link PeerHubs}, for
 * `hub.users.deliver`): a recipient with no socket open gets a hub for the
 * delivery, which goes again once it is logged (with the default in-memory
 * log the delivery goes with it; give a durable `log` to keep it for resume).
 *
 * @example
 * ```ts
 * import { createUserhubRouter, readHubConfig } from "userhub";
 * import { LocalHubNamespace } from "userhub/deno";
 *
 * const hubs = new LocalHubNamespace({ config: readHubConfig(Deno.env.toObject()) });
 * const router = createUserhubRouter({ hubs: () => hubs, secret: () => Deno.env.get("JWT_SECRET") });
 * Deno.serve((request) => router.fetch(request));
 * ```
 */
export class LocalHubNamespace implements HubNamespace, PeerHubs {
  readonly config: HubConfig;
  readonly #app: HubApp;
  readonly #openLog: (userId: string, config: HubConfig) => DeliveryLog;
  readonly #verifyToken: ((token: string) => Promise<Identity>) | undefined;
  readonly #idleTimeoutSeconds: number | undefined;
  readonly #tickets = new MemoryTicketStore();
  /** Revocation watermarks outlive a user's hub (it goes with their last socket), so the namespace keeps them, like tickets. */
  readonly #watermarks = new MemoryRevocationWatermarks();
  readonly #hubs = new Map<string, LocalHub>();
  /** Users' connection and ticket limits, kept past their hubs for as long as they could still refuse (a minute). */
  readonly #limits = new Map<string, UserRateLimits>();
  #limitLookups = 0;

  constructor(options: LocalHubNamespaceOptions = {}) {
    this.config = options.config ?? readHubConfig({});
    this.#app = options.app ?? PUSH_ONLY_APP;
    this.#openLog = options.log ?? ((_userId, config) => new MemoryDeliveryLog(retentionOf(config)));
    this.#verifyToken = options.verifyToken;
    this.#idleTimeoutSeconds = options.idleTimeoutSeconds;
  }

  connect(request: Request, handoff: HubHandoff): Promise<Response> {
    return this.#hubOf(handoff.userId).connect(request, handoff);
  }

  issueTicket(identity: Identity): Promise<TicketResult> {
    return this.#hubOf(identity.userId).issueTicket(identity);
  }

  /**
   * Closes `userId`'s sockets with 4003, drops their unredeemed tickets, and
   * with `revokeTokensIssuedBefore` keeps a watermark (for as long as this
   * namespace lives) that refuses their older tokens.
   *
   * @example
   * ```ts
   * await hubs.disconnect("alice", { revokeTokensIssuedBefore: Math.floor(Date.now() / 1000) });
   * ```
   */
  disconnect(userId: string, options?: DisconnectOptions): Promise<DisconnectResult> {
    try {
      checkUserId(userId);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#hubOf(userId).disconnect(options);
  }

  /** Logs `messages` for `userId` and sends them to that user's sockets (see `HubNamespace.push`). */
  push(userId: string, messages: readonly unknown[], options?: PushOptions): Promise<PushResult> {
    try {
      checkUserId(userId);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#hubOf(userId).push(messages, options);
  }

  /** Hands a delivery from another user's hub (`hub.users.deliver`) to `userId`'s hub, which logs it and sends it to that user's sockets. */
  deliverDirect(userId: string, delivery: DirectDelivery): Promise<LoggedDelivery | DirectRefusal> {
    return this.#hubOf(userId).receiveDirect(delivery);
  }

  /** Users with a live hub. */
  get size(): number {
    return this.#hubs.size;
  }

  /** The live hub of `userId`, if that user is connected. */
  hub(userId: string): LocalHub | undefined {
    return this.#hubs.get(userId);
  }

  /** What the namespace holds right now. */
  stats(): LocalHubStats {
    let sockets = 0;
    let timers = 0;
    for (const hub of this.#hubs.values()) {
      sockets += hub.host.socketCount;
      if (hub.host.hasTimer) timers++;
    }
    return { hubs: this.#hubs.size, sockets, timers };
  }

  #limitsOf(userId: string): UserRateLimits {
    const now = Date.now();
    // Every so often, forget limits unused for a minute: they are full again, as a new one would be.
    if (++this.#limitLookups % 256 === 0) {
      for (const [user, limits] of this.#limits) if (now - limits.usedAt >= 60_000 && !this.#hubs.has(user)) this.#limits.delete(user);
    }
    let limits = this.#limits.get(userId);
    if (!limits) this.#limits.set(userId, (limits = new UserRateLimits(this.config, now)));
    return limits;
  }

  #hubOf(userId: string): LocalHub {
    let hub = this.#hubs.get(userId);
    if (!hub) {
      hub = new LocalHub(userId, {
        app: this.#app,
        config: this.config,
        log: this.#openLog(userId, this.config),
        tickets: this.#tickets.forUser(userId),
        revocation: this.#watermarks.forUser(userId),
        userLimits: this.#limitsOf(userId),
        users: this,
        ...(this.#verifyToken ? { verifyToken: this.#verifyToken } : {}),
        ...(this.#idleTimeoutSeconds === undefined ? {} : { idleTimeoutSeconds: this.#idleTimeoutSeconds }),
        onEmpty: (empty) => {
          if (this.#hubs.get(empty.userId) === empty) this.#hubs.delete(empty.userId);
        },
      });
      this.#hubs.set(userId, hub);
    }
    return hub;
  }
}
