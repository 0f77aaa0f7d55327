// userhub as the bench runs it: the demo Worker (worker/index.ts) unchanged,
// with its Durable Object class swapped for a bench-only subclass that counts
// each entry point (and its SQLite rows and alarm calls) on the same counters
// as every other target, then calls the real UserHub. The counters are read
// at GET /__bench/wakes; every other request goes to the demo Worker.
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

  async webSocketMessage(ws, message) {
    wakes.message++;
    return await super.webSocketMessage(ws, message);
  }

  async webSocketClose(ws, code, reason) {
    wakes.close++;
    return await super.webSocketClose(ws, code, reason);
  }

  async webSocketError(ws) {
    wakes.error++;
    return await super.webSocketError(ws);
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
