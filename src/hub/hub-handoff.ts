import type { Identity } from "../edge/auth.ts";

/** What a reconnecting client asked for (`?since=…&epoch=…`): the last `seq` it saw, and the epoch it saw it in, if it named one. (The client keeps its own `ResumePoint`.) */
export interface ResumeRequest {
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
  readonly resume: ResumeRequest | null;
  /** The client said it acknowledges deliveries (`?ack=1`), so the hub bounds what it leaves unacknowledged. */
  readonly acks?: boolean;
} & ({ readonly identity: Identity; readonly ticket?: undefined } | { readonly ticket: string; readonly identity?: undefined });
