// deno-lint-ignore-file require-await -- the in-memory stores answer at once; their methods are async so that every store keeps the one asynchronous contract.
import { type Identity, isValidUserId } from "../edge/auth.ts";

/** How long a ticket is good for, by default: one upgrade within 30 s. */
export const DEFAULT_TICKET_TTL_MS = 30_000;

/**
 * Single-use connect tickets: an app that keeps its long-lived token away
 * from the socket trades it (over an authenticated POST) for a ticket good
 * for one upgrade within a short window. The ticket names its user so the
 * router can find the hub, and only that user's hub can redeem it, once.
 * Every method is asynchronous, whatever the store.
 */
export interface TicketStore {
  /** Stores a new ticket for `identity` and returns it. */
  issue(identity: Identity, now: number, ttlMs: number): Promise<string>;
  /** Consumes `ticket` atomically: the identity it was issued for, or null if unknown, used or expired. */
  redeem(ticket: string, now: number): Promise<Identity | null>;
  /** Drops every unredeemed ticket of this store's user (a disconnect does, so a ticket cannot outlive it). */
  revokeAll(): Promise<void>;
}

/** A new ticket for `userId`: the user id (base64url, so the router can route it) and 128 random bits. */
export function newTicket(userId: string): string {
  const random = crypto.getRandomValues(new Uint8Array(16));
  return `${base64url(new TextEncoder().encode(userId))}.${[...random].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** The user a ticket claims to be for, or null if it is not shaped like a ticket. Only the hub's redeem proves it. */
export function ticketUserId(ticket: string): string | null {
  const match = /^([A-Za-z0-9_-]{1,172})\.([0-9a-f]{32})$/.exec(ticket);
  if (!match) return null;
  try {
    const userId = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(fromBase64url(match[1]!));
    return isValidUserId(userId) ? userId : null;
  } catch {
    return null;
  }
}

/**
 * A {@link TicketStore} in memory.
 *
 * @example
 * ```ts
 * const tickets = new MemoryTicketStore();
 * const ticket = await tickets.issue({ userId: "alice", expiresAt: null }, Date.now(), 30_000);
 * await tickets.redeem(ticket, Date.now()); // { userId: "alice", expiresAt: null }
 * await tickets.redeem(ticket, Date.now()); // null: single use
 * ```
 */
export class MemoryTicketStore implements TicketStore {
  readonly #tickets = new Map<string, { identity: Identity; expiresAt: number }>();

  async issue(identity: Identity, now: number, ttlMs: number): Promise<string> {
    for (const [key, entry] of this.#tickets) if (entry.expiresAt <= now) this.#tickets.delete(key);
    const ticket = newTicket(identity.userId);
    this.#tickets.set(ticket, { identity, expiresAt: now + ttlMs });
    return ticket;
  }

  async redeem(ticket: string, now: number): Promise<Identity | null> {
    const entry = this.#tickets.get(ticket);
    this.#tickets.delete(ticket);
    return entry && entry.expiresAt > now ? entry.identity : null;
  }

  /** Drops every ticket this store holds. */
  async revokeAll(): Promise<void> {
    this.#tickets.clear();
  }

  /** Drops the tickets of `userId` only, for a store that several users share. */
  revokeUser(userId: string): void {
    for (const [key, entry] of this.#tickets) if (entry.identity.userId === userId) this.#tickets.delete(key);
  }

  /**
   * A view of this store for one user of several, as `HubHost.tickets` must
   * be: it issues only that user's tickets, redeems only theirs (another
   * user's ticket is unknown to it and stays unused), and `revokeAll` drops
   * only theirs.
   */
  forUser(userId: string): TicketStore {
    return {
      issue: async (identity, now, ttlMs) => {
        if (identity.userId !== userId) throw new RangeError("MemoryTicketStore.forUser: a ticket for another user");
        return await this.issue(identity, now, ttlMs);
      },
      redeem: async (ticket, now) => (this.#tickets.get(ticket)?.identity.userId === userId ? await this.redeem(ticket, now) : null),
      revokeAll: async () => this.revokeUser(userId),
    };
  }

  /** Tickets not yet redeemed or swept (expired ones go on the next issue). */
  get size(): number {
    return this.#tickets.size;
  }
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64url(text: string): Uint8Array {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}
