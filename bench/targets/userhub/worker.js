// userhub as the bench runs it: the demo Worker (worker/index.ts) unchanged,
// with its Durable Object class swapped for a bench-only subclass that counts
// each entry point (and its SQLite rows and alarm calls) on the same counters
// as every other target, then calls the real UserHub. The counters are read
// at GET /__bench/wakes; every other request goes to the demo Worker. The
// socket events are counted and handed on without an async layer of their
// own, as the floor counts its own: the bench must not add a promise per
// frame to userhub's path that the floor's does not have.
import demo, { UserHub as DemoUserHub } from "../../../worker/index.ts";
import { answerWakes, countStorage, wakes, WAKES_PATH } from "../hub-counters.js";

export class UserHub extends DemoUserHub {
  constructor(ctx, env) {
    super(ctx, env);
    wakes.constructed++;
    countStorage(ctx.storage, env);
  }

  async fetch(request) {
    wakes.fetch++;
    return await super.fetch(request);
  }

  webSocketMessage(ws, message) {
    wakes.message++;
    return super.webSocketMessage(ws, message);
  }

  webSocketClose(ws, code, reason) {
    wakes.close++;
    return super.webSocketClose(ws, code, reason);
  }

  webSocketError(ws) {
    wakes.error++;
    return super.webSocketError(ws);
  }

  async alarm() {
    wakes.alarm++;
    return await super.alarm();
  }

  async push(messages, options) {
    wakes.rpc++;
    return await super.push(messages, options);
  }

  async receiveDirect(delivery) {
    wakes.rpc++;
    return await super.receiveDirect(delivery);
  }

  async issueTicket(identity) {
    wakes.rpc++;
    return await super.issueTicket(identity);
  }
}

export default {
  fetch(request, env, ctx) {
    if (new URL(request.url).pathname === WAKES_PATH) return answerWakes();
    return demo.fetch(request, env, ctx);
  },
};
