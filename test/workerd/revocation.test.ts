// Revocation inside workerd, through the demo Worker: POST
// /users/:userId/disconnect (all sockets, one connection, one session), the
// tickets it drops, the durable "tokens issued before" watermark at the
// upgrade, at the ticket endpoint and in band, the same as the hub's RPC
// method, and other users untouched. Also: a validly signed token whose
// payload is not an object is a 401 on /ws and /ws/ticket, not a 500.
import { env, runInDurableObject, SELF } from "cloudflare:test";
import { durableObjectHubs, type UserHub } from "../../durable-objects/index.ts";
import { InvalidDisconnectOptionsError } from "../../src/host.ts";
import { describe, expect, it } from "vitest";
import { accept, type HubClient, hubOf, upgradeHeaders } from "./hub-client.ts";
import { signHmac } from "../support/jwt-keys.ts";

const PUSH_KEY = env.PUSH_API_KEY!;
const SECRET = env.JWT_SECRET!;

let users = 0;
const user = (name: string) => `${name}-${++users}`;
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A token for `userId` issued `ageSeconds` ago, with a session id when given. */
function tokenOf(userId: string, options: { ageSeconds?: number; sid?: string } = {}): Promise<string> {
  const iat = nowSeconds() - (options.ageSeconds ?? 0);
  return signHmac(SECRET, { sub: userId, iat, exp: iat + 3600, ...(options.sid ? { sid: options.sid } : {}) });
}

async function open(userId: string, options: { ageSeconds?: number; sid?: string } = {}): Promise<HubClient> {
  return await accept(await SELF.fetch("https://hub.test/ws", { headers: upgradeHeaders({ Authorization: `Bearer ${await tokenOf(userId, options)}` }) }));
}

function disconnect(userId: string, body?: unknown, key = PUSH_KEY) {
  return SELF.fetch(`https://hub.test/users/${userId}/disconnect`, {
    method: "POST",
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
}

/** Whether `client` is still open: a ping answered with pong. */
async function isOpen(client: HubClient): Promise<boolean> {
  const before = client.frames.length;
  client.socket.send("ping");
  try {
    await client.frame(before, 2000);
    return client.frames[before] === "pong";
  } catch {
    return false;
  }
}

describe("POST /users/:userId/disconnect", () => {
  it("closes every socket of the user with 4003, answers {closed: N}, and leaves other users alone", async () => {
    const alice = user("alice");
    const bob = user("bob");
    const [a1, a2, b1] = [await open(alice), await open(alice), await open(bob)];
    const response = await disconnect(alice);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ closed: 2 });
    expect(await a1.closed).toEqual({ code: 4003, reason: "revoked" });
    expect(await a2.closed).toEqual({ code: 4003, reason: "revoked" });
    expect(await isOpen(b1)).toBe(true);
    // No watermark: alice may connect again with the same kind of token.
    const again = await open(alice, { ageSeconds: 60 });
    expect(again.welcome.connections).toBe(1);
    again.socket.close(1000);
    b1.socket.close(1000);
  });

  it("closes only the one connection, with the given reason", async () => {
    const alice = user("alice");
    const [a1, a2] = [await open(alice), await open(alice)];
    const response = await disconnect(alice, { connectionId: a1.welcome.connectionId, reason: "signed out on this device" });
    expect(await response.json()).toEqual({ closed: 1 });
    expect(await a1.closed).toEqual({ code: 4003, reason: "signed out on this device" });
    expect(await isOpen(a2)).toBe(true);
    a2.socket.close(1000);
  });

  it("closes the sockets whose token carried the session id", async () => {
    const alice = user("alice");
    const [s1a, s1b, s2] = [await open(alice, { sid: "s1" }), await open(alice, { sid: "s1" }), await open(alice, { sid: "s2" })];
    expect(await (await disconnect(alice, { sessionId: "s1" })).json()).toEqual({ closed: 2 });
    expect((await s1a.closed).code).toBe(4003);
    expect((await s1b.closed).code).toBe(4003);
    expect(await isOpen(s2)).toBe(true);
    s2.socket.close(1000);
  });

  it("answers {closed: 0} for a user with no socket", async () => {
    expect(await (await disconnect(user("nobody"))).json()).toEqual({ closed: 0 });
  });

  it("drops the user's unredeemed tickets", async () => {
    const alice = user("alice");
    const issued = await SELF.fetch("https://hub.test/ws/ticket", { method: "POST", headers: { Authorization: `Bearer ${await tokenOf(alice)}` } });
    const { ticket } = (await issued.json()) as { ticket: string };
    await disconnect(alice);
    const refused = await SELF.fetch("https://hub.test/ws", { headers: upgradeHeaders({ "Sec-WebSocket-Protocol": `userhub.v1, ticket.${ticket}` }) });
    expect(refused.status).toBe(401);
    expect(await refused.text()).toContain("ticket unknown, already used or expired");
  });

  it("with revokeTokensIssuedBefore: refuses older tokens at the upgrade, the ticket endpoint and in band, and takes newer ones", async () => {
    const alice = user("alice");
    const bob = user("bob");
    const live = await open(alice, { ageSeconds: 30 });
    const bobSocket = await open(bob, { ageSeconds: 30 });
    const response = await disconnect(alice, { revokeTokensIssuedBefore: nowSeconds() - 10, reason: "logged out everywhere" });
    expect(await response.json()).toEqual({ closed: 1 });
    expect(await live.closed).toEqual({ code: 4003, reason: "logged out everywhere" });

    const old = await tokenOf(alice, { ageSeconds: 30 });
    const upgrade = await SELF.fetch("https://hub.test/ws", { headers: upgradeHeaders({ Authorization: `Bearer ${old}` }) });
    expect(upgrade.status).toBe(401);
    expect(await upgrade.text()).toContain("token revoked");
    expect(upgrade.headers.get("WWW-Authenticate")).toContain('error_description="token revoked"');
    const ticket = await SELF.fetch("https://hub.test/ws/ticket", { method: "POST", headers: { Authorization: `Bearer ${old}` } });
    expect(ticket.status).toBe(401);
    expect(await ticket.text()).toContain("token revoked");

    // A token issued after the watermark connects, and an old one sent in band is refused on it.
    const fresh = await open(alice);
    fresh.sendJson({ type: "auth", token: old });
    expect(await fresh.next()).toMatchObject({ type: "error", code: "auth_failed", message: "token revoked" });
    fresh.sendJson({ type: "auth", token: await tokenOf(alice) });
    expect(await fresh.next()).toMatchObject({ type: "auth" });
    // Bob's equally old token is untouched.
    expect(await isOpen(bobSocket)).toBe(true);
    const bobAgain = await open(bob, { ageSeconds: 30 });
    fresh.socket.close(1000);
    bobSocket.socket.close(1000);
    bobAgain.socket.close(1000);
  });

  it("the watermark only moves forward, and a token without iat is refused once one is set", async () => {
    const alice = user("alice");
    await disconnect(alice, { revokeTokensIssuedBefore: nowSeconds() - 10 });
    await disconnect(alice, { revokeTokensIssuedBefore: nowSeconds() - 1000 });
    const old = await SELF.fetch("https://hub.test/ws", { headers: upgradeHeaders({ Authorization: `Bearer ${await tokenOf(alice, { ageSeconds: 100 })}` }) });
    expect(old.status).toBe(401);
    const noIat = await signHmac(SECRET, { sub: alice, exp: nowSeconds() + 60 });
    const refused = await SELF.fetch("https://hub.test/ws", { headers: upgradeHeaders({ Authorization: `Bearer ${noIat}` }) });
    expect(refused.status).toBe(401);
    expect(await refused.text()).toContain("token revoked");
  });

  it("refuses a future watermark, on the route and the RPC method, and leaves the user able to connect", async () => {
    const alice = user("alice");
    expect((await disconnect(alice, { revokeTokensIssuedBefore: Date.now() })).status).toBe(400);
    // Called inside the object: an RPC method's throw is also logged by workerd as uncaught, which the test pool reports as an error.
    const refusal = await runInDurableObject(hubOf(alice), (instance: UserHub) =>
      instance.disconnect({ revokeTokensIssuedBefore: nowSeconds() + 3600 }).then(() => "accepted", (error: Error) => `${error.name}: ${error.message}`),
    );
    expect(refusal).toMatch(/^FutureRevocationError: "revokeTokensIssuedBefore" is later than now/);
    const socket = await open(alice);
    expect(await isOpen(socket)).toBe(true);
    // Now (within the leeway) is fine.
    expect(await hubOf(alice).disconnect({ revokeTokensIssuedBefore: nowSeconds() + 1 })).toEqual({ closed: 1 });
  });

  it("the same as the hub's RPC method", async () => {
    const alice = user("alice");
    const [a1, a2] = [await open(alice, { ageSeconds: 20 }), await open(alice, { sid: "keep" })];
    expect(await hubOf(alice).disconnect({ connectionId: a1.welcome.connectionId as string })).toEqual({ closed: 1 });
    expect((await a1.closed).code).toBe(4003);
    // The watermark closes the socket opened with a token older than it, too.
    const a3 = await open(alice, { ageSeconds: 20 });
    expect(await hubOf(alice).disconnect({ sessionId: "nothing-matches", revokeTokensIssuedBefore: nowSeconds() - 5 })).toEqual({ closed: 1 });
    expect((await a3.closed).code).toBe(4003);
    expect(await isOpen(a2)).toBe(true);
    a2.socket.close(1000);
  });

  it.each([
    ["a watermark as a string", { revokeTokensIssuedBefore: "x" }, /^InvalidDisconnectOptionsError: "revokeTokensIssuedBefore" must be a time in epoch seconds \(a finite number, at least 0\), not a string$/],
    ["a NaN watermark", { revokeTokensIssuedBefore: NaN }, /^InvalidDisconnectOptionsError: "revokeTokensIssuedBefore" must be .*, not NaN$/],
    ["an infinite watermark", { revokeTokensIssuedBefore: Infinity }, /^InvalidDisconnectOptionsError: .*, not Infinity$/],
    ["a negative watermark", { revokeTokensIssuedBefore: -1 }, /^InvalidDisconnectOptionsError: .*, not -1$/],
    ["a misspelt watermark", { revokeTokensIssuedBefor: 1 }, /^InvalidDisconnectOptionsError: unknown disconnect option "revokeTokensIssuedBefor"/],
    ["a numeric connectionId", { connectionId: 1 }, /^InvalidDisconnectOptionsError: "connectionId" must be a non-empty string, not a number$/],
    ["an empty sessionId", { sessionId: "" }, /^InvalidDisconnectOptionsError: "sessionId" must be a non-empty string, not an empty one$/],
    ["a reason that is not a string", { reason: { text: "bye" } }, /^InvalidDisconnectOptionsError: "reason" must be a string, not an object$/],
    ["null options", null, /^InvalidDisconnectOptionsError: a disconnect's options must be an object \(or left out\), not null$/],
    ["options as a string", "everyone", /^InvalidDisconnectOptionsError: .*, not a string$/],
  ])("the RPC method refuses %s with a named error, and closes, revokes and drops nothing", async (_name, options, refusal) => {
    const alice = user("alice");
    const socket = await open(alice, { ageSeconds: 20 });
    // Called inside the object, as above.
    const answer = await runInDurableObject(hubOf(alice), (instance: UserHub) =>
      instance.disconnect(options as never).then(
        (result) => result,
        (error: Error) => `${error.name}: ${error.message}`,
      ),
    );
    expect(answer).toMatch(refusal);
    expect(await isOpen(socket)).toBe(true);
    // No watermark was raised: a token issued a minute ago still connects.
    const older = await open(alice, { ageSeconds: 60 });
    expect(await isOpen(older)).toBe(true);
    expect(await hubOf(alice).disconnect()).toEqual({ closed: 2 });
  });

  it("through the namespace, a refusal is the named error itself, before any RPC; a watermark in whole or fractional epoch seconds is taken", async () => {
    const hubs = durableObjectHubs(env.USER_HUB);
    const alice = user("alice");
    await expect(hubs.disconnect(alice, { revokeTokensIssuedBefore: "x" as unknown as number })).rejects.toBeInstanceOf(InvalidDisconnectOptionsError);
    await expect(hubs.disconnect(alice, { revokeTokensIssuedBefore: NaN })).rejects.toThrow(/not NaN$/);
    expect(await hubs.disconnect(alice, { revokeTokensIssuedBefore: Date.now() / 1000 - 30, reason: "r".repeat(500) })).toEqual({ closed: 0 });
    expect(await hubs.disconnect(alice, { revokeTokensIssuedBefore: nowSeconds() - 10 })).toEqual({ closed: 0 });
  });

  it.each([
    ["not JSON", "{", /body must be JSON/],
    ["an array", [], /JSON object/],
    ["an unknown field", { everything: true }, /unknown field "everything"/],
    ["a numeric connectionId", { connectionId: 1 }, /connectionId/],
    ["a reason over 123 bytes", { reason: "é".repeat(62) }, /123 UTF-8 bytes/],
    ["a watermark in milliseconds as a string", { revokeTokensIssuedBefore: "1700000000" }, /epoch seconds/],
    ["a negative watermark", { revokeTokensIssuedBefore: -1 }, /epoch seconds/],
    ["a watermark in the future (milliseconds for seconds)", { revokeTokensIssuedBefore: 99_999_999_999 }, /"revokeTokensIssuedBefore" is later than now .*epoch seconds/],
  ])("answers 400 for %s", async (_name, body, message) => {
    const response = await disconnect(user("alice"), body);
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(message);
  });

  it("needs the server key: 401 for a wrong key, 403 for a user's token, 400 for a bad user id", async () => {
    const alice = user("alice");
    const socket = await open(alice);
    expect((await disconnect(alice, undefined, "wrong-key")).status).toBe(401);
    const withUserToken = await disconnect(alice, undefined, await tokenOf(alice));
    expect(withUserToken.status).toBe(403);
    expect((await disconnect("not%20valid")).status).toBe(400);
    expect(await isOpen(socket)).toBe(true);
    socket.socket.close(1000);
  });
});

describe("a validly signed token whose payload is not a JSON object", () => {
  it.each([
    ["null", null],
    ["an array", ["alice"]],
    ["a number", 7],
  ])("is a 401 naming it on /ws and /ws/ticket (payload %s)", async (_name, payload) => {
    const token = await signHmac(SECRET, payload);
    const upgrade = await SELF.fetch("https://hub.test/ws", { headers: upgradeHeaders({ Authorization: `Bearer ${token}` }) });
    expect(upgrade.status).toBe(401);
    expect(await upgrade.text()).toBe("401 Unauthorized: token payload is not a JSON object.\n");
    const ticket = await SELF.fetch("https://hub.test/ws/ticket", { method: "POST", headers: { Authorization: `Bearer ${token}` } });
    expect(ticket.status).toBe(401);
    expect(await ticket.text()).toBe("401 Unauthorized: token payload is not a JSON object.\n");
  });
});
