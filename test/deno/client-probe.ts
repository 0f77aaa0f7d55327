/**
 * The browser client, run by real Deno against a running demo Worker: signs
 * in as the given user, sends one message, waits for it to come back, and
 * prints what it saw as one JSON line. test/e2e/client-runtimes.test.ts runs it.
 *
 * Usage: deno run --allow-net test/deno/client-probe.ts <http base url> <user id>
 */
import { UserhubClient } from "../../src/client/mod.ts";

const [base, userId] = Deno.args;
if (!base || !userId) {
  console.error("usage: client-probe.ts <http base url> <user id>");
  Deno.exit(2);
}

async function devToken(): Promise<string> {
  const response = await fetch(`${base}/dev/token`, { method: "POST", body: JSON.stringify({ userId }) });
  return ((await response.json()) as { token: string }).token;
}

const states: string[] = [];
const client = new UserhubClient({ url: `${base.replace(/^http/, "ws")}/ws`, token: devToken });
client.addEventListener("state", ({ detail }) => states.push(detail.state));
const welcome = new Promise<{ userId: string; connections: number }>((resolve) => {
  client.addEventListener("welcome", ({ detail }) => resolve(detail), { once: true });
});
const echoed = new Promise<{ seq: number; data: unknown }>((resolve) => {
  client.addEventListener("message", ({ detail }) => resolve(detail), { once: true });
});
const timeout = setTimeout(() => {
  console.log(JSON.stringify({ error: "timed out", states }));
  Deno.exit(1);
}, 15_000);
client.send({ from: "deno", runtime: Deno.version.deno });
const greeting = await welcome;
const message = await echoed;
client.close();
clearTimeout(timeout);
console.log(JSON.stringify({ userId: greeting.userId, seq: message.seq, data: message.data, states, finalState: client.state }));
