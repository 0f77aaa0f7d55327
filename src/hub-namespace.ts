import type { Identity } from "./auth.ts";

/** What the router hands a hub along with the upgrade, after every check passed. */
export interface HubHandoff {
  /** The verified caller. */
  readonly identity: Identity;
  /** The subprotocol to select in the 101 answer, or null for none. */
  readonly protocol: string | null;
}

/**
 * Where each user's hub lives: one Durable Object per user on Cloudflare,
 * one in-process hub per live user on Deno. The router depends only on this.
 */
export interface HubNamespace {
  /**
   * Hands a validated, authenticated upgrade request to `handoff.identity.userId`'s
   * hub and returns its answer: 101 with the socket, or 429 when the user has
   * too many sockets.
   */
  connect(request: Request, handoff: HubHandoff): Promise<Response>;
}
