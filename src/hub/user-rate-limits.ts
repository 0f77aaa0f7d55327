import type { HubConfig } from "./config.ts";
import { DirectSenderLimits } from "./direct-sender-limits.ts";
import { UserFrameBudget } from "./socket-rate-limit.ts";
import { PerMinuteLimit } from "./token-bucket.ts";

/**
 * One user's limits: new connections and connect tickets per minute, the
 * frame and byte budgets its sockets share, and other users' deliveries
 * into its log per minute. They
 * belong with whatever outlives the user's sockets: on Cloudflare the user's
 * Durable Object (each hub instance makes its own; after eviction they start
 * full again), on Deno the namespace, which drops a hub as soon as its last
 * socket leaves.
 *
 * @example
 * ```ts
 * const limits = new UserRateLimits(config, Date.now());
 * if (limits.connections.take(Date.now()) > 0) // answer 429
 * ```
 */
export class UserRateLimits {
  readonly connections: PerMinuteLimit;
  readonly tickets: PerMinuteLimit;
  /** The frame and byte budgets all of the user's sockets share. */
  readonly frames: UserFrameBudget;
  /** How many deliveries each other user may still put into this user's log this minute. */
  readonly directSenders: DirectSenderLimits;
  /** Until when the user's new connections are refused because one of its sockets was closed for its rate, epoch ms. */
  penaltyUntil = 0;
  /** When these limits were last used, epoch ms: a holder may forget them a minute later (they are full again by then). */
  usedAt: number;

  constructor(config: Pick<HubConfig, "connectionsPerMinute" | "ticketsPerMinute" | "rate" | "directDeliveriesPerMinute">, now: number) {
    this.connections = new PerMinuteLimit(config.connectionsPerMinute, now);
    this.tickets = new PerMinuteLimit(config.ticketsPerMinute, now);
    this.frames = new UserFrameBudget(config.rate, now);
    this.directSenders = new DirectSenderLimits(config.directDeliveriesPerMinute);
    this.usedAt = now;
  }
}
