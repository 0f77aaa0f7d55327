import type { Identity } from "./auth.ts";

/** Where a reconnecting client left off: the last `seq` it saw, and the epoch it saw it in. */
export interface ResumePoint {
  readonly since: number;
  readonly epoch: string | null;
}

/**
 * What the router hands a hub along with the upgrade, after every check it
 * can make passed. Either the router verified the caller's token
 * (`identity`), or the caller presented a ticket that only the user's hub
 * can redeem (`ticket`); exactly one is set.
 */
export type HubHandoff = {
  /** The user whose hub this is (the verified `sub`, or the user a ticket names). */
  readonly userId: string;
  /** The subprotocol to select in the 101 answer, or null for none. */
  readonly protocol: string | null;
  /** Set when the client asked to resume. */
  readonly resume: ResumePoint | null;
  /** The client said it acknowledges deliveries (`?ack=1`), so the hub bounds what it leaves unacknowledged. */
  readonly acks?: boolean;
} & ({ readonly identity: Identity; readonly ticket?: undefined } | { readonly ticket: string; readonly identity?: undefined });

/** What a push did. */
export interface PushResult {
  /** The sequence numbers assigned, in order (the earlier ones for a repeated idempotency key). */
  readonly seqs: readonly number[];
  /** Sockets of the user that received the whole push live (0 for a repeated key). */
  readonly delivered: number;
  /** The idempotency key had been used: nothing new was delivered. */
  readonly duplicate: boolean;
}

/** Options of a push. */
export interface PushOptions {
  /** Makes a retried push harmless: a key seen within the log's retention age is not delivered again. */
  readonly idempotencyKey?: string;
}

/**
 * A ticket for one upgrade; or why the hub will not issue one (the caller's
 * token was revoked: `refused`), or how long until this user may get another
 * (past `ticketsPerMinute`: `retryAfterMs`).
 */
export type TicketResult =
  | { readonly ticket: string; readonly expiresAt: number }
  | { readonly refused: string }
  | { readonly retryAfterMs: number };

/**
 * What to close when a server disconnects a user (`POST /users/:userId/disconnect`).
 * With neither `connectionId` nor `sessionId`, every socket of the user.
 */
export interface DisconnectOptions {
  /** Only the socket with this connection id (the welcome's `connectionId`). */
  readonly connectionId?: string;
  /** Only the sockets whose token carried this `sid`. */
  readonly sessionId?: string;
  /** The close reason the sockets get (at most 123 UTF-8 bytes). Default "revoked". */
  readonly reason?: string;
  /**
   * Epoch seconds: from now on the hub refuses every token of this user
   * issued (`iat`) before it, at the upgrade and in band (401 "token
   * revoked"), and closes the sockets opened with such tokens. Kept durably;
   * it only ever moves forward.
   */
  readonly revokeTokensIssuedBefore?: number;
}

/** What a disconnect did. */
export interface DisconnectResult {
  /** Sockets closed with 4003. */
  readonly closed: number;
}

/**
 * Where each user's hub lives: one Durable Object per user on Cloudflare,
 * one in-process hub per live user on Deno. The router depends only on this.
 */
export interface HubNamespace {
  /**
   * Hands an upgrade request that passed the router's checks to the user's
   * hub and returns its answer: 101 with the socket; 401 for a ticket that is
   * unknown, used or expired; 429 when the user has too many sockets.
   */
  connect(request: Request, handoff: HubHandoff): Promise<Response>;
  /** Issues a single-use connect ticket for a verified caller, unless the user's hub has revoked that token. */
  issueTicket(identity: Identity): Promise<TicketResult>;
  /** Logs `messages` for `userId` and sends them to every open socket of that user. */
  push(userId: string, messages: readonly unknown[], options?: PushOptions): Promise<PushResult>;
  /** Closes `userId`'s sockets with 4003, drops their unredeemed tickets, and may keep a revocation watermark. */
  disconnect(userId: string, options?: DisconnectOptions): Promise<DisconnectResult>;
}
