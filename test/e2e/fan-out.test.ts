// POST /messages to 1,000 users through a real Cloudflare Queue under
// `wrangler dev` (Miniflare's queue, the Worker's own consumer), checked by
// reading every user's log back over a socket (`?since=0` replays it): each
// holds the data exactly once, as seq 1. First the demo Worker as shipped
// (the repository's wrangler.toml); then a test-only Worker
// (test/e2e/fan-out-worker/) whose hubs fail part-way on purpose in the
// first attempts (FAN_OUT_TEST_FAULTS, a variable only this test sets), so
// the queue retries messages whose users were partly reached, and the whole
// request is then retried with the same Idempotency-Key: still once each.
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterEach, expect, test, vi } from "vitest";
import { issueToken } from "../../src/index.ts";
import { codeBlock, README_DEV_HOST, readmeSection } from "../support/readme.ts";
import { startWranglerDev, type WranglerDev } from "../support/wrangler-dev.ts";

const USERS = 1000;
const PUSH_KEY = "userhub-local-push-key"; // .dev.vars
const SECRET = "userhub-local-development-secret-not-for-production"; // .dev.vars
const TEST_WORKER_DIR = fileURLToPath(new URL("./fan-out-worker/", import.meta.url));
const READERS = 16;

let dev: WranglerDev | undefined;
let persistTo: string | undefined;
afterEach(async () => {
  await dev?.stop();
  dev = undefined;
  if (persistTo) await rm(persistTo, { recursive: true, force: true });
  persistTo = undefined;
});

/** A fresh directory for the Durable Objects' SQLite, in memory where the machine has /dev/shm: 1,000 new hubs are mostly their files. */
async function freshPersistDir(): Promise<string> {
  persistTo = await mkdtemp(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "userhub-fan-out-e2e-"));
  return persistTo;
}

function postMessages(url: string, key: string, userIds: readonly string[], data: unknown) {
  return fetch(`${url}/messages`, {
    method: "POST",
    headers: { Authorization: `Bearer ${PUSH_KEY}`, "Content-Type": "application/json", "Idempotency-Key": key },
    body: JSON.stringify({ userIds, data }),
  });
}

interface UserLog {
  /** The latest seq the hub's welcome names. */
  seq: number;
  /** The replayed deliveries, in order. */
  messages: { seq: number; data: unknown }[];
}

/** `userId`'s whole log, read over a socket that resumes from 0 (the welcome names the latest seq; the replay follows). */
async function readLog(wsUrl: string, userId: string): Promise<UserLog> {
  const token = await issueToken(userId, { secret: SECRET, ttlSeconds: 600 });
  const socket = new WebSocket(`${wsUrl}/ws?since=0`, ["userhub.v1", `bearer.${token}`]);
  try {
    return await new Promise<UserLog>((resolve, reject) => {
      let log: UserLog | undefined;
      socket.addEventListener("message", (event) => {
        const frame = JSON.parse(String(event.data)) as { type: string; seq?: number; data?: unknown };
        if (frame.type === "welcome") log = { seq: frame.seq!, messages: [] };
        else if (frame.type === "message") log!.messages.push({ seq: frame.seq!, data: frame.data });
        else if (frame.type === "reset") reject(new Error(`${userId}: reset ${JSON.stringify(frame)}`));
        if (log && log.messages.length >= log.seq) resolve(log);
      });
      socket.addEventListener("close", (event) => reject(new Error(`${userId}: closed ${event.code} ${event.reason} before the replay ended`)));
      socket.addEventListener("error", () => reject(new Error(`${userId}: socket error`)));
    });
  } finally {
    socket.close(1000);
  }
}

/** Reads every user's log, `READERS` at a time. */
async function readLogs(wsUrl: string, userIds: readonly string[]): Promise<Map<string, UserLog>> {
  const logs = new Map<string, UserLog>();
  let next = 0;
  await Promise.all(
    Array.from({ length: READERS }, async () => {
      while (next < userIds.length) {
        const userId = userIds[next++]!;
        logs.set(userId, await readLog(wsUrl, userId));
      }
    }),
  );
  return logs;
}

/**
 * Messages of `queue` the consumer acknowledged so far, from the lines
 * `wrangler dev` prints per batch (`QUEUE <queue> <acked>/<total> (<ms>)`):
 * a way to wait for the shipped demo's queue to drain without touching a hub.
 */
function ackedInOutput(output: string, queue: string): number {
  let acked = 0;
  for (const match of output.matchAll(new RegExp(`QUEUE ${queue} (\\d+)/(\\d+)`, "g"))) acked += Number(match[1]);
  return acked;
}

/** Every user's log holds `data` exactly once, as its one delivery. */
async function expectOnceEach(wsUrl: string, userIds: readonly string[], data: unknown): Promise<void> {
  const logs = await readLogs(wsUrl, userIds);
  const wrong = userIds.filter((userId) => JSON.stringify(logs.get(userId)) !== JSON.stringify({ seq: 1, messages: [{ seq: 1, data }] }));
  expect(wrong.map((userId) => [userId, logs.get(userId)])).toEqual([]);
}

const usersOf = (prefix: string) => Array.from({ length: USERS }, (_, i) => `${prefix}-${i}`);

test("the demo Worker as shipped: a push to 1,000 users goes through its queue and lands once in each log", async () => {
  dev = await startWranglerDev({ persistTo: await freshPersistDir() });
  const userIds = usersOf("shipped");
  const response = await postMessages(dev.url, "shipped-1", userIds, { text: "to a thousand" });
  expect(response.status).toBe(202);
  expect(await response.json()).toEqual({ recipients: USERS, delivered: 0, duplicates: 0, queued: USERS });
  // Ten messages of 100 users, each acknowledged once all its users have the data.
  await vi.waitFor(() => expect(ackedInOutput(dev!.output(), "userhub-fan-out")).toBe(10), { timeout: 120_000, interval: 500 });
  await expectOnceEach(dev.wsUrl, userIds, { text: "to a thousand" });

  // The README's curl line, against this server, answers what the README shows.
  const block = codeBlock(readmeSection("### Push to many users"), "sh");
  const [curlLine, shown] = block.trim().split("\n") as [string, string];
  expect(curlLine, "the README's curl line reaches the server npm start serves").toContain(`http://${README_DEV_HOST}/`);
  const args = [...curlLine.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!).slice(1);
  const { stdout } = await promisify(execFile)("curl", args.map((arg) => arg.replace(`http://${README_DEV_HOST}`, dev!.url)));
  expect(JSON.parse(stdout)).toEqual(JSON.parse(shown.replace(/^# /, "")));
}, 240_000);

test("the README's wrangler.toml lines for the queue are the demo's", () => {
  const shown = codeBlock(readmeSection("### Push to many users"), "toml");
  const demo = readFileSync(fileURLToPath(new URL("../../wrangler.toml", import.meta.url)), "utf8");
  const settings = (toml: string) => toml.split("\n").map((line) => line.replace(/#.*/, "").trim()).filter(Boolean);
  const demoSettings = new Set(settings(demo));
  expect(settings(shown).filter((line) => !demoSettings.has(line))).toEqual([]);
});

test("hubs failing part-way: the queue retries what failed, the request is retried whole, and each of 1,000 logs holds the data once", async () => {
  dev = await startWranglerDev({
    persistTo: await freshPersistDir(),
    cwd: TEST_WORKER_DIR,
    vars: { JWT_SECRET: SECRET, PUSH_API_KEY: PUSH_KEY, FAN_OUT_TEST_FAULTS: "on" },
  });
  const counts = async () => (await (await fetch(`${dev!.url}/__test/fan-out`)).json()) as Record<string, number>;
  const userIds = usersOf("flaky");
  const first = await postMessages(dev.url, "flaky-1", userIds, "despite failures");
  expect(first.status).toBe(202);
  expect(await first.json()).toEqual({ recipients: USERS, delivered: 0, duplicates: 0, queued: USERS });

  // Ten messages of 100 users; each first attempt has failures, so each is retried once and then acknowledged.
  await vi.waitFor(async () => expect((await counts()).acked).toBe(10), { timeout: 120_000, interval: 500 });
  const afterRetries = await counts();
  expect(afterRetries.injected).toBeGreaterThan(USERS / 7);
  expect(afterRetries.retried).toBe(10);
  expect(afterRetries.firstAttempts).toBe(10);
  expect(afterRetries.dropped).toBe(0);
  // Users reached in a failed attempt (or whose answer was lost) were pushed again and answered "duplicate".
  expect(afterRetries.duplicates).toBeGreaterThan(0);

  // The whole request again, as a client whose answer was lost would send it: queued again, delivered nowhere twice.
  const retry = await postMessages(dev.url, "flaky-1", userIds, "despite failures");
  expect(retry.status).toBe(202);
  await vi.waitFor(async () => expect((await counts()).acked).toBe(20), { timeout: 120_000, interval: 500 });
  const afterRequestRetry = await counts();
  expect(afterRequestRetry.delivered).toBe(afterRetries.delivered);
  expect(afterRequestRetry.duplicates! - afterRetries.duplicates!).toBe(USERS);
  expect(afterRequestRetry.retried).toBe(10);
  // Read back once, after both: a second delivery at either stage would show as a seq 2.
  await expectOnceEach(dev.wsUrl, userIds, "despite failures");
}, 300_000);
