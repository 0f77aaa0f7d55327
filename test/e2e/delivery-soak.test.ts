// Delivery that loses nothing, end to end: a producer pushes 5,000 messages
// to one user over HTTP while that user's three clients (userhub/client in
// Node) are dropped abruptly again and again through TCP proxies, and
// `wrangler dev` itself is restarted once mid-run. Every client must end with
// each seq exactly once, in order, and every message exactly once.
import { afterAll, beforeAll, expect, test, vi } from "vitest";
import { UserhubClient } from "../../src/client/mod.ts";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.ts";
import { startWranglerDev, type WranglerDev } from "../support/wrangler-dev.ts";

const MESSAGES = 5000;
const CONCURRENCY = 8;
const PUSH_KEY = "userhub-local-push-key"; // .dev.vars
const USER = "soak";

let dev: WranglerDev;
const proxies: TcpProxy[] = [];
const clients: UserhubClient[] = [];

beforeAll(async () => {
  // Retention covers the whole run: this test is about replay, and a reset (a gap past retention) would be a failure here.
  // Not --log-level warn, though wrangler's per-request info lines cost CPU: startWranglerDev knows its server is up
  // (and not another on a port taken beside it) from wrangler's "Ready on" line, an info line.
  dev = await startWranglerDev({ vars: { LOG_RETENTION: String(MESSAGES) } });
});

afterAll(async () => {
  for (const client of clients) client.close();
  for (const proxy of proxies) await proxy.close();
  await dev?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function devToken(): Promise<string> {
  const response = await fetch(`${dev.url}/dev/token`, { method: "POST", body: JSON.stringify({ userId: USER }) });
  if (!response.ok) throw new Error(`dev token: ${response.status}`);
  return ((await response.json()) as { token: string }).token;
}

/** Pushes message `i` until the hub takes it; the idempotency key makes a retry of a push that did land harmless. */
async function pushOnce(i: number): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    try {
      const response = await fetch(`${dev.url}/users/${USER}/messages`, {
        method: "POST",
        headers: { Authorization: `Bearer ${PUSH_KEY}`, "Content-Type": "application/json", "Idempotency-Key": `soak-${i}` },
        body: JSON.stringify({ data: { i } }),
        signal: AbortSignal.timeout(10_000),
      });
      if (response.ok) return ((await response.json()) as { seq: number }).seq;
      await response.body?.cancel();
    } catch {
      // The server is restarting: try again.
    }
    await sleep(Math.min(1000, 50 * 2 ** attempt));
  }
}

test("5,000 pushes reach three abruptly dropped clients across a server restart: each seq once, in order", async () => {
  const received: { seq: number; i: number }[][] = [];
  const resets: unknown[] = [];
  for (let c = 0; c < 3; c++) {
    const proxy = await startTcpProxy(dev.port);
    proxies.push(proxy);
    const client = new UserhubClient({ url: `ws://127.0.0.1:${proxy.port}/ws`, token: devToken, backoff: { baseMs: 50, maxMs: 500 } });
    clients.push(client);
    const seen: { seq: number; i: number }[] = [];
    received.push(seen);
    client.addEventListener("message", ({ detail }) => seen.push({ seq: detail.seq, i: (detail.data as { i: number }).i }));
    client.addEventListener("reset", ({ detail }) => resets.push(detail));
  }
  await vi.waitFor(() => expect(clients.map((c) => c.state)).toEqual(["open", "open", "open"]), { timeout: 20_000 });

  // Chaos: every 150 ms one client's connection is reset, until the producer is done.
  let producing = true;
  let drops = 0;
  const chaos = (async () => {
    for (let round = 0; producing; round++) {
      await sleep(150);
      drops += proxies[round % proxies.length]!.dropAll();
    }
  })();

  let next = 0;
  let restarted = false;
  const seqs: number[] = [];
  const producer = async () => {
    while (next < MESSAGES) {
      const i = next++;
      seqs.push(await pushOnce(i));
      if (!restarted && next >= MESSAGES / 2) {
        restarted = true;
        await dev.restart();
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, producer));
  producing = false;
  await chaos;

  // The hub numbered every message once, 1..5000.
  expect(new Set(seqs).size).toBe(MESSAGES);
  expect(Math.max(...seqs)).toBe(MESSAGES);
  expect(restarted).toBe(true);
  expect(drops).toBeGreaterThan(10);

  await vi.waitFor(() => expect(clients.map((c) => c.lastSeq)).toEqual([MESSAGES, MESSAGES, MESSAGES]), { timeout: 60_000, interval: 250 });
  const expected = Array.from({ length: MESSAGES }, (_, k) => k + 1);
  for (const seen of received) {
    expect(seen.map((m) => m.seq)).toEqual(expected);
    expect(new Set(seen.map((m) => m.i)).size).toBe(MESSAGES);
  }
  expect(resets).toEqual([]);
  // Every client really was dropped and came back many times.
  for (const proxy of proxies) expect(proxy.accepted).toBeGreaterThan(3);
}, 300_000);
