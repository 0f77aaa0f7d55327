// partyserver with `hibernate: true`, written the way its README shows, doing
// the floor's work: every frame to every socket of the user (`broadcast`).
// One honest addition a careful partyserver user makes: the runtime answers
// `ping` with `pong` (setWebSocketAutoResponse in onStart), so heartbeats cost
// no wake here either; partyserver does not set it by itself.
// `POST /parties/party-hub/<user>` (onRequest) writes one SQLite row, then broadcasts.
import { routePartykitRequest, Server } from "partyserver";
import { answerWakes, countStorage, wakes, WAKES_PATH } from "../hub-counters.js";

export class PartyHub extends Server {
  static options = { hibernate: true };

  constructor(ctx, env) {
    super(ctx, env);
    wakes.constructed++;
    countStorage(ctx.storage, env);
  }

  // The entry points are counted here and passed on untouched, as in every target.
  async fetch(request) {
    if (request.headers.get("Upgrade")?.toLowerCase() === "websocket") wakes.fetch++;
    else wakes.request++;
    return await super.fetch(request);
  }

  async webSocketMessage(ws, message) {
    wakes.message++;
    return await super.webSocketMessage(ws, message);
  }

  async webSocketClose(ws, code, reason, wasClean) {
    wakes.close++;
    return await super.webSocketClose(ws, code, reason, wasClean);
  }

  async webSocketError(ws, error) {
    wakes.error++;
    return await super.webSocketError(ws, error);
  }

  async alarm() {
    wakes.alarm++;
    return await super.alarm();
  }

  onStart() {
    this.ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
    this.ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS log (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, data TEXT NOT NULL)");
  }

  onMessage(_connection, message) {
    this.broadcast(message);
  }

  async onRequest(request) {
    const text = await request.text();
    this.ctx.storage.sql.exec("INSERT INTO log (at, data) VALUES (?, ?)", Date.now(), text);
    let delivered = 0;
    for (const connection of this.getConnections()) {
      connection.send(text);
      delivered++;
    }
    return Response.json({ delivered });
  }
}

export default {
  async fetch(request, env) {
    if (new URL(request.url).pathname === WAKES_PATH) return answerWakes();
    return (await routePartykitRequest(request, env)) ?? new Response("Not Found\n", { status: 404 });
  },
};
