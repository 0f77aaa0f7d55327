// The browser client (userhub/client) outside the browser, against a real
// `wrangler dev`: from Node 22 (its global WebSocket) in this process, and from
// real Deno in a child process. It reconnects by itself when the server
// restarts, resumes without duplicates, uses tickets, and stops on a refusal.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from "vitest";
import { AuthRefusedError, type ConnectionState, type ReceivedMessage, ticketFrom, UserhubClient } from "../../src/client/mod.ts";
import { startWranglerDev, type WranglerDev } from "../support/wrangler-dev.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PUSH_KEY = "userhub-local-push-key"; // .dev.vars

let dev: WranglerDev;
const clients: UserhubClient[] = [];
let users = 0;
const user = (name: string) => `${name}-${process.pid}-${++users}`;

beforeAll(async () => {
  dev = await startWranglerDev();
});
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});
afterAll(async () => {
  await dev?.stop();
});

async function devToken(userId: string): Promise<string> {
  const response = await fetch(`${dev.url}/dev/token`, { method: "POST", body: JSON.stringify({ userId }) });
  expect(response.status).toBe(200);
  return ((await response.json()) as { token: string }).token;
}

async function push(userId: string, data: unknown): Promise<number> {
  const response = await fetch(`${dev.url}/users/${userId}/messages`, {
    method: "POST",
    headers: { Authorization: `Bearer ${PUSH_KEY}`, "Content-Type": "application/json" },
    body: JSON.stringify({ data }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { seq: number }).seq;
}

/** A client as `userId`, recording its states, messages and errors. */
function track(client: UserhubClient) {
  clients.push(client);
  const states: ConnectionState[] = [];
  const messages: ReceivedMessage[] = [];
  const errors: Error[] = [];
  client.addEventListener("state", ({ detail }) => states.push(detail.state));
  client.addEventListener("message", ({ detail }) => messages.push(detail));
  client.addEventListener("error", ({ detail }) => errors.push(detail));
  return { client, states, messages, errors };
}

describe("from Node 22", () => {
  test("connects with a token provider, sends, and hears its own message with its seq", async () => {
    const alice = user("alice");
    const { client, states, messages } = track(new UserhubClient({ url: `${dev.wsUrl}/ws`, token: () => devToken(alice) }));
    client.send({ text: "queued before open" });
    await vi.waitFor(() => expect(messages).toHaveLength(1), { timeout: 10_000 });
    expect(messages[0]).toMatchObject({ seq: 1, data: { text: "queued before open" }, from: client.connectionId });
    expect(states).toEqual(["connecting", "open"]);
  });

  test("reconnects by itself across a server restart and resumes what was pushed meanwhile, once each, in order", async () => {
    const alice = user("alice");
    const tracked = track(new UserhubClient({ url: `${dev.wsUrl}/ws`, token: () => devToken(alice), backoff: { baseMs: 100, maxMs: 1000 } }));
    const { client, states, messages } = tracked;
    await vi.waitFor(() => expect(client.state).toBe("open"), { timeout: 10_000 });
    await push(alice, "one");
    await vi.waitFor(() => expect(messages.map((m) => m.seq)).toEqual([1]), { timeout: 5_000 });

    await dev.restart();
    // The hub's log lives in SQLite, which survives the restart: these are 2 and 3.
    expect(await push(alice, "two")).toBe(2);
    expect(await push(alice, "three")).toBe(3);
    await vi.waitFor(() => expect(client.state).toBe("open"), { timeout: 30_000 });
    await vi.waitFor(() => expect(messages.map((m) => m.data)).toEqual(["one", "two", "three"]), { timeout: 10_000 });
    expect(messages.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(states).toContain("reconnecting");
    expect(states.at(-1)).toBe("open");
  }, 90_000);

  test("connects with a single-use ticket, and stops for good when the ticket endpoint refuses the token", async () => {
    const alice = user("alice");
    const token = await devToken(alice);
    const ticketUrl = `${dev.url}/ws/ticket`;
    const good = track(new UserhubClient({ url: `${dev.wsUrl}/ws`, ticket: ticketFrom(ticketUrl, token) }));
    await vi.waitFor(() => expect(good.client.state, String(good.errors)).toBe("open"), { timeout: 10_000 });

    const refused = track(new UserhubClient({ url: `${dev.wsUrl}/ws`, ticket: ticketFrom(ticketUrl, `${token}x`) }));
    await vi.waitFor(() => expect(refused.client.state).toBe("closed"), { timeout: 10_000 });
    expect(refused.errors[0]).toBeInstanceOf(AuthRefusedError);
    expect(refused.errors[0]!.message).not.toContain(token);
  });
});

describe("from Deno", () => {
  test("the same client connects from real Deno, sends, and hears its message", async () => {
    const alice = user("alice");
    const output = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn("npx", ["--no-install", "deno", "run", "--allow-net", "test/deno/client-probe.ts", dev.url, alice], { cwd: ROOT });
      let stdout = "";
      let stderr = "";
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
      child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
    expect(output.code, output.stderr).toBe(0);
    const seen = JSON.parse(output.stdout.trim().split("\n").at(-1)!) as Record<string, unknown>;
    expect(seen).toMatchObject({ userId: alice, seq: 1, data: { from: "deno" }, states: ["connecting", "open", "closed"], finalState: "closed" });
  });
});
