// The floor with a bounded log: each frame is written as one row of a log
// kept to RING rows, in one of several SQLite strategies (LOG_STRATEGY),
// then sent back. Rows written are summed from the cursors and answered at
// GET /__rows. It prices the strategies apart from any framework.
import { DurableObject } from "cloudflare:workers";

const RING = 1000;
const SLACK = 62;
export const rows = { statements: 0, written: 0, read: 0, messages: 0 };

const SCHEMAS = {
  insert: "CREATE TABLE IF NOT EXISTS log (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, data TEXT NOT NULL)",
  wide: "CREATE TABLE IF NOT EXISTS log (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, sender TEXT, data TEXT NOT NULL, bytes INTEGER NOT NULL, base INTEGER NOT NULL)",
  rekey: "CREATE TABLE IF NOT EXISTS log (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, sender TEXT, data TEXT NOT NULL, bytes INTEGER NOT NULL, base INTEGER NOT NULL)",
  "insert-delete": "CREATE TABLE IF NOT EXISTS log (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, sender TEXT, data TEXT NOT NULL, bytes INTEGER NOT NULL, base INTEGER NOT NULL)",
  slot: "CREATE TABLE IF NOT EXISTS log (slot INTEGER PRIMARY KEY, seq INTEGER NOT NULL, at INTEGER NOT NULL, sender TEXT, data TEXT NOT NULL, bytes INTEGER NOT NULL, base INTEGER NOT NULL)",
  "slot-replace": "CREATE TABLE IF NOT EXISTS log (slot INTEGER PRIMARY KEY, seq INTEGER NOT NULL, at INTEGER NOT NULL, sender TEXT, data TEXT NOT NULL, bytes INTEGER NOT NULL, base INTEGER NOT NULL)",
};

export class LogHub extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
    this.strategy = env.LOG_STRATEGY;
    this.sql = ctx.storage.sql;
    this.sql.exec(SCHEMAS[this.strategy]);
    this.latest = this.sql.exec("SELECT max(seq) AS s FROM log").one().s ?? 0;
    this.first = this.sql.exec("SELECT min(seq) AS s FROM log").one().s ?? 1;
    this.base = 0;
  }

  async fetch(request) {
    const n = Number(new URL(request.url).searchParams.get("loop") ?? 0);
    if (n > 0) {
      // n writes in one event (one implicit transaction): the statements' own cost, apart from the runtime's per-event work.
      const text = '{"type":"send","data":' + "1".repeat(180) + "}";
      for (let i = 0; i < n; i++) this.write(text);
      return new Response("ok");
    }
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    return new Response(null, { status: 101, webSocket: client });
  }

  count(cursor) {
    rows.statements++;
    rows.written += cursor.rowsWritten;
    rows.read += cursor.rowsRead;
  }

  webSocketMessage(_ws, message) {
    this.write(message);
    for (const socket of this.ctx.getWebSockets()) socket.send(message);
  }

  write(message) {
    const seq = ++this.latest;
    const at = Date.now();
    const bytes = message.length;
    const base = this.base;
    this.base += bytes;
    rows.messages++;
    const sql = this.sql;
    switch (this.strategy) {
      case "insert":
        this.count(sql.exec("INSERT INTO log (seq, at, data) VALUES (?, ?, ?)", seq, at, message));
        break;
      case "wide":
        this.count(sql.exec("INSERT INTO log (seq, at, sender, data, bytes, base) VALUES (?, ?, ?, ?, ?, ?)", seq, at, null, message, bytes, base));
        break;
      case "rekey":
        if (seq - this.first >= RING) {
          this.count(sql.exec("UPDATE log SET seq = ?, at = ?, sender = ?, data = ?, bytes = ?, base = ? WHERE seq = ?", seq, at, null, message, bytes, base, this.first));
          this.first++;
        } else {
          this.count(sql.exec("INSERT INTO log (seq, at, sender, data, bytes, base) VALUES (?, ?, ?, ?, ?, ?)", seq, at, null, message, bytes, base));
        }
        break;
      case "insert-delete":
        this.count(sql.exec("INSERT INTO log (seq, at, sender, data, bytes, base) VALUES (?, ?, ?, ?, ?, ?)", seq, at, null, message, bytes, base));
        if (seq - this.first + 1 > RING + SLACK) {
          this.count(sql.exec("DELETE FROM log WHERE seq < ?", seq - RING + 1));
          this.first = seq - RING + 1;
        }
        break;
      case "slot":
        if (seq - this.first >= RING) {
          this.count(sql.exec("UPDATE log SET seq = ?, at = ?, sender = ?, data = ?, bytes = ?, base = ? WHERE slot = ?", seq, at, null, message, bytes, base, seq % RING));
          this.first++;
        } else {
          this.count(sql.exec("INSERT INTO log (slot, seq, at, sender, data, bytes, base) VALUES (?, ?, ?, ?, ?, ?, ?)", seq % RING, seq, at, null, message, bytes, base));
        }
        break;
      case "slot-replace":
        this.count(sql.exec("INSERT OR REPLACE INTO log (slot, seq, at, sender, data, bytes, base) VALUES (?, ?, ?, ?, ?, ?, ?)", seq % RING, seq, at, null, message, bytes, base));
        break;
    }
  }

  webSocketClose(ws, code, reason) {
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {}
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/__rows") return Response.json(rows);
    if (url.pathname.startsWith("/loop/")) return env.LOG_HUB.getByName(url.pathname.slice(6)).fetch(request);
    const user = url.pathname.startsWith("/ws/") ? url.pathname.slice(4) : "";
    if (!user || request.headers.get("Upgrade") !== "websocket") return new Response("GET /ws/<user>\n", { status: 426 });
    return env.LOG_HUB.getByName(user).fetch(request);
  },
};
