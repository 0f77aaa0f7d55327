/**
 * The Deno host leaves nothing behind: 10,000 connect/disconnect cycles across
 * 1,000 users (closes by the client, oversize frames the hub closes, sends and
 * pings in between) end with no hub, no socket and no timer in the namespace.
 */
import { deepStrictEqual, ok } from "node:assert";
import { ofType, openSocket } from "./socket-client.ts";
import { startLocalServer } from "./local-server.ts";

const USERS = 1000;
const CYCLES = 10_000;
const PARALLEL = 50;

Deno.test("10,000 connect/disconnect cycles across 1,000 users leave the namespace empty", async () => {
  await using local = startLocalServer({ MAX_MESSAGE_BYTES: "1024" });
  const hubs = local.server.hubs;
  const tokens = await Promise.all(Array.from({ length: USERS }, (_, u) => local.token(`leak-${u}`)));
  let next = 0;
  let peakHubs = 0;
  const endings = { client: 0, tooBig: 0 };

  const cycle = async (n: number) => {
    const socket = openSocket(local.wsUrl, tokens[n % USERS]!);
    await socket.next(ofType("welcome"));
    peakHubs = Math.max(peakHubs, hubs.size);
    if (n % 3 === 0) {
      socket.send(JSON.stringify({ type: "send", data: n }));
      await socket.next((frame) => typeof frame === "object" && frame.type === "message" && frame.data === n);
    } else if (n % 3 === 1) {
      socket.send("ping");
      await socket.next((frame) => frame === "pong");
    }
    if (n % 10 === 9) {
      // The hub ends this one: a frame over MAX_MESSAGE_BYTES.
      socket.send("x".repeat(2000));
      deepStrictEqual((await socket.closed).code, 1009);
      endings.tooBig++;
    } else {
      await socket.close(1000, "cycle done");
      endings.client++;
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, async () => {
    while (next < CYCLES) await cycle(next++);
  }));

  ok(peakHubs > 1, `several users were connected at once (peak ${peakHubs})`);
  deepStrictEqual(endings, { client: CYCLES * 0.9, tooBig: CYCLES * 0.1 });
  // The server side of the last closes may still be settling.
  const deadline = Date.now() + 10_000;
  while (hubs.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  deepStrictEqual(hubs.stats(), { hubs: 0, sockets: 0, timers: 0 });
  deepStrictEqual(hubs.size, 0);
});
