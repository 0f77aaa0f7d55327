// The in-process echo (`node bench/in-process.ts`): userhub and the floor in
// one workerd process and one isolate, each frame crossing a WebSocketPair
// between this Worker (the client) and a Durable Object (the hub), so that a
// difference of a microsecond per frame is not lost in what the network
// echo's separate processes and loopback sockets add (bench/results/
// attribution.md). The client's loop is the same code for every target; what
// differs per round trip is the hub's.
//
//   GET /echo?target=<name>&user=<id>&n=<round trips>   answers the number of deliveries it saw
//
// `floor`, `floor-json` and `floor-log` are the network bench's floor
// (bench/targets/floor/worker.js) with its switches set per class;
// `userhub-signal` and `userhub` are the demo's UserHub unchanged, sent the
// demo's `signal` and `send` frames. The `row-*` targets take userhub's
// durable echo apart: the floor's loop (each frame parsed, a message frame
// built) writing a row three ways.
import { FloorHub } from "../floor/worker.js";
import { UserHub } from "../../../worker/index.ts";
import { handoffRequest } from "../../../durable-objects/handoff.ts";
import { SqliteDeliveryLog } from "../../../durable-objects/sqlite-delivery-log.ts";
import { retentionOf } from "../../../src/host.ts";
import { DEFAULT_CONFIG } from "../../../src/index.ts";

export { FloorHub, UserHub };

/** The floor, each frame parsed and a signal frame built around its data (the protocol's least work). */
export class FloorJsonHub extends FloorHub {
  constructor(ctx, env) {
    super(ctx, { ...env, PARSE_FRAMES: "on" });
  }
}

/** The floor, each frame also written as one SQLite row before it is sent. */
export class FloorLogHub extends FloorHub {
  constructor(ctx, env) {
    super(ctx, { ...env, LOG_EVERY_MESSAGE: "on" });
  }
}

/** A connection id of the length userhub's are. */
const CONNECTION_ID = "00000000-0000-4000-8000-000000000000";
/** The ring's size in the `row-*` targets: userhub's default LOG_RETENTION. */
const RING = DEFAULT_CONFIG.logRetention;

/**
 * The floor's loop writing a row per frame, as the object's name says
 * (`row-slot-…`, `row-frame-…`, `row-log-…`):
 * - `slot`: userhub's 8-column row into a ring keyed by slot, by the log's own two statements (an UPDATE of the
 *   slot, or an INSERT while the ring fills);
 * - `frame`: the same ring with 4 columns (seq, at, base, and the message frame's text) in place of 8;
 * - `log`: userhub's SqliteDeliveryLog itself (append, then prune), the hub left out.
 */
export class FloorRowHub extends FloorHub {
  #seq = 0;
  #made = false;
  #log;

  webSocketMessage(_ws, message) {
    const kind = this.ctx.id.name.split("-")[1];
    const sql = this.ctx.storage.sql;
    const json = JSON.stringify(JSON.parse(message).data);
    const at = Date.now();
    let seq;
    let text;
    if (kind === "log") {
      const log = (this.#log ??= new SqliteDeliveryLog(sql, retentionOf(DEFAULT_CONFIG)));
      seq = log.append([{ data: null, json, from: CONNECTION_ID }], at).deliveries[0].seq;
      log.prune(at);
      text = messageText(seq, json, at);
    } else {
      if (!this.#made) {
        this.#made = true;
        const columns = kind === "frame" ? "base INTEGER NOT NULL, frame TEXT NOT NULL" : "sender TEXT, data TEXT NOT NULL, bytes INTEGER NOT NULL, base INTEGER NOT NULL, from_user TEXT, to_user TEXT";
        sql.exec(`CREATE TABLE IF NOT EXISTS parts_ring (slot INTEGER PRIMARY KEY, seq INTEGER NOT NULL, at INTEGER NOT NULL, ${columns})`);
      }
      seq = ++this.#seq;
      text = messageText(seq, json, at);
      const slot = seq % RING;
      let written = 0;
      if (kind === "frame") {
        if (seq > RING) written = sql.exec("UPDATE parts_ring SET seq = ?, at = ?, base = ?, frame = ? WHERE slot = ?", seq, at, seq * 16, text, slot).rowsWritten;
        if (written === 0) sql.exec("INSERT INTO parts_ring (seq, at, base, frame, slot) VALUES (?, ?, ?, ?, ?)", seq, at, seq * 16, text, slot);
      } else {
        const row = [seq, at, CONNECTION_ID, json, json.length, seq * 16, null, null, slot];
        if (seq > RING) written = sql.exec("UPDATE parts_ring SET seq = ?, at = ?, sender = ?, data = ?, bytes = ?, base = ?, from_user = ?, to_user = ? WHERE slot = ?", ...row).rowsWritten;
        if (written === 0) sql.exec("INSERT INTO parts_ring (seq, at, sender, data, bytes, base, from_user, to_user, slot) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", ...row);
      }
    }
    for (const socket of this.ctx.getWebSockets()) socket.send(text);
  }
}

function messageText(seq, json, at) {
  return `{"type":"message","seq":${seq},"data":${json},"at":${at},"from":"${CONNECTION_ID}"}`;
}

const send = (n) => `{"type":"send","data":${n}}`;
const signal = (n) => `{"type":"signal","data":${n}}`;

/** Each target: the binding of its object, the frame its client sends, and the object's name's kind (`row-*`). */
const TARGETS = {
  floor: { binding: "FLOOR_HUB", frame: send },
  "floor-json": { binding: "FLOOR_JSON_HUB", frame: signal },
  "floor-log": { binding: "FLOOR_LOG_HUB", frame: send },
  "userhub-signal": { binding: "USER_HUB", frame: signal, userhub: true },
  userhub: { binding: "USER_HUB", frame: send, userhub: true },
  "row-slot": { binding: "FLOOR_ROW_HUB", frame: send },
  "row-frame": { binding: "FLOOR_ROW_HUB", frame: send },
  "row-log": { binding: "FLOOR_ROW_HUB", frame: send },
};

/** What userhub sends a socket that is not a delivery of the echo: its greeting and the demo's presence counts. */
const isGreeting = (text) => text.startsWith('{"type":"welcome"') || text.startsWith('{"type":"presence"');

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const name = url.searchParams.get("target");
    const target = Object.hasOwn(TARGETS, name) ? TARGETS[name] : undefined;
    const n = Number(url.searchParams.get("n"));
    if (!target || !Number.isSafeInteger(n) || n < 1) return new Response("GET /echo?target=<name>&user=<id>&n=<round trips>\n", { status: 400 });
    const user = `${name}-${url.searchParams.get("user")}`;
    const stub = env[target.binding].getByName(user);
    // userhub's object takes sockets only as its router hands them over: the identity the router would have verified.
    const response = target.userhub
      ? await stub.fetch(handoffRequest({ userId: user, protocol: null, resume: null, acks: false, identity: { userId: user, expiresAt: null, issuedAt: null, sessionId: null } }))
      : await stub.fetch(new Request("https://floor.internal/ws", { headers: { Upgrade: "websocket" } }));
    const socket = response.webSocket;
    if (!socket) return new Response(`${response.status} from the hub: ${await response.text()}`, { status: 502 });
    socket.accept();
    let delivered = 0;
    let next = null;
    socket.addEventListener("message", (event) => {
      if (isGreeting(event.data)) return;
      delivered++;
      next?.();
    });
    for (let i = 0; i < n; i++) {
      const before = delivered;
      socket.send(target.frame(i));
      while (delivered === before) await new Promise((resolve) => (next = resolve));
    }
    socket.close(1000, "done");
    return new Response(String(delivered));
  },
};
