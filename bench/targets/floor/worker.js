// The platform floor: the least code a hibernating Durable Object hub can be.
// One object per user (`/ws/<user>`), sockets accepted with the Hibernation
// API, heartbeats answered by the runtime, and every text frame sent to every
// socket of the user (with one socket, an echo). No auth, no parsing.
// `POST /push/<user>` is the same work as userhub's push minus the framework:
// one SQLite row written, then the text sent to every socket of the user.
// With LOG_EVERY_MESSAGE = "on" (the "floor + log" target), every frame is
// also written as one SQLite row before it is sent, like userhub's delivery
// log: it tells the cost of durability apart from the cost of a framework.
// With PARSE_FRAMES = "on" (the "floor + JSON" target, attribution only), each
// frame is parsed and a signal frame built around its data before it is sent.
// With ROW_RING = "on" (the "floor + ring" target, attribution only), each frame's data is written as userhub's
// row into a ring keyed by slot, with the log's own statements, and sent back in a message frame: the row's
// cost on this platform, in the floor's own Worker, object and socket.
// With SOCKET_STATE = "on" (attribution only), each socket carries a tag and an attachment as userhub's do.
// With ALARM = "on" (attribution only), a socket connecting sets an alarm if none is set, as userhub's
// janitor does (12 hours ahead, so it never fires in a run): what a stored alarm costs each wake.
import { DurableObject } from "cloudflare:workers";
import { answerWakes, countStorage, wakes, WAKES_PATH } from "../hub-counters.js";
import { messageText, RING_SLOTS, ROW_COLUMNS, signalText, userhubRow, writeSlotRow } from "../userhub-row.js";

/** How far ahead the ALARM = "on" target keeps its alarm: userhub's default janitor period (HEARTBEAT_SWEEP_MS). */
const JANITOR_MS = 12 * 60 * 60 * 1000;

export class FloorHub extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    wakes.constructed++;
    countStorage(ctx.storage, env);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS log (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, data TEXT NOT NULL)");
  }

  async fetch() {
    wakes.fetch++;
    const { 0: client, 1: server } = new WebSocketPair();
    // SOCKET_STATE = "on" (attribution only): a tag and an attachment of userhub's size on each socket, which a woken object's runtime restores.
    if (this.env.SOCKET_STATE === "on") {
      this.ctx.acceptWebSocket(server, [`conn:${crypto.randomUUID()}`]);
      server.serializeAttachment({ connectionId: crypto.randomUUID(), userId: "u-0123456789", lastMessageAt: Date.now(), expiresAt: Date.now() + 3_600_000, issuedAt: Date.now(), sessionId: null, protocol: null, closing: false, acks: false });
    } else {
      this.ctx.acceptWebSocket(server);
    }
    if (this.env.ALARM === "on" && (await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + JANITOR_MS);
    return new Response(null, { status: 101, webSocket: client });
  }

  push(text) {
    wakes.rpc++;
    this.ctx.storage.sql.exec("INSERT INTO log (at, data) VALUES (?, ?)", Date.now(), text);
    let delivered = 0;
    for (const socket of this.ctx.getWebSockets()) {
      socket.send(text);
      delivered++;
    }
    return delivered;
  }

  webSocketMessage(_ws, message) {
    wakes.message++;
    if (this.env.LOG_EVERY_MESSAGE === "on") this.ctx.storage.sql.exec("INSERT INTO log (at, data) VALUES (?, ?)", Date.now(), message);
    if (this.env.ROW_RING === "on") message = this.#ringRow(message);
    // The "floor + JSON" target (attribution): the frame parsed and a signal frame built around its data, as a protocol must.
    if (this.env.PARSE_FRAMES === "on") message = signalText(JSON.stringify(JSON.parse(message).data));
    for (const socket of this.ctx.getWebSockets()) socket.send(message);
  }

  /** ROW_RING: the frame's data written as userhub's row into the ring, and the message frame userhub would send for it. */
  #ringRow(message) {
    const sql = this.ctx.storage.sql;
    if (this.ringSeq === undefined) {
      sql.exec(`CREATE TABLE IF NOT EXISTS ring (slot INTEGER PRIMARY KEY, seq INTEGER NOT NULL, ${ROW_COLUMNS})`);
      // A rebuilt object numbers on from its ring, so that a slot's row is rewritten, never inserted twice.
      this.ringSeq = sql.exec("SELECT MAX(seq) AS seq FROM ring").one().seq ?? 0;
    }
    const json = JSON.stringify(JSON.parse(message).data ?? null);
    const at = Date.now();
    const seq = ++this.ringSeq;
    writeSlotRow(sql, "ring", userhubRow(seq, at, json), RING_SLOTS);
    return messageText(seq, json, at);
  }

  webSocketClose(ws, code, reason) {
    wakes.close++;
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      // The runtime already answered the close.
    }
  }

  webSocketError() {
    wakes.error++;
  }

  alarm() {
    wakes.alarm++;
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === WAKES_PATH) return answerWakes();
    if (request.method === "POST" && url.pathname.startsWith("/push/")) {
      const delivered = await env.FLOOR_HUB.getByName(url.pathname.slice(6)).push(await request.text());
      return Response.json({ delivered });
    }
    const user = url.pathname.startsWith("/ws/") ? url.pathname.slice(4) : "";
    if (!user || request.headers.get("Upgrade") !== "websocket") return new Response("GET /ws/<user> with Upgrade: websocket\n", { status: 426 });
    return env.FLOOR_HUB.getByName(user).fetch(request);
  },
};
