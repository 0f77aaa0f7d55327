import assert from "node:assert/strict";
import { InvalidUserIdError, readHubConfig } from "../../src/index.ts";
import { InvalidIdempotencyKeyError, InvalidPushError, retentionOf, UnserializablePayloadError } from "../../src/host.ts";
import { KvDeliveryLog, LocalHubNamespace } from "../../src/deno/mod.ts";

// A push's arguments are checked by the hub itself (src/hub/push.ts), so a
// push on Deno refuses what one over Durable Object RPC refuses: with a named
// error, before anything is logged or any key is used.
Deno.test("a push that is not one is refused with a named error, logs nothing and uses up no key", async () => {
  using kv = await Deno.openKv(":memory:");
  const config = readHubConfig({});
  const hubs = new LocalHubNamespace({ config, log: (userId) => new KvDeliveryLog(kv, userId, retentionOf(config)) });
  const refusals: [unknown, unknown, new (...args: never[]) => Error, RegExp][] = [
    ["hello", undefined, InvalidPushError, /not a string$/],
    [undefined, undefined, InvalidPushError, /not undefined$/],
    [[], { idempotencyKey: "K0" }, InvalidPushError, /at least one message/],
    [["x"], null, InvalidPushError, /options must be an object/],
    [["x"], { idempotencyKey: { a: 1 } }, InvalidIdempotencyKeyError, /not an object$/],
    [["x"], { idempotencyKey: "" }, InvalidIdempotencyKeyError, /not 0 characters$/],
    [["x"], { idempotencyKey: "k".repeat(1_000_000) }, InvalidIdempotencyKeyError, /not 1000000 characters$/],
    [["x", 10n], { idempotencyKey: "K0" }, UnserializablePayloadError, /JSON/],
    [["x", undefined], { idempotencyKey: "K0" }, InvalidPushError, /messages\[1\] is undefined/],
    [Array.from({ length: 101 }, (_, i) => i), { idempotencyKey: "K0" }, InvalidPushError, /at most 100 messages/],
    [["x"], { idempotencyKy: "K0" }, InvalidPushError, /no option "idempotencyKy"/],
    // Deno KV keeps a lone surrogate as U+FFFD: "m\ud801" and "m\udc01" would be one key here and two in SQLite.
    [["x"], { idempotencyKey: "m\ud801" }, InvalidIdempotencyKeyError, /lone surrogate/],
    [["x"], { idempotencyKey: "m\udc01" }, InvalidIdempotencyKeyError, /lone surrogate/],
  ];
  for (const [messages, options, type, message] of refusals) {
    await assert.rejects(hubs.push("alice", messages as unknown[], options as never), (error: unknown) => {
      assert.ok(error instanceof type, `${String(error)} is a ${type.name}`);
      assert.match((error as Error).message, message);
      return true;
    });
  }
  for (const userId of ["a b", "", undefined]) {
    await assert.rejects(hubs.push(userId as string, ["x"]), InvalidUserIdError);
    await assert.rejects(hubs.disconnect(userId as string), InvalidUserIdError);
  }
  assert.deepEqual(await hubs.push("alice", ["real"], { idempotencyKey: "K0" }), { seqs: [1], delivered: 0, duplicate: false });
  assert.deepEqual(await hubs.push("alice", ["real"], { idempotencyKey: "K0" }), { seqs: [1], delivered: 0, duplicate: true });
  assert.deepEqual(hubs.stats(), { hubs: 0, sockets: 0, timers: 0 });
});
