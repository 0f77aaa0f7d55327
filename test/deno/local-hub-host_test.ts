import assert from "node:assert/strict";
import { type ConnectionAttachment, MemoryDeliveryLog, MemoryTicketStore, type WritableSocket } from "../../src/host.ts";
import { LocalHubHost } from "../../src/deno/mod.ts";
import { eventually } from "./socket-client.ts";

function hostCountingWakes() {
  let wakes = 0;
  const host = new LocalHubHost<WritableSocket>({ log: new MemoryDeliveryLog(), tickets: new MemoryTicketStore(), onWake: () => wakes++ });
  return { host, wakes: () => wakes };
}

function fakeSocket(readyState: number): WritableSocket {
  return { readyState, send() {}, close() {} };
}

function attachment(connectionId: string): ConnectionAttachment {
  return { connectionId, userId: "alice", connectedAt: Date.now(), lastMessageAt: Date.now(), expiresAt: null };
}

Deno.test("scheduleWake keeps one timer: a new time replaces the old one, null clears it", async () => {
  const { host, wakes } = hostCountingWakes();
  const soon = Date.now() + 30;
  host.scheduleWake(soon);
  assert.equal(host.wakeAt, soon);
  assert.equal(host.hasTimer, true);
  const later = Date.now() + 60_000;
  host.scheduleWake(later);
  assert.equal(host.wakeAt, later);
  // Had the first timer survived the replacement, it would fire here.
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(wakes(), 0);
  host.scheduleWake(null);
  assert.equal(host.wakeAt, null);
  assert.equal(host.hasTimer, false);
  // The test sanitizer fails this test if any timer is still pending.
});

Deno.test("a due wake-up fires once and leaves no timer behind", async () => {
  const { host, wakes } = hostCountingWakes();
  host.scheduleWake(Date.now() + 20);
  await eventually(() => wakes() === 1, 10_000, "the wake-up");
  assert.equal(host.hasTimer, false);
  assert.equal(host.wakeAt, null);
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(wakes(), 1);
});

Deno.test("a wake-up in the past fires at once", async () => {
  const { host, wakes } = hostCountingWakes();
  host.scheduleWake(Date.now() - 1_000);
  await eventually(() => wakes() === 1, 10_000, "the overdue wake-up");
  assert.equal(host.hasTimer, false);
});

Deno.test("dispose clears the timer and refuses later wake-ups and sockets", async () => {
  const { host, wakes } = hostCountingWakes();
  host.scheduleWake(Date.now() + 20);
  host.dispose();
  assert.equal(host.hasTimer, false);
  host.scheduleWake(Date.now() + 20);
  assert.equal(host.hasTimer, false);
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(wakes(), 0);
  assert.throws(() => host.accept(fakeSocket(1), attachment("c1")));
});

Deno.test("openSockets holds connecting and open sockets; socketCount holds every socket until it is forgotten", () => {
  const { host } = hostCountingWakes();
  const [connecting, open, closing, closed] = [0, 1, 2, 3].map(fakeSocket) as [
    WritableSocket,
    WritableSocket,
    WritableSocket,
    WritableSocket,
  ];
  for (const [i, socket] of [connecting, open, closing, closed].entries()) host.accept(socket, attachment(`c${i}`));
  assert.deepEqual(host.openSockets(), [connecting, open]);
  assert.equal(host.socketCount, 4);
  assert.equal(host.readAttachment(open)?.connectionId, "c1");
  host.forget(closed);
  host.forget(closing);
  assert.equal(host.socketCount, 2);
  assert.equal(host.lastAutoResponseAt(open), null);
});
