// The README's "Messages between users" block, run as printed on Deno (its
// import pointed at this repository): alice's `dm` reaches bob with
// `fromUser`, her own sockets get her copy with `toUser`, and a resend of
// the same id is answered `duplicate` with nothing new for either.
import { deepStrictEqual as assertEquals } from "node:assert";
import { issueToken, readHubConfig } from "../../src/index.ts";
import { serve } from "../../src/deno/mod.ts";
import { importReadmeApp } from "./readme-app.ts";
import { eventually, ofType, openSocket } from "./socket-client.ts";

const SECRET = "deno-readme-direct-secret";

Deno.test("the README's messenger app: bob gets alice's dm with fromUser, alice's devices get her copy with toUser, a resend is a duplicate", async () => {
  const app = await importReadmeApp("### Messages between users", "messenger");
  const server = serve({ secret: SECRET, config: readHubConfig({}), port: 0, app });
  const url = `${server.url.replace(/^http/, "ws")}/ws`;
  const laptop = openSocket(url, await issueToken("alice", { secret: SECRET, ttlSeconds: 600 }));
  const phone = openSocket(url, await issueToken("alice", { secret: SECRET, ttlSeconds: 600 }));
  const bob = openSocket(url, await issueToken("bob", { secret: SECRET, ttlSeconds: 600 }));
  try {
    for (const socket of [laptop, phone, bob]) await socket.next(ofType("welcome"));
    laptop.send(JSON.stringify({ type: "dm", to: "bob", text: "hi", id: "m1" }));
    const got = await bob.next<Record<string, unknown>>(ofType("message"));
    assertEquals({ ...got, at: 0 }, { type: "message", seq: 1, data: { text: "hi" }, at: 0, fromUser: "alice" });
    for (const socket of [laptop, phone]) {
      const copy = await socket.next<Record<string, unknown>>(ofType("message"));
      assertEquals({ ...copy, at: 0, from: "?" }, { type: "message", seq: 1, data: { text: "hi" }, at: 0, from: "?", toUser: "bob" });
    }
    assertEquals(await laptop.next(ofType("dm-sent")), { type: "dm-sent", id: "m1", duplicate: false });
    laptop.send(JSON.stringify({ type: "dm", to: "bob", text: "hi", id: "m1" }));
    const ofKind = (frames: unknown[], type: string) => frames.filter((f) => (f as { type?: unknown } | null)?.type === type);
    await eventually(() => ofKind(laptop.frames, "dm-sent").length === 2, 10_000, "the second answer");
    assertEquals(ofKind(laptop.frames, "dm-sent")[1], { type: "dm-sent", id: "m1", duplicate: true });
    assertEquals([bob, laptop, phone].map((socket) => ofKind(socket.frames, "message").length), [1, 1, 1]);
  } finally {
    for (const socket of [laptop, phone, bob]) await socket.close(1000);
    await server.shutdown();
  }
});
