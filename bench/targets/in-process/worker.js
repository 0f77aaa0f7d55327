// The in-process echo (`node bench/in-process.ts`): userhub and the floor in
// one workerd process and one isolate, each frame crossing a WebSocketPair
// between this Worker (the client) and a Durable Object (the hub), so that a
// difference of a microsecond per frame is not lost in what the network
// echo's separate processes and loopback sockets add (bench/results/
// attribution.md). The client's loop is the same code for every target; what
// differs per round trip is the hub's.
//
//   GET /echo?target=<name>&user=<id>&n=<round trips>[&hubs=<k>][&warm=<round trips>][&marks=<url>]
//   answers what the n round trips saw (see the handler below)
//
// `floor`, `floor-json` and `floor-log` are the network bench's floor
// (bench/targets/floor/worker.js) with its switches set per class;
// `userhub-signal` and `userhub` are the demo's UserHub unchanged, sent the
// demo's `signal` and `send` frames; `userhub-floor-loop` and
// `userhub-admission` take its `signal` apart as the network bench's parts of
// the same names do (bench/targets/userhub-parts), and `userhub-route` runs
// the hub's whole frame path with a handler that answers as the floor does. The `row-*` targets take userhub's
// durable echo apart: the floor's loop (each frame parsed, a message frame
// built) writing a row four ways. `base-signal` and `base-send` are another
// revision's demo UserHub, which `node bench/in-process.ts --base <rev>`
// bundles beside this one: a change measured against the code before it in
// the same process and rounds.
import { FloorHub } from "../floor/worker.js";
import { UserHub } from "../../../worker/index.ts";
import { UserHub as UserHubParts } from "../userhub-parts/worker.js";
import { handoffRequest } from "../../../durable-objects/handoff.ts";
import { SqliteDeliveryLog } from "../../../durable-objects/sqlite-delivery-log.ts";
import { retentionOf } from "../../../src/host.ts";
import { DEFAULT_CONFIG } from "../../../src/index.ts";
import { CONNECTION_ID, messageText, ROW_COLUMNS, signalText, userhubRow, writeSlotRow } from "../userhub-row.js";

export { FloorHub, UserHub };

/** `Base` with `vars` added to the env its objects see: each class its own switches, in one Worker. */
function withVars(Base, vars) {
  return class extends Base {
    constructor(ctx, env) {
      super(ctx, { ...env, ...vars });
    }
  };
}

/** The floor, each frame parsed and a signal frame built around its data (the protocol's least work). */
export const FloorJsonHub = withVars(FloorHub, { PARSE_FRAMES: "on" });
/** The floor, each frame also written as one SQLite row before it is sent. */
export const FloorLogHub = withVars(FloorHub, { LOG_EVERY_MESSAGE: "on" });
/** userhub's Worker and object with the floor + JSON's loop for each frame (the network bench's `userhub-floor-loop`). */
export const UserHubFloorLoop = withVars(UserHubParts, { PART: "floor-loop" });
/** The same, after userhub's admission of the frame: its size and rate checks (`userhub-admission`). */
export const UserHubAdmission = withVars(UserHubParts, { PART: "admission" });

/** The object whose frame the route app's handler is answering (set for the handler's synchronous run). */
let answering = null;

/** A `signal` handler that answers as the floor + JSON does, straight to the runtime's sockets: no hub.signal. */
const floorAnswerApp = {
  frames: {
    signal(frame) {
      // Set for the handler's synchronous run; a handler run later (after a sweep) would find none, and fail loudly.
      if (answering === null) throw new Error("userhub-route: the handler ran outside its object's webSocketMessage");
      const text = signalText(JSON.stringify(frame.data));
      for (const socket of answering.ctx.getWebSockets()) socket.send(text);
    },
  },
};

/** userhub's whole frame path (admission, the heartbeat's record, routing, the parse, the app's dispatch), its handler the floor's answer. */
export class UserHubRoute extends UserHub.with(floorAnswerApp) {
  webSocketMessage(ws, message) {
    answering = this;
    try {
      return super.webSocketMessage(ws, message);
    } finally {
      answering = null;
    }
  }
}

/** The ring's size in the `row-*` targets: userhub's default LOG_RETENTION. */
const RING = DEFAULT_CONFIG.logRetention;

/**
 * The floor's loop writing a row per frame, as the object's name says
 * (`row-slot-…`, `row-frame-…`, `row-bound-…`, `row-log-…`):
 * - `slot`: userhub's 8-column row into a ring keyed by slot, by the log's own two statements (an UPDATE of the
 *   slot, or an INSERT while the ring fills);
 * - `frame`: the same ring with 4 columns (seq, at, base, and the message frame's text) in place of 8;
 * - `bound`: as `slot`, but with all eight of the row's values bound, the two origin columns' nulls too (the log until 2026-11-30);
 * - `log`: userhub's SqliteDeliveryLog itself (append, then prune), the hub left out.
 */
export class FloorRowHub extends FloorHub {
  #seq = 0;
  #made = false;
  #log;
  /** Read from the object's name once: a runtime call per frame would be measured as part of the row. */
  #kind;

  webSocketMessage(_ws, message) {
    const kind = (this.#kind ??= this.ctx.id.name.split("-")[1]);
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
        const columns = kind === "frame" ? "at INTEGER NOT NULL, base INTEGER NOT NULL, frame TEXT NOT NULL" : ROW_COLUMNS;
        sql.exec(`CREATE TABLE IF NOT EXISTS parts_ring (slot INTEGER PRIMARY KEY, seq INTEGER NOT NULL, ${columns})`);
      }
      seq = ++this.#seq;
      text = messageText(seq, json, at);
      const slot = seq % RING;
      if (kind === "frame") {
        const written = seq > RING ? sql.exec("UPDATE parts_ring SET seq = ?, at = ?, base = ?, frame = ? WHERE slot = ?", seq, at, seq * 16, text, slot).rowsWritten : 0;
        if (written === 0) sql.exec("INSERT INTO parts_ring (seq, at, base, frame, slot) VALUES (?, ?, ?, ?, ?)", seq, at, seq * 16, text, slot);
      } else {
        writeSlotRow(sql, "parts_ring", userhubRow(seq, at, json), RING, kind === "bound");
      }
    }
    for (const socket of this.ctx.getWebSockets()) socket.send(text);
  }
}

const send = (n) => `{"type":"send","data":${n}}`;
const signal = (n) => `{"type":"signal","data":${n}}`;
/** How each kind of delivery begins: the floor's echo of the frame as sent, a signal frame, userhub's message frame. */
const ECHO = '{"type":"send"';
const SIGNAL = '{"type":"signal"';
const MESSAGE = '{"type":"message"';

/** Each target: the binding of its object, the frame its client sends, how its delivery begins (the object's name carries a `row-*` target's kind). */
const TARGETS = {
  floor: { binding: "FLOOR_HUB", frame: send, delivery: ECHO },
  "floor-json": { binding: "FLOOR_JSON_HUB", frame: signal, delivery: SIGNAL },
  "floor-log": { binding: "FLOOR_LOG_HUB", frame: send, delivery: ECHO },
  "userhub-signal": { binding: "USER_HUB", frame: signal, delivery: SIGNAL, userhub: true },
  userhub: { binding: "USER_HUB", frame: send, delivery: MESSAGE, userhub: true },
  // Another revision's demo UserHub, bundled beside this one by `node bench/in-process.ts --base <rev>`.
  "base-signal": { binding: "USER_HUB_BASE", frame: signal, delivery: SIGNAL, userhub: true },
  "base-send": { binding: "USER_HUB_BASE", frame: send, delivery: MESSAGE, userhub: true },
  "userhub-floor-loop": { binding: "USER_HUB_FLOOR_LOOP", frame: signal, delivery: SIGNAL, userhub: true },
  "userhub-admission": { binding: "USER_HUB_ADMISSION", frame: signal, delivery: SIGNAL, userhub: true },
  "userhub-route": { binding: "USER_HUB_ROUTE", frame: signal, delivery: SIGNAL, userhub: true },
  "row-slot": { binding: "FLOOR_ROW_HUB", frame: send, delivery: MESSAGE },
  "row-frame": { binding: "FLOOR_ROW_HUB", frame: send, delivery: MESSAGE },
  "row-bound": { binding: "FLOOR_ROW_HUB", frame: send, delivery: MESSAGE },
  "row-log": { binding: "FLOOR_ROW_HUB", frame: send, delivery: MESSAGE },
};

/** What userhub sends a socket that is not a delivery of the echo: its greeting and the demo's presence counts. */
const isGreeting = (text) => text.startsWith('{"type":"welcome"') || text.startsWith('{"type":"presence"');

export default {
  /**
   * `GET /echo?target=<name>&user=<id>&n=<round trips>[&hubs=<k>][&warm=<round trips>][&marks=<url>]`: opens one
   * socket to each of `hubs` hubs (default 1), runs `warm` round trips, GETs `<marks>/measure`, runs `n` more, GETs
   * `<marks>/done`, closes its sockets and answers `<d> deliveries from <h> hubs`: what the `n` round trips saw. The caller serves the marks
   * and reads the process's CPU at each: the `n` round trips alone, no connecting, warming or closing in it.
   */
  async fetch(request, env) {
    const url = new URL(request.url);
    const name = url.searchParams.get("target");
    const target = Object.hasOwn(TARGETS, name) ? TARGETS[name] : undefined;
    const count = (key, fallback) => (url.searchParams.has(key) ? Number(url.searchParams.get(key)) : fallback);
    const n = count("n", NaN);
    const hubs = count("hubs", 1);
    const warm = count("warm", 0);
    if (!target || ![n, hubs, warm].every(Number.isSafeInteger) || n < 1 || hubs < 1 || hubs > 1000 || warm < 0) {
      return new Response("GET /echo?target=<name>&user=<id>&n=<round trips>[&hubs=1..1000][&warm=<round trips>][&marks=<url>]\n", { status: 400 });
    }
    if (!env[target.binding]) return new Response(`${name} needs its hub bundled beside this one (--base <rev>)\n`, { status: 400 });
    const marks = url.searchParams.get("marks");
    const user = `${name}-${url.searchParams.get("user")}`;
    let delivered = 0;
    let unexpected = null;
    let next = null;
    /** The hubs whose socket saw a delivery of the measured round trips. */
    const reached = new Set();
    let measuring = false;
    const onMessage = (h) => (event) => {
      if (isGreeting(event.data)) return;
      // Anything but the echo's delivery (an error frame, say) ends the run: the count answered then names it.
      if (event.data.startsWith(target.delivery)) {
        delivered++;
        if (measuring) reached.add(h);
      } else unexpected ??= event.data;
      next?.();
    };
    // A hub that closes its socket ends the run too, rather than leaving its round trip waiting for ever.
    const onClose = (h) => (event) => {
      unexpected ??= `hub ${h} closed its socket (${event.code} ${event.reason})`;
      next?.();
    };
    // With hubs > 1, one socket to each of that many hubs, the round trips taken in turn: each frame meets a hub
    // the frames before it did not touch, as each connection of the network echo (its own user) does.
    const sockets = [];
    const roundTrips = async (from, to) => {
      for (let i = from; i < to && unexpected === null; i++) {
        const before = delivered;
        sockets[i % hubs].send(target.frame(i));
        while (delivered === before && unexpected === null) await new Promise((resolve) => (next = resolve));
      }
    };
    // The caller reads the process's CPU when asked at these two marks: the `n` round trips alone between them.
    const mark = async (what) => void (await (await fetch(`${marks}/${what}`)).arrayBuffer());
    try {
      for (let h = 0; h < hubs; h++) {
        const hubUser = hubs === 1 ? user : `${user}-h${h}`;
        const stub = env[target.binding].getByName(hubUser);
        // userhub's object takes sockets only as its router hands them over: the identity the router would have verified.
        const response = target.userhub
          ? await stub.fetch(handoffRequest({ userId: hubUser, protocol: null, resume: null, acks: false, identity: { userId: hubUser, expiresAt: null, issuedAt: null, sessionId: null } }))
          : await stub.fetch(new Request("https://floor.internal/ws", { headers: { Upgrade: "websocket" } }));
        const socket = response.webSocket;
        if (!socket) return new Response(`${response.status} from the hub: ${await response.text()}`, { status: 502 });
        socket.accept();
        socket.addEventListener("message", onMessage(h));
        socket.addEventListener("close", onClose(h));
        sockets.push(socket);
      }
      await roundTrips(0, warm);
      if (marks) await mark("measure");
      measuring = true;
      const before = delivered;
      await roundTrips(warm, warm + n);
      if (marks) await mark("done");
      if (unexpected !== null) return new Response(`after ${delivered} deliveries: ${unexpected}`, { status: 500 });
      return new Response(`${delivered - before} deliveries from ${reached.size} hubs`);
    } finally {
      // Every socket opened, on every way out (a hub that refused one, a failed mark, the end).
      for (const socket of sockets) socket.close(1000, "done");
    }
  },
};
