// The optional Workers Rate Limiting binding, under a real `wrangler dev`
// (Miniflare implements it locally): the demo Worker with the README's
// `[[ratelimits]]` lines added counts each user's upgrade attempts at the
// edge, before any hub is reached, and answers 429 with Retry-After past the
// binding's limit. Without the binding (every other test) nothing changes.
import { randomUUID } from "node:crypto";
import { readFile, rm, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import WebSocket from "ws";
import { startWranglerDev, type WranglerDev } from "../support/wrangler-dev.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const LIMIT = 3;
const PERIOD_S = 60;
/** The README's lines, with a small limit so that it is quick to reach. */
const RATELIMITS = `
[[ratelimits]]
name = "UPGRADE_LIMITER"
namespace_id = "1001"
simple = { limit = ${LIMIT}, period = ${PERIOD_S} }
`;

let dev: WranglerDev;
// Beside wrangler.toml, so that its relative paths (main, assets, build) and .dev.vars resolve as they do for it.
const config = `${ROOT}.wrangler-edge-limit-${randomUUID().slice(0, 8)}.toml`;

beforeAll(async () => {
  await writeFile(config, `${await readFile(`${ROOT}wrangler.toml`, "utf8")}\n${RATELIMITS}`);
  dev = await startWranglerDev({ extraArgs: ["--config", config] });
});

afterAll(async () => {
  await dev?.stop();
  await rm(config, { force: true });
});

async function tokenFor(userId: string): Promise<string> {
  const res = await fetch(`${dev.url}/dev/token`, { method: "POST", body: JSON.stringify({ userId }) });
  return ((await res.json()) as { token: string }).token;
}

/** Opens and closes one socket; resolves with the upgrade's status and its Retry-After. */
function upgrade(token: string): Promise<{ status: number; retryAfter: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${dev.wsUrl}/ws`, ["userhub.v1"], { headers: { Authorization: `Bearer ${token}` } });
    ws.once("open", () => {
      ws.close(1000);
      resolve({ status: 101, retryAfter: undefined, body: "" });
    });
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, retryAfter: res.headers["retry-after"] as string | undefined, body });
        ws.terminate();
      });
    });
    ws.on("error", (error) => reject(error));
  });
}

/**
 * Miniflare counts in windows aligned to the wall clock (its bucket is
 * `floor(now / period)`), so a count that straddles a boundary starts over
 * and the refusal never comes.
 * When the current window has less than `marginMs` left, wait for the next.
 */
async function awayFromWindowEdge(marginMs: number): Promise<void> {
  const left = PERIOD_S * 1000 - (Date.now() % (PERIOD_S * 1000));
  if (left < marginMs) await new Promise((resolve) => setTimeout(resolve, left + 250));
}

describe("the edge Rate Limiting binding (UPGRADE_LIMITER)", () => {
  test(`lets ${LIMIT} upgrades of a user through, answers the next 429 with Retry-After, and leaves other users alone`, async () => {
    expect(dev.output()).toMatch(/UPGRADE_LIMITER/);
    const user = `edge-${randomUUID().slice(0, 8)}`;
    const token = await tokenFor(user);
    await awayFromWindowEdge(15_000);
    for (let i = 0; i < LIMIT; i++) expect((await upgrade(token)).status).toBe(101);
    const refused = await upgrade(token);
    expect(refused.status).toBe(429);
    expect(refused.retryAfter).toBe("60");
    expect(refused.body).toMatch(/too many connection attempts/);
    expect(refused.body).not.toContain(token);
    expect((await upgrade(await tokenFor(`other-${randomUUID().slice(0, 8)}`))).status).toBe(101);
  });
});
