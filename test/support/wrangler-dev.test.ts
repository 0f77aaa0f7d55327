// Self-test for the wrangler dev harness: start, answer HTTP, restart on the
// same port, stop, and leave no process of the group (wrangler + workerd) behind.
import { afterAll, expect, test, vi } from "vitest";
import { processGroupAlive } from "./process-group.ts";
import { startWranglerDev, type WranglerDev } from "./wrangler-dev.ts";

let dev: WranglerDev | undefined;
afterAll(async () => {
  await dev?.stop();
});

test("wrangler dev starts, restarts and stops cleanly", async () => {
  dev = await startWranglerDev();
  expect(dev.url).toBe(`http://127.0.0.1:${dev.port}`);
  const res = await fetch(`${dev.url}/`);
  await res.body?.cancel();
  expect(res.status).toBeGreaterThanOrEqual(100);

  const firstPid = dev.pid;
  await dev.restart();
  expect(processGroupAlive(firstPid)).toBe(false);
  const res2 = await fetch(`${dev.url}/`);
  await res2.body?.cancel();
  expect(res2.status).toBe(res.status);

  const pid = dev.pid;
  await dev.stop();
  await dev.stop(); // idempotent
  // No live (non-zombie) member may remain right after stop()...
  expect(processGroupAlive(pid)).toBe(false);
  // ...and once init has reaped the orphaned zombies (wrangler exits without
  // reaping its workerd children), the group is gone entirely.
  await vi.waitFor(() => {
    expect(() => process.kill(-pid, 0)).toThrow(expect.objectContaining({ code: "ESRCH" }));
  }, { timeout: 10_000, interval: 100 });
}, 180_000);
