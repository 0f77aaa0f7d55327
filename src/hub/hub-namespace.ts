import type { Identity } from "../edge/auth.ts";
import type { DisconnectOptions, DisconnectResult } from "./disconnect.ts";
import type { HubHandoff } from "./hub-handoff.ts";
import type { PushOptions, PushResult } from "./push.ts";
import type { TicketResult } from "./ticket-result.ts";

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
  /**
   * Logs `messages` for `userId` and sends them to every open socket of that user.
   *
   * @throws {InvalidUserIdError} when `userId` cannot name a user.
   * @throws {InvalidPushError} when `messages` is not an array of 1 to 100 messages (none undefined), or `options` is neither an object nor undefined, or has a field a push does not take.
   * @throws {InvalidIdempotencyKeyError} (a RangeError) when `idempotencyKey` is not a string of 1 to 200 characters of well-formed Unicode.
   * @throws {UnserializablePayloadError} when a message has no JSON form.
   */
  push(userId: string, messages: readonly unknown[], options?: PushOptions): Promise<PushResult>;
  /**
   * Closes `userId`'s sockets with 4003, drops their unredeemed tickets, and may keep a revocation watermark.
   *
   * @throws {InvalidUserIdError} when `userId` cannot name a user.
   * @throws {InvalidDisconnectOptionsError} for options that are not {@link DisconnectOptions}.
   * @throws {FutureRevocationError} for a `revokeTokensIssuedBefore` later than now.
   */
  disconnect(userId: string, options?: DisconnectOptions): Promise<DisconnectResult>;
}
