// Token lifetime end to end against a real `wrangler dev` at the default
// janitor period (hours): the first wake of the hub after a token's exp closes
// its socket with 4001 before anything reaches it (there is no alarm at exp), and
// the client keeps its connection past the first token's expiry by refreshing
// in band before it.
import { afterAll, beforeAll, expect, test, vi } from "vitest";
import WebSocket from "ws";
import { UserhubClient } from "../../src/client/mod.ts";
import { issueToken } from "../../src/index.ts";
import { readDevVars } from "../support/deno-demo.ts";
import { startWranglerDev, type WranglerDev } from "../support/wrangler-dev.ts";

const SECRET = readDevVars().JWT_SECRET!;

let dev: WranglerDev;
beforeAll(async () => {
  dev = await startWranglerDev();
});
afterAll(async () => {
  await dev?.stop();
});

// The two tests run at once (each its own user on the one server): both mostly wait for a token's expiry.
test.concurrent("a socket whose token expired gets nothing after exp: the hub's next wake closes it with 4001 first", async () => {
  // exp is in whole seconds: 6 leaves 5 to 6 s for a first upgrade on a fresh server, its welcome and one round trip.
  const token = await issueToken("short-lived", { secret: SECRET, ttlSeconds: 6 });
  const exp = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()).exp as number;
  const socket = new WebSocket(`${dev.wsUrl}/ws`, { headers: { Authorization: `Bearer ${token}` }, closeTimeout: 1000 } as WebSocket.ClientOptions);
  const frames: string[] = [];
  socket.on("message", (data) => frames.push(String(data)));
  const closed = new Promise<{ code: number; reason: string; at: number }>((resolve) =>
    socket.on("close", (code, reason) => resolve({ code, reason: String(reason), at: Date.now() })),
  );
  await vi.waitFor(() => expect(frames.length).toBeGreaterThan(0), { timeout: 10_000 });
  expect(JSON.parse(frames[0]!)).toMatchObject({ type: "welcome", expiresAt: exp * 1000 });
  socket.send(JSON.stringify({ type: "send", data: "before exp" }));
  await vi.waitFor(() => expect(frames.some((f) => f.includes("before exp"))).toBe(true), { timeout: 10_000 });
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, exp * 1000 - Date.now()) + 300));
  // The first wake after exp: this socket's own frame. It is closed, and its frame delivered to no one.
  socket.send(JSON.stringify({ type: "send", data: "after exp" }));
  const close = await closed;
  expect(close).toMatchObject({ code: 4001, reason: "token expired" });
  expect(close.at).toBeGreaterThanOrEqual(exp * 1000 - 100);
  expect(frames.some((f) => f.includes("after exp"))).toBe(false);
}, 30_000);

test.concurrent("the client refreshes its token in band before it expires and keeps the same connection", async () => {
  let issued = 0;
  const client = new UserhubClient({
    url: `${dev.wsUrl}/ws`,
    token: () => {
      issued++;
      // Refreshed at 80% of its life: 12 s leaves the in-band refresh about 2 s to reach the hub before exp.
      return issueToken("refresher", { secret: SECRET, ttlSeconds: 12 });
    },
  });
  const closes: number[] = [];
  client.addEventListener("close", ({ detail }) => closes.push(detail.code));
  try {
    await vi.waitFor(() => expect(client.state).toBe("open"), { timeout: 10_000 });
    const connectionId = client.connectionId;
    // Past the first token's expiry (12 s) and more: still the same socket, refreshed in band.
    await new Promise((resolve) => setTimeout(resolve, 16_000));
    expect(client.state).toBe("open");
    expect(client.connectionId).toBe(connectionId);
    expect(closes).toEqual([]);
    expect(issued).toBeGreaterThanOrEqual(2);
  } finally {
    client.close();
  }
}, 45_000);
