import type { Identity } from "../edge/auth.ts";
import { HttpStatus } from "../protocol/http-status.ts";
import type { HubConfig } from "./config.ts";
import type { HubHandoff } from "./hub-handoff.ts";
import type { ConnectionAttachment, HubHost } from "./hub-host.ts";
import { isRevoked } from "./revocation.ts";
import type { TicketResult } from "./ticket-result.ts";
import { UserRateLimits } from "./user-rate-limits.ts";

/** Whether the hub takes a socket, and as whom; or the HTTP answer that refuses it. */
export type Admission =
  | { readonly ok: true; readonly identity: Identity }
  | { readonly ok: false; readonly status: HttpStatus; readonly message: string; readonly headers?: Readonly<Record<string, string>> };

/** An {@link Admission} that refuses: the HTTP answer to the upgrade. */
export type Refusal = Extract<Admission, { ok: false }>;

/** A socket the hub took: the host accepted it with its attachment; or the HTTP answer that refuses the upgrade. */
export type Acceptance<S> =
  | { readonly ok: true; readonly socket: S; readonly attachment: ConnectionAttachment }
  | Refusal;

/** Options of `Hub.accept`. */
export interface AcceptOptions {
  /**
   * For a host whose socket opens only after the 101 is answered (Deno): the
   * hub hands it the greeting to run when the socket opens. Without it, the
   * hub greets the socket before `accept` returns (Cloudflare, where an
   * accepted socket is open at once).
   */
  readonly whenOpen?: (greet: () => Promise<void>) => void;
}

/** Why a revoked token is refused, at the upgrade, in band and for a ticket. */
export const REVOKED = "token revoked";

/** A 429 that says why and when to try again (`Retry-After`, whole seconds). */
export function retryLater(waitMs: number, why: string): Refusal {
  const seconds = Math.ceil(waitMs / 1000);
  return {
    ok: false,
    status: HttpStatus.TooManyRequests,
    message: `429 Too Many Requests: ${why}; retry in ${seconds} s.\n`,
    headers: { "Retry-After": String(seconds) },
  };
}

/** The 401 for a token issued before the user's revocation watermark. */
export function revokedRefusal(): Refusal {
  return {
    ok: false,
    status: HttpStatus.Unauthorized,
    message: `401 Unauthorized: ${REVOKED}; sign in again for a new token.\n`,
    headers: { "WWW-Authenticate": `Bearer realm="userhub", error="invalid_token", error_description="${REVOKED}"` },
  };
}

/** The 401 for a connect ticket this hub cannot redeem (unknown, used, expired or for another user). */
export function ticketRefusal(): Refusal {
  return {
    ok: false,
    status: HttpStatus.Unauthorized,
    message: "401 Unauthorized: ticket unknown, already used or expired; get a new one.\n",
    headers: { "WWW-Authenticate": 'Bearer realm="userhub", error="invalid_token", error_description="ticket unknown, used or expired"' },
  };
}

/**
 * The 429 for a user already at `maxConnectionsPerUser`. Its `Retry-After`
 * is the longest a socket that died without closing still counts: the
 * heartbeat timeout after its last frame, which the hub records up to one
 * ping interval late. Every upgrade sweeps the stale ones before it counts.
 */
export function connectionCapRefusal(config: Pick<HubConfig, "maxConnectionsPerUser" | "heartbeat">): Refusal {
  const seconds = Math.ceil((config.heartbeat.timeoutMs + config.heartbeat.intervalMs) / 1000);
  return {
    ok: false,
    status: HttpStatus.TooManyRequests,
    message: `429 Too Many Requests: this user already has ${config.maxConnectionsPerUser} open connections; close one first, or retry in ${seconds} s, when any that died unclosed have timed out.\n`,
    headers: { "Retry-After": String(seconds) },
  };
}

/** What {@link AdmissionControl} needs of the host: its clock, the user's tickets and revocation watermark. */
export type AdmissionHost = Pick<HubHost, "now" | "tickets" | "revocation">;

/**
 * Who gets into a user's hub: the checks an upgrade passes (a redeemed
 * ticket, the rate-limit penalty, connections per minute, the revocation
 * watermark, the connection cap) and those a ticket request passes. A
 * ticket proves its user only once redeemed: until then it names a user
 * anyone could name, so a forged one costs that user nothing (no connection
 * counted, no penalty); only a verified identity is counted.
 */
export class AdmissionControl {
  readonly #host: AdmissionHost;
  readonly #config: HubConfig;
  readonly #liveCount: () => number;
  readonly #sharedLimits: UserRateLimits | undefined;
  #limits: UserRateLimits | undefined;

  /** `liveCount` is the user's live sockets now; `userLimits`, limits that outlive the hub (Deno), else the hub's own. */
  constructor(host: AdmissionHost, config: HubConfig, liveCount: () => number, userLimits?: UserRateLimits) {
    this.#host = host;
    this.#config = config;
    this.#liveCount = liveCount;
    this.#sharedLimits = userLimits;
  }

  /** The user's connection and ticket limits, marked as used at `now`. */
  limitsAt(now: number): UserRateLimits {
    const limits = (this.#limits ??= this.#sharedLimits ?? new UserRateLimits(this.#config, now));
    limits.usedAt = now;
    return limits;
  }

  /** Whether one more socket fits under `maxConnectionsPerUser`. */
  hasRoom(): boolean {
    return this.#liveCount() < this.#config.maxConnectionsPerUser;
  }

  /** Decides on a handed-over upgrade: redeems its ticket (once) if it has one, then checks every limit. */
  async admit(handoff: HubHandoff): Promise<Admission> {
    const now = this.#host.now();
    const limits = this.limitsAt(now);
    if (limits.penaltyUntil > now) return retryLater(limits.penaltyUntil - now, "a socket of this user was just closed for its rate limit");
    let identity = handoff.identity;
    if (handoff.ticket !== undefined) {
      const redeemed = await this.#host.tickets.redeem(handoff.ticket, this.#host.now());
      if (redeemed === null || redeemed.userId !== handoff.userId) return ticketRefusal();
      identity = redeemed;
    }
    const wait = limits.connections.take(this.#host.now());
    if (wait > 0) return retryLater(wait, `this user opened more than ${this.#config.connectionsPerMinute} connections in a minute`);
    if (isRevoked(identity!.issuedAt, await this.#host.revocation.read())) return revokedRefusal();
    if (!this.hasRoom()) return connectionCapRefusal(this.#config);
    return { ok: true, identity: identity! };
  }

  /** A single-use connect ticket for `identity`, good for `ticketTtlMs`, unless its token is revoked; past `ticketsPerMinute`, only how long to wait. */
  async issueTicket(identity: Identity): Promise<TicketResult> {
    if (isRevoked(identity.issuedAt, await this.#host.revocation.read())) return { refused: REVOKED };
    const now = this.#host.now();
    const wait = this.limitsAt(now).tickets.take(now);
    if (wait > 0) return { retryAfterMs: wait };
    const ticket = await this.#host.tickets.issue(identity, now, this.#config.ticketTtlMs);
    return { ticket, expiresAt: now + this.#config.ticketTtlMs };
  }
}
