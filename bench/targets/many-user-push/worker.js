// The many-user push bench's Worker (bench/many-user-push.ts): the same N
// pushes, one per user, four ways.
// - userhub direct:  POST /direct/messages, userhubWorker with directRecipients
//                    raised to 10,000 (as a Workers Paid deployer may): the
//                    request pushes to every user itself, 16 at a time;
// - userhub queued:  POST /queued/messages, directRecipients 0: every user goes
//                    through the queue in messages of 100, the Worker's own
//                    queue handler (consumeFanOut) pushes;
// - floor direct:    POST /floor/direct, hand-written: N Durable Object RPCs,
//                    16 at a time, each one SQLite INSERT;
// - floor queued:    POST /floor/queued, hand-written: sendBatch of 100-user
//                    messages, a consumer doing the same RPCs, acking each.
// GET /__bench/pushes counts the pushes each hub class took (module state:
// the Worker and its objects share one isolate), so the bench knows when a
// queued push is done.
import { DurableObject } from "cloudflare:workers";
import { userhubWorker } from "../../../durable-objects/index.ts";
import { UserHub as DemoUserHub } from "../../../worker/index.ts";
import { answerWakes, WAKES_PATH } from "../hub-counters.js";

const pushes = { userhub: 0, floor: 0 };
const CONCURRENCY = 16;
const USERS_PER_MESSAGE = 100;

export class UserHub extends DemoUserHub {
  async push(messages, options) {
    const result = await super.push(messages, options);
    pushes.userhub++;
    return result;
  }
}

export class FloorHub extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS log (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, data TEXT NOT NULL)");
  }

  push(text) {
    this.ctx.storage.sql.exec("INSERT INTO log (at, data) VALUES (?, ?)", Date.now(), text);
    pushes.floor++;
    return 1;
  }
}

async function floorPushes(env, userIds, text) {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < userIds.length) await env.FLOOR_HUB.getByName(userIds[next++]).push(text);
    }),
  );
}

const direct = userhubWorker({ hub: "USER_HUB", directRecipients: 10_000 });
const queued = userhubWorker({ hub: "USER_HUB", fanOutQueue: "FAN_OUT_QUEUE", directRecipients: 0 });

/** The request with its first path segment (`/direct`, `/queued`) removed. */
function strip(request, prefix) {
  const url = new URL(request.url);
  url.pathname = url.pathname.slice(prefix.length);
  return new Request(url, request);
}

export default {
  async fetch(request, env, ctx) {
    const { pathname } = new URL(request.url);
    if (pathname === WAKES_PATH) return answerWakes();
    if (pathname === "/__bench/pushes") return Response.json(pushes);
    if (pathname.startsWith("/direct/")) return direct.fetch(strip(request, "/direct"), env, ctx);
    if (pathname.startsWith("/queued/")) return queued.fetch(strip(request, "/queued"), env, ctx);
    if (pathname === "/floor/direct" || pathname === "/floor/queued") {
      const { userIds, data } = await request.json();
      const text = JSON.stringify(data);
      if (pathname === "/floor/direct") {
        await floorPushes(env, userIds, text);
        return Response.json({ delivered: userIds.length });
      }
      const messages = [];
      for (let i = 0; i < userIds.length; i += USERS_PER_MESSAGE) messages.push({ body: { userIds: userIds.slice(i, i + USERS_PER_MESSAGE), text }, contentType: "json" });
      for (let i = 0; i < messages.length; i += 100) await env.FLOOR_QUEUE.sendBatch(messages.slice(i, i + 100));
      return Response.json({ queued: userIds.length }, { status: 202 });
    }
    return new Response("not found\n", { status: 404 });
  },

  async queue(batch, env, ctx) {
    if (batch.queue === "bench-userhub-fan-out") return await queued.queue(batch, env, ctx);
    // The same bound as userhub's consumer: 16 calls in flight across the batch.
    const calls = batch.messages.flatMap((message) => message.body.userIds.map((userId) => ({ userId, text: message.body.text })));
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < calls.length) {
          const { userId, text } = calls[next++];
          await env.FLOOR_HUB.getByName(userId).push(text);
        }
      }),
    );
    for (const message of batch.messages) message.ack();
  },
};
