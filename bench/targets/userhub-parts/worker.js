// userhub taken apart, for attribution only (`node bench/hot-path.ts`, never
// the full run): the bench's userhub Worker and Durable Object unchanged, but
// each frame handled by a part of userhub's work and the floor's loop for the
// rest, as PART says. Ratios between these tell where userhub's time per
// message goes beyond the floor's (bench/results/attribution.md).
//
//   floor-loop  userhub's Worker and object; the frame parsed and a signal frame built, sent to every socket as the floor sends
//   admission   the same, after userhub's admission of the frame (size, rates)
//   insert      userhub's object; the floor's loop, writing userhub's 8-column row with a plain INSERT
//   rekey       the same row into a ring keyed by seq (a full ring's UPDATE gives the oldest row the new seq: the earlier layout)
//   slot        the same row into a ring keyed by slot (seq % size: the UPDATE rewrites the slot's row in place, as the log does now)
//   wake        as insert, but an instance first builds userhub's hub (its host, log, stores: no SQL), as a woken hub does
//   wake-log    as wake, but the delivery written by userhub's log itself, as the hub's log writes it (from the seq
//               the socket's attachment remembers, kept there as the hub keeps it), the hub's fan-out left out
//   wake-deliver  userhub's object handing each frame's data to its hub's deliver (log and fan-out), the frame
//               path (admission, the sweep, the parse, the application's handler) left out
import demo, { UserHub as CountingUserHub } from "../userhub/worker.js";
import { retentionOf } from "../../../src/host.ts";
import { LOG_SEQ_EVERY } from "../../../src/hub/delivery-fan-out.ts";
import { SqliteDeliveryLog } from "../../../durable-objects/sqlite-delivery-log.ts";
import { CONNECTION_ID, messageText, RING_SLOTS, ROW_COLUMNS, signalText, userhubRow, writeSlotRow } from "../userhub-row.js";

export class UserHub extends CountingUserHub {
  #made = false;
  #seq = 0;
  #first = 1;
  /** `wake-log`'s log, and its deliveries on this instance (the hub's fan-out remembers the seq on the first and every LOG_SEQ_EVERY-th). */
  #log = null;
  #logged = 0;

  webSocketMessage(ws, message) {
    const part = this.env.PART;
    if (part === "floor-loop" || part === "admission") {
      if (part === "admission" && !this.hub.admitFrame(ws, message)) return;
      const frame = JSON.parse(message);
      const text = signalText(JSON.stringify(frame.data));
      for (const socket of this.ctx.getWebSockets()) socket.send(text);
      return;
    }
    if (part === "wake-deliver") return this.hub.deliver(JSON.parse(message).data, { from: CONNECTION_ID }).then(nothing);
    if (part === "wake-log") {
      void this.hub;
      if (!this.#log) {
        this.#log = new SqliteDeliveryLog(this.ctx.storage.sql, retentionOf(this.config));
        const remembered = ws.deserializeAttachment()?.logSeq;
        if (remembered) this.#log.hint(remembered);
      }
      const json = JSON.stringify(JSON.parse(message).data ?? null);
      const at = Date.now();
      const seq = this.#log.append([{ data: null, json, from: CONNECTION_ID }], at).deliveries[0].seq;
      if (this.#logged++ % LOG_SEQ_EVERY === 0) ws.serializeAttachment({ ...ws.deserializeAttachment(), logSeq: seq });
      this.#log.prune(at);
      const text = messageText(seq, json, at);
      for (const socket of this.ctx.getWebSockets()) socket.send(text);
      return;
    }
    if (part === "insert" || part === "rekey" || part === "slot" || part === "wake") {
      const sql = this.ctx.storage.sql;
      if (!this.#made) {
        this.#made = true;
        // Rows keyed by seq alone: a woken instance numbers on from a fresh base, as its rows share the table with an earlier
        // instance's (the rings count from 0, their fill and rotation being what they measure).
        if (part === "insert" || part === "wake") this.#seq = Date.now() * 1000;
        if (part === "wake") void this.hub;
        const key = part === "slot" ? "slot INTEGER PRIMARY KEY, seq INTEGER NOT NULL" : "seq INTEGER PRIMARY KEY";
        sql.exec(`CREATE TABLE IF NOT EXISTS parts_log (${key}, ${ROW_COLUMNS})`);
      }
      const json = JSON.stringify(JSON.parse(message).data ?? null);
      const at = Date.now();
      const seq = ++this.#seq;
      const row = userhubRow(seq, at, json);
      if (part === "insert" || part === "wake") {
        sql.exec("INSERT INTO parts_log (seq, at, sender, data, bytes, base, from_user, to_user) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", ...row);
      } else if (part === "rekey") {
        let written = 0;
        if (seq - this.#first >= RING_SLOTS) {
          written = sql.exec("UPDATE parts_log SET seq = ?, at = ?, sender = ?, data = ?, bytes = ?, base = ?, from_user = ?, to_user = ? WHERE seq = ?", ...row, this.#first).rowsWritten;
          if (written > 0) this.#first++;
        }
        if (written === 0) sql.exec("INSERT INTO parts_log (seq, at, sender, data, bytes, base, from_user, to_user) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", ...row);
      } else {
        writeSlotRow(sql, "parts_log", row, RING_SLOTS);
      }
      const text = messageText(seq, json, at);
      for (const socket of this.ctx.getWebSockets()) socket.send(text);
      return;
    }
    return super.webSocketMessage(ws, message);
  }
}

function nothing() {}

export default demo;
