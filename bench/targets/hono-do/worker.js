// Hono's `upgradeWebSocket` helper inside a Durable Object: the standard
// (non-hibernating) WebSocket API, so the object stays in memory, and billed
// for duration, as long as any socket is open, and every `ping` runs this
// code (there is no runtime auto-response without the Hibernation API).
// The floor's work: every frame to every socket of the user.
//
// Hono's Cloudflare adapter has no `onOpen`, so a socket joins the user's
// set when its first frame arrives; the bench's clients ping once on connect
// (against every target), which is that first frame here.
// `POST /push/<user>` writes one SQLite row, then sends to every socket.
import { DurableObject } from "cloudflare:workers";
import { Hono } from "hono";
import { upgradeWebSocket } from "hono/cloudflare-workers";
import { answerWakes, countStorage, wakes, WAKES_PATH } from "../hub-counters.js";

export class HonoHub extends DurableObject {
  sockets = new Set();

  app = new Hono()
    .get(
      "/ws/:user",
      upgradeWebSocket(() => ({
        onMessage: (event, ws) => {
          wakes.message++;
          this.sockets.add(ws);
          if (event.data === "ping") return ws.send("pong");
          for (const socket of this.sockets) socket.send(event.data);
        },
        onClose: (_event, ws) => {
          wakes.close++;
          this.sockets.delete(ws);
        },
        onError: (_event, ws) => {
          wakes.error++;
          this.sockets.delete(ws);
        },
      })),
    )
    .post("/push/:user", async (c) => {
      const text = await c.req.text();
      this.ctx.storage.sql.exec("INSERT INTO log (at, data) VALUES (?, ?)", Date.now(), text);
      let delivered = 0;
      for (const socket of this.sockets) {
        socket.send(text);
        delivered++;
      }
      return c.json({ delivered });
    });

  constructor(ctx, env) {
    super(ctx, env);
    wakes.constructed++;
    countStorage(ctx.storage, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS log (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, data TEXT NOT NULL)");
  }

  async fetch(request) {
    if (request.headers.get("Upgrade") === "websocket") wakes.fetch++;
    else wakes.request++;
    return await this.app.fetch(request);
  }
}

const worker = new Hono()
  .get(WAKES_PATH, () => answerWakes())
  .all("/ws/:user", (c) => c.env.HONO_HUB.getByName(c.req.param("user")).fetch(c.req.raw))
  .post("/push/:user", (c) => c.env.HONO_HUB.getByName(c.req.param("user")).fetch(c.req.raw));

export default worker;
