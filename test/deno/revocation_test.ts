import assert from "node:assert/strict";
import { LocalHubNamespace } from "../../src/deno/mod.ts";
import { FutureRevocationError } from "../../src/index.ts";
import { InvalidDisconnectOptionsError } from "../../src/host.ts";

// On Deno a user's hub goes with their last socket, so the revocation
// watermark lives in the namespace: it must outlive the hub that set it.
Deno.test("a disconnect's watermark outlives the user's hub and refuses older tokens' tickets; other users are untouched", async () => {
  const hubs = new LocalHubNamespace();
  const watermark = Math.floor(Date.now() / 1000) - 10;
  assert.deepEqual(await hubs.disconnect("alice", { revokeTokensIssuedBefore: watermark }), { closed: 0 });
  // No socket and no request in flight: the hub that kept the watermark is gone.
  assert.equal(hubs.size, 0);
  const old = await hubs.issueTicket({ userId: "alice", expiresAt: null, issuedAt: (watermark - 1) * 1000 });
  assert.deepEqual(old, { refused: "token revoked" });
  const noIat = await hubs.issueTicket({ userId: "alice", expiresAt: null });
  assert.deepEqual(noIat, { refused: "token revoked" });
  const fresh = await hubs.issueTicket({ userId: "alice", expiresAt: null, issuedAt: watermark * 1000 });
  assert.ok("ticket" in fresh, JSON.stringify(fresh));
  const bob = await hubs.issueTicket({ userId: "bob", expiresAt: null, issuedAt: (watermark - 1000) * 1000 });
  assert.ok("ticket" in bob, JSON.stringify(bob));
  // An earlier watermark does not move it back.
  await hubs.disconnect("alice", { revokeTokensIssuedBefore: watermark - 100 });
  assert.deepEqual(await hubs.issueTicket({ userId: "alice", expiresAt: null, issuedAt: (watermark - 50) * 1000 }), { refused: "token revoked" });
  assert.deepEqual(hubs.stats(), { hubs: 0, sockets: 0, timers: 0 });
});

Deno.test("a watermark later than now (milliseconds for seconds) is refused with FutureRevocationError and changes nothing", async () => {
  const hubs = new LocalHubNamespace();
  await assert.rejects(hubs.disconnect("eve", { revokeTokensIssuedBefore: Date.now() }), (error: unknown) => {
    assert.ok(error instanceof FutureRevocationError);
    assert.match(error.message, /"revokeTokensIssuedBefore" is later than now .*epoch seconds/);
    return true;
  });
  const fresh = await hubs.issueTicket({ userId: "eve", expiresAt: null, issuedAt: Date.now() });
  assert.ok("ticket" in fresh, JSON.stringify(fresh));
  assert.deepEqual(hubs.stats(), { hubs: 0, sockets: 0, timers: 0 });
});

Deno.test("a watermark that is not a finite number of epoch seconds, or a misspelt option, is refused with InvalidDisconnectOptionsError and changes nothing", async () => {
  const hubs = new LocalHubNamespace();
  for (const options of [{ revokeTokensIssuedBefore: "x" }, { revokeTokensIssuedBefore: NaN }, { revokeTokensIssuedBefore: -1 }, { revokeTokensIssuedBefor: 1 }, null]) {
    await assert.rejects(hubs.disconnect("eve", options as never), (error: unknown) => {
      assert.ok(error instanceof InvalidDisconnectOptionsError, String(error));
      assert.doesNotMatch((error as Error).message, /later than now/);
      return true;
    });
  }
  const old = await hubs.issueTicket({ userId: "eve", expiresAt: null, issuedAt: Date.now() - 3_600_000 });
  assert.ok("ticket" in old, JSON.stringify(old));
  assert.deepEqual(hubs.stats(), { hubs: 0, sockets: 0, timers: 0 });
});
