import { describe, expect, it, test } from "vitest";
import { type Identity } from "../../src/index.ts";
import { DEFAULT_TICKET_TTL_MS, MemoryTicketStore, newTicket, ticketUserId } from "../../src/host.ts";

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

  it("makes a different ticket every time", async () => {
    const tickets = new Set(Array.from({ length: 100 }, () => newTicket("alice")));
    expect(tickets.size).toBe(100);
  });

  it("reads a hand-built ticket", async () => {
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
  it("redeems a ticket once for the identity it was issued to", async () => {
    const store = new MemoryTicketStore();
    const ticket = await store.issue(ALICE, T0, TTL);
    expect(ticketUserId(ticket)).toBe("alice");
    expect(await store.redeem(ticket, T0 + 1)).toEqual(ALICE);
    expect(await store.redeem(ticket, T0 + 2)).toBeNull();
  });

  it("keeps tickets apart", async () => {
    const store = new MemoryTicketStore();
    const bob: Identity = { userId: "bob", expiresAt: null };
    const forAlice = await store.issue(ALICE, T0, TTL);
    const forBob = await store.issue(bob, T0, TTL);
    const secondForAlice = await store.issue(ALICE, T0, TTL);
    expect(await store.redeem(forBob, T0)).toEqual(bob);
    expect(await store.redeem(forAlice, T0)).toEqual(ALICE);
    expect(await store.redeem(secondForAlice, T0)).toEqual(ALICE);
  });

  it("refuses an unknown ticket", async () => {
    const store = new MemoryTicketStore();
    await store.issue(ALICE, T0, TTL);
    expect(await store.redeem(newTicket("alice"), T0)).toBeNull();
    expect(await store.redeem("", T0)).toBeNull();
  });

  it("is good until just before now + ttl", async () => {
    const store = new MemoryTicketStore();
    expect(await store.redeem(await store.issue(ALICE, T0, TTL), T0 + TTL - 1)).toEqual(ALICE);
    expect(await store.redeem(await store.issue(ALICE, T0, TTL), T0 + TTL)).toBeNull();
    expect(await store.redeem(await store.issue(ALICE, T0, TTL), T0 + TTL + 60_000)).toBeNull();
  });

  it("forgets an expired ticket once it is tried, so it cannot come back", async () => {
    const store = new MemoryTicketStore();
    const ticket = await store.issue(ALICE, T0, TTL);
    expect(await store.redeem(ticket, T0 + TTL)).toBeNull();
    expect(store.size).toBe(0);
    // Even a clock that goes back does not revive it.
    expect(await store.redeem(ticket, T0)).toBeNull();
  });

  it("sweeps expired tickets on the next issue", async () => {
    const store = new MemoryTicketStore();
    await store.issue(ALICE, T0, TTL);
    await store.issue(ALICE, T0, TTL);
    const young = await store.issue(ALICE, T0 + 20_000, TTL);
    expect(store.size).toBe(3);
    await store.issue(ALICE, T0 + TTL, TTL);
    expect(store.size).toBe(2);
    expect(await store.redeem(young, T0 + TTL)).toEqual(ALICE);
  });

  it("defaults to a 30 s ttl", async () => {
    expect(DEFAULT_TICKET_TTL_MS).toBe(30_000);
  });
});

describe("MemoryTicketStore.forUser, the per-user view a hub gets on Deno", () => {
  it("redeems only its user's tickets: another user's ticket is unknown to it and stays good for its own user", async () => {
    const store = new MemoryTicketStore();
    const bob: Identity = { userId: "bob", expiresAt: null };
    const forBob = await store.issue(bob, T0, TTL);
    expect(await store.forUser("alice").redeem(forBob, T0)).toBeNull();
    expect(await store.forUser("bob").redeem(forBob, T0)).toEqual(bob);
  });

  it("refuses to issue a ticket for another user", async () => {
    await expect(new MemoryTicketStore().forUser("alice").issue({ userId: "bob", expiresAt: null }, T0, TTL)).rejects.toThrow(RangeError);
  });
});

describe("MemoryTicketStore revocation", () => {
  it("revokeAll drops every ticket; a user's view drops only that user's", async () => {
    const store = new MemoryTicketStore();
    const now = 1_000;
    const alice = store.forUser("alice");
    const a1 = await alice.issue({ userId: "alice", expiresAt: null }, now, 30_000);
    const a2 = await store.issue({ userId: "alice", expiresAt: null }, now, 30_000);
    const b1 = await store.issue({ userId: "bob", expiresAt: null }, now, 30_000);
    await alice.revokeAll();
    expect(await store.redeem(a1, now)).toBeNull();
    expect(await store.redeem(a2, now)).toBeNull();
    expect(await store.redeem(b1, now)).toEqual({ userId: "bob", expiresAt: null });
    await store.issue({ userId: "carol", expiresAt: null }, now, 30_000);
    await store.revokeAll();
    expect(store.size).toBe(0);
  });
});
