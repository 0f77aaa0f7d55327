// The two-object floor for messages between users: the least code that
// carries a frame from one user's hibernating Durable Object to another's.
// A text frame `to:<user>\n<text>` from a socket of alice makes one RPC from
// alice's object to bob's (`push`, the floor's own: one SQLite row written,
// then the text sent to every socket of bob). Nothing else: no auth, no
// parsing beyond the prefix, no copy for the sender, no idempotency. Every
// other frame, route and method is the floor's (../floor/worker.js).
import floor, { FloorHub } from "../floor/worker.js";
import { wakes } from "../hub-counters.js";

const PREFIX = "to:";

export class FloorDirectHub extends FloorHub {
  async webSocketMessage(ws, message) {
    if (typeof message !== "string" || !message.startsWith(PREFIX)) return super.webSocketMessage(ws, message);
    wakes.message++;
    const newline = message.indexOf("\n");
    await this.env.FLOOR_HUB.getByName(message.slice(PREFIX.length, newline)).push(message.slice(newline + 1));
  }
}

export default floor;
