import { deepStrictEqual as assertEquals } from "node:assert";
import { SocketInbox } from "../../src/deno/socket-inbox.ts";

Deno.test("SocketInbox runs work one at a time, in order, even when each awaits", async () => {
  const inbox = new SocketInbox(10, (error) => {
    throw error;
  });
  const log: string[] = [];
  let running = 0;
  let maxRunning = 0;
  const done = Promise.withResolvers<void>();
  for (let i = 0; i < 5; i++) {
    inbox.push(async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      log.push(`start ${i}`);
      await new Promise((resolve) => setTimeout(resolve, 5 - i));
      log.push(`end ${i}`);
      running--;
      if (i === 4) done.resolve();
    });
  }
  await done.promise;
  assertEquals(maxRunning, 1);
  assertEquals(log, [0, 1, 2, 3, 4].flatMap((i) => [`start ${i}`, `end ${i}`]));
});

Deno.test("SocketInbox refuses work past its limit, and takes more once the backlog drains", async () => {
  const inbox = new SocketInbox(3, () => {});
  const gate = Promise.withResolvers<void>();
  const accepted = [0, 1, 2, 3, 4].map(() => inbox.push(() => gate.promise));
  assertEquals(accepted, [true, true, true, false, false]);
  assertEquals(inbox.waiting, 3);
  gate.resolve();
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(inbox.waiting, 0);
  assertEquals(inbox.push(async () => {}), true);
});

Deno.test("SocketInbox reports a failing work item and goes on with the next", async () => {
  const errors: unknown[] = [];
  const inbox = new SocketInbox(10, (error) => errors.push(error));
  const ran = Promise.withResolvers<void>();
  inbox.push(() => Promise.reject(new Error("boom")));
  inbox.push(() => Promise.resolve(ran.resolve()));
  await ran.promise;
  assertEquals(errors.map((e) => (e as Error).message), ["boom"]);
});
