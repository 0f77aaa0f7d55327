import { describe, expect, it, test } from "vitest";
import { DEFAULT_TICKET_TTL_MS, type Identity, MemoryTicketStore, newTicket, ticketUserId } from "../../src/index.ts";

const T0 = 1_900_000_000_000;
const TTL = 30_000;
const ALICE: Identity = { userId: "alice", expiresAt: T0 + 3_600_000 };

function base64url(text: string): string {
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const RANDOM = "0123456789abcdef0123456789abcdef";

describe("newTicket and ticketUserId", () => {
  test.each(["alice", "a", "Alice.Smith_01@example.com", "tenant:user+tag-1", "u".repeat(128)])(
    "round-trips the user id %j",
    (userId) => {
      const ticket = newTicket(userId);
      expect(ticket).toMatch(/^[A-Za-z0-9_-]+\.[0-9a-f]{32}$/);
      expect(ticketUserId(ticket)).toBe(userId);
    },
  );

  it("makes a different ticket every time", () => {
    const tickets = new Set(Array.from({ length: 100 }, () => newTicket("alice")));
    expect(tickets.size).toBe(100);
  });

  it("reads a hand-built ticket", () => {
    expect(ticketUserId(`${base64url("bob")}.${RANDOM}`)).toBe("bob");
  });

  test.each<[string, string]>([
    ["empty", ""],
    ["no dot", base64url("alice")],
    ["no user part", `.${RANDOM}`],
    ["random part too short", `${base64url("alice")}.${RANDOM.slice(1)}`],
    ["random part too long", `${base64url("alice")}.${RANDOM}0`],
    ["upper-case hex", `${base64url("alice")}.${RANDOM.toUpperCase()}`],
    ["a third part", `${base64url("alice")}.${RANDOM}.x`],
    ["standard base64 characters", `${btoa("\xfb\xff")}.${RANDOM}`],
    ["padding", `${btoa("alice")}.${RANDOM}`],
    ["spaces around", ` ${base64url("alice")}.${RANDOM} `],
    ["a user id with a space", `${base64url("alice smith")}.${RANDOM}`],
    ["an empty user id", `${base64url("")}.${RANDOM}`],
    ["a user id of 129 characters", `${base64url("u".repeat(129))}.${RANDOM}`],
    ["bytes that are not UTF-8", `${base64url("\xff\xfe")}.${RANDOM}`],
    ["an impossible base64url length", `abcde.${RANDOM}`],
  ])("%s → null", (_name, ticket) => {
    expect(ticketUserId(ticket)).toBeNull();
  });
});

describe("MemoryTicketStore", () => {
  it("redeems a ticket once for the identity it was issued to", () => {
    const store = new MemoryTicketStore();
    const ticket = store.issue(ALICE, T0, TTL);
    expect(ticketUserId(ticket)).toBe("alice");
    expect(store.redeem(ticket, T0 + 1)).toEqual(ALICE);
    expect(store.redeem(ticket, T0 + 2)).toBeNull();
  });

  it("keeps tickets apart", () => {
    const store = new MemoryTicketStore();
    const bob: Identity = { userId: "bob", expiresAt: null };
    const forAlice = store.issue(ALICE, T0, TTL);
    const forBob = store.issue(bob, T0, TTL);
    const secondForAlice = store.issue(ALICE, T0, TTL);
    expect(store.redeem(forBob, T0)).toEqual(bob);
    expect(store.redeem(forAlice, T0)).toEqual(ALICE);
    expect(store.redeem(secondForAlice, T0)).toEqual(ALICE);
  });

  it("refuses an unknown ticket", () => {
    const store = new MemoryTicketStore();
    store.issue(ALICE, T0, TTL);
    expect(store.redeem(newTicket("alice"), T0)).toBeNull();
    expect(store.redeem("", T0)).toBeNull();
  });

  it("is good until just before now + ttl", () => {
    const store = new MemoryTicketStore();
    expect(store.redeem(store.issue(ALICE, T0, TTL), T0 + TTL - 1)).toEqual(ALICE);
    expect(store.redeem(store.issue(ALICE, T0, TTL), T0 + TTL)).toBeNull();
    expect(store.redeem(store.issue(ALICE, T0, TTL), T0 + TTL + 60_000)).toBeNull();
  });

  it("forgets an expired ticket once it is tried, so it cannot come back", () => {
    const store = new MemoryTicketStore();
    const ticket = store.issue(ALICE, T0, TTL);
    expect(store.redeem(ticket, T0 + TTL)).toBeNull();
    expect(store.size).toBe(0);
    // Even a clock that goes back does not revive it.
    expect(store.redeem(ticket, T0)).toBeNull();
  });

  it("sweeps expired tickets on the next issue", () => {
    const store = new MemoryTicketStore();
    store.issue(ALICE, T0, TTL);
    store.issue(ALICE, T0, TTL);
    const young = store.issue(ALICE, T0 + 20_000, TTL);
    expect(store.size).toBe(3);
    store.issue(ALICE, T0 + TTL, TTL);
    expect(store.size).toBe(2);
    expect(store.redeem(young, T0 + TTL)).toEqual(ALICE);
  });

  it("defaults to a 30 s ttl", () => {
    expect(DEFAULT_TICKET_TTL_MS).toBe(30_000);
  });
});

describe("MemoryTicketStore revocation", () => {
  it("revokeAll drops every ticket; a user's view drops only that user's", () => {
    const store = new MemoryTicketStore();
    const now = 1_000;
    const alice = store.forUser("alice");
    const a1 = alice.issue({ userId: "alice", expiresAt: null }, now, 30_000) as string;
    const a2 = store.issue({ userId: "alice", expiresAt: null }, now, 30_000);
    const b1 = store.issue({ userId: "bob", expiresAt: null }, now, 30_000);
    alice.revokeAll();
    expect(store.redeem(a1, now)).toBeNull();
    expect(store.redeem(a2, now)).toBeNull();
    expect(store.redeem(b1, now)).toEqual({ userId: "bob", expiresAt: null });
    store.issue({ userId: "carol", expiresAt: null }, now, 30_000);
    store.revokeAll();
    expect(store.size).toBe(0);
  });
});
