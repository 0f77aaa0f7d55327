// Self-test for the Deno demo harness: start on a free port, answer GET / with
// the demo page, stop, and leave no process of the group (Deno, and the child
// Deno that built the page) behind.
import { existsSync } from "node:fs";
import { dirname } from "node:path";
import { afterAll, expect, test, vi } from "vitest";
import { type DenoDemo, startDenoDemo } from "./deno-demo.ts";
import { processGroupAlive } from "./process-group.ts";

let demo: DenoDemo | undefined;
afterAll(async () => {
  await demo?.stop();
});

test("the Deno demo starts on a free port, serves the demo page, and stops cleanly", async () => {
  demo = await startDenoDemo();
  expect(demo.url).toBe(`http://127.0.0.1:${demo.port}`);
  expect(demo.wsUrl).toBe(`ws://127.0.0.1:${demo.port}`);
  expect(demo.port).toBeGreaterThan(0);
  // .dev.vars reached it: dev tokens are on. (Its line may arrive in a later chunk than the listening line.)
  await vi.waitFor(() => expect(demo!.output()).toContain("dev tokens on: POST /dev/token"));

  const res = await fetch(`${demo.url}/`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/html/);
  const body = await res.text();
  expect(body).toMatch(/^<!doctype html>/i);
  expect(body).toMatch(/<title>[^<]*userhub[^<]*<\/title>/);

  const pid = demo.pid;
  expect(processGroupAlive(pid)).toBe(true);
  await demo.stop();
  await demo.stop(); // idempotent
  // No live (non-zombie) member may remain right after stop()...
  expect(processGroupAlive(pid)).toBe(false);
  // ...and once reaped, the group is gone entirely.
  await vi.waitFor(() => {
    expect(() => process.kill(-pid, 0)).toThrow(expect.objectContaining({ code: "ESRCH" }));
  }, { timeout: 10_000, interval: 100 });
  // The port is free again: nothing answers there.
  await expect(fetch(`${demo.url}/`, { signal: AbortSignal.timeout(2_000) })).rejects.toThrow();
}, 120_000);

test("with kv: true the demo keeps its delivery log in Deno KV in a temp dir, removed by stop()", async () => {
  const kvDemo = await startDenoDemo({ kv: true });
  try {
    // The demo prints this line just after the listening line that startDenoDemo waits for: it may come a read later.
    const line = await vi.waitFor(() => {
      const found = /delivery log: Deno KV at (\S+)/.exec(kvDemo.output());
      expect(found, kvDemo.output()).not.toBeNull();
      return found!;
    }, { timeout: 10_000, interval: 50 });
    const res = await fetch(`${kvDemo.url}/`);
    await res.body?.cancel();
    expect(res.status).toBe(200);
    await kvDemo.stop();
    expect(processGroupAlive(kvDemo.pid)).toBe(false);
    expect(existsSync(dirname(line[1]!))).toBe(false);
  } finally {
    await kvDemo.stop();
  }
}, 120_000);
