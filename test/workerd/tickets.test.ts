// Single-use connect tickets through the demo Worker inside workerd: an
// authenticated POST trades a token for a ticket; the user's own hub redeems
// it atomically, so a replayed, expired or forged ticket gets 401, and two
// upgrades racing with one ticket get exactly one socket.
import { runInDurableObject, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { newTicket } from "../../src/host.ts";
import { SqliteTicketStore, type UserHub } from "../../durable-objects/index.ts";
import { accept, hubOf, tokenFor, upgradeHeaders } from "./hub-client.ts";

let users = 0;
const user = (name: string) => `${name}-${++users}`;

async function ticketFor(userId: string): Promise<{ ticket: string; expiresAt: number }> {
  const response = await SELF.fetch("https://hub.test/ws/ticket", { method: "POST", headers: { Authorization: `Bearer ${await tokenFor(userId)}` } });
  expect(response.status).toBe(200);
  return await response.json();
}

const upgradeWith = (ticket: string) =>
  SELF.fetch("https://hub.test/ws", { headers: upgradeHeaders({ "Sec-WebSocket-Protocol": `userhub.v1, ticket.${ticket}` }) });

describe("POST /ws/ticket", () => {
  it("issues a ticket good for 30 s for a verified token, and refuses anything else with 401", async () => {
    const before = Date.now();
    const { ticket, expiresAt } = await ticketFor(user("alice"));
    expect(ticket).toMatch(/^[A-Za-z0-9_-]+\.[0-9a-f]{32}$/);
    expect(expiresAt - before).toBeGreaterThanOrEqual(29_000);
    expect(expiresAt - before).toBeLessThanOrEqual(31_000);
    const refusals: Record<string, string>[] = [{}, { Authorization: "Bearer not.a.jwt" }, { Authorization: `Bearer ${await tokenFor("alice", { secret: "other" })}` }];
    for (const headers of refusals) {
      const refused = await SELF.fetch("https://hub.test/ws/ticket", { method: "POST", headers });
      expect(refused.status).toBe(401);
      expect(refused.headers.get("WWW-Authenticate")).toMatch(/^Bearer realm="userhub"/);
    }
  });
});

describe("upgrading with a ticket", () => {
  it("opens one socket as the ticket's user, selecting userhub.v1, and the same ticket again gets 401", async () => {
    const alice = user("alice");
    const { ticket } = await ticketFor(alice);
    const first = await upgradeWith(ticket);
    expect(first.headers.get("Sec-WebSocket-Protocol")).toBe("userhub.v1");
    const client = await accept(first);
    expect(client.welcome).toMatchObject({ userId: alice, connections: 1 });

    const replay = await upgradeWith(ticket);
    expect(replay.status).toBe(401);
    expect(replay.webSocket).toBeNull();
    expect(await replay.text()).toMatch(/ticket unknown, already used or expired/);
    client.socket.close(1000);
  });

  it("lets exactly one of two racing upgrades with one ticket through", async () => {
    const alice = user("alice");
    const { ticket } = await ticketFor(alice);
    const answers = await Promise.all([upgradeWith(ticket), upgradeWith(ticket)]);
    expect(answers.map((r) => r.status).sort()).toEqual([101, 401]);
    const won = await accept(answers.find((r) => r.status === 101)!);
    won.socket.close(1000);
  });

  it("refuses an expired ticket, and one the hub never issued, with 401", async () => {
    const alice = user("alice");
    // A ticket issued a minute ago with the 30 s lifetime: expired now.
    const expired = await runInDurableObject(hubOf(alice), (_instance: UserHub, state) =>
      new SqliteTicketStore(state.storage.sql).issue({ userId: alice, expiresAt: null }, Date.now() - 60_000, 30_000)
    );
    expect((await upgradeWith(expired)).status).toBe(401);
    // Shaped like a ticket for alice, but made up: her hub has no such ticket.
    expect((await upgradeWith(newTicket(alice))).status).toBe(401);
    // Not shaped like a ticket at all: refused by the router before any hub.
    const malformed = await upgradeWith("garbage");
    expect(malformed.status).toBe(401);
    expect(await malformed.text()).toMatch(/malformed ticket/);
  });

  it("cannot be used for another user: a ticket names its user, and only that user's hub can redeem it", async () => {
    const alice = user("alice");
    const mallory = user("mallory");
    const { ticket } = await ticketFor(mallory);
    // Re-addressing mallory's ticket to alice's hub (same random part, alice's name) fails there.
    const readdressed = `${newTicket(alice).split(".")[0]}.${ticket.split(".")[1]}`;
    expect((await upgradeWith(readdressed)).status).toBe(401);
    // The ticket itself still opens mallory's socket, not alice's.
    const client = await accept(await upgradeWith(ticket));
    expect(client.welcome.userId).toBe(mallory);
    client.socket.close(1000);
  });
});
