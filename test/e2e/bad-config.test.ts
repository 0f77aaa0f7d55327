// A hub variable that cannot be used (LOG_RETENTION=abc), on both hosts.
// Under `wrangler dev` every route that reaches a hub answers 500 naming the
// variable (README, "Statuses and close codes"): the upgrade, a ticket, a
// push, a disconnect and POST /messages, short lists and queued ones alike,
// so that no push is acknowledged (200 or 202) that no hub could take. No
// body or log line carries the push key, a token or a stack trace, and
// nothing reaches the queue. The Deno demo reads the same variables at
// start, and refuses to start, naming the variable.
import { request } from "node:http";
import { afterAll, beforeAll, expect, test } from "vitest";
import { issueToken } from "../../src/index.ts";
import { readDevVars, startDenoDemo } from "../support/deno-demo.ts";
import { startWranglerDev, type WranglerDev } from "../support/wrangler-dev.ts";

const DEV_VARS = readDevVars();
const PUSH_KEY = DEV_VARS.PUSH_API_KEY!;
const SECRET = DEV_VARS.JWT_SECRET!;
const NAMED = "500 Internal Server Error: server misconfigured: LOG_RETENTION: must be a positive whole number, got \"abc\".\n";
const LOG_LINE = 'userhub: configuration error: LOG_RETENTION: must be a positive whole number, got "abc"';

let dev: WranglerDev | undefined;
beforeAll(async () => {
  dev = await startWranglerDev({ vars: { LOG_RETENTION: "abc" } });
});
afterAll(async () => {
  await dev?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A WebSocket upgrade request's answer when it is refused (fetch may not send `Connection: Upgrade`). */
function refusedUpgrade(url: string, headers: Record<string, string>): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers });
    req.on("upgrade", (_res, socket) => {
      socket.destroy();
      reject(new Error("the upgrade was accepted"));
    });
    req.on("response", (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve(new Response(body, { status: res.statusCode! })));
    });
    req.on("error", reject);
    req.end();
  });
}

function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${dev!.url}${path}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${PUSH_KEY}`, "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

test("under wrangler dev, every route that reaches a hub answers 500 naming LOG_RETENTION; nothing is acknowledged, queued or logged with a stack", async () => {
  const token = await issueToken("cfg-alice", { secret: SECRET, ttlSeconds: 600 });
  const upgrade = {
    Connection: "Upgrade",
    Upgrade: "websocket",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Protocol": "userhub.v1",
    Authorization: `Bearer ${token}`,
  };
  const many = Array.from({ length: 60 }, (_, i) => `cfg-many-${i}`);
  const answers: [string, Response][] = [
    ["push", await post("/users/cfg-alice/messages", { data: 1 })],
    ["disconnect", await post("/users/cfg-alice/disconnect", {})],
    ["POST /messages to 2 users (pushed directly)", await post("/messages", { userIds: ["cfg-alice", "cfg-bob"], data: 1 }, { "Idempotency-Key": "cfg-1" })],
    ["POST /messages to 60 users (for the queue)", await post("/messages", { userIds: many, data: 1 }, { "Idempotency-Key": "cfg-2" })],
    ["upgrade", await refusedUpgrade(`${dev!.url}/ws`, upgrade)],
    ["ticket", await fetch(`${dev!.url}/ws/ticket`, { method: "POST", headers: { Authorization: `Bearer ${token}` } })],
  ];
  for (const [route, response] of answers) {
    const body = await response.text();
    expect({ route, status: response.status, body }).toEqual({ route, status: 500, body: NAMED });
  }
  // A bad request is still told what is wrong with it first.
  expect((await post("/users/cfg-alice/messages", { nothing: 1 })).status).toBe(400);

  // Past the queue's batch timeout (1 s): had anything been queued, its consumer would have run by now.
  await sleep(3_000);
  const output = dev!.output();
  expect(output).toContain(LOG_LINE);
  expect(output).not.toMatch(/QUEUE userhub-fan-out/);
  expect(output).not.toMatch(/^\s+at /m);
  expect(output).not.toContain("Uncaught");
  expect(output).not.toContain(PUSH_KEY);
  expect(output).not.toContain(token);
}, 60_000);

test("the Deno demo reads the same variables at start and refuses to start, naming LOG_RETENTION, without a stack", async () => {
  const started = startDenoDemo({ vars: { LOG_RETENTION: "abc" }, kv: false });
  const error = await started.then(
    async (demo) => {
      await demo.stop();
      return new Error("the Deno demo started");
    },
    (error: unknown) => error as Error,
  );
  expect(error.message).toMatch(/exited \(code 1, signal null\) before listening/);
  expect(error.message).toContain(LOG_LINE);
  expect(error.message).not.toMatch(/^\s+at /m);
}, 90_000);
