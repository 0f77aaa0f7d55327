/**
 * The demo's application, run by the demo Worker's Durable Object
 * (worker/index.ts) and by the Deno demo (worker/deno-demo.ts). It is also an
 * example of a `HubApp`: the library itself runs none by default.
 *
 * @module
 */
import { FrameError, type HubApp, type HubContext } from "../src/index.ts";
import { directFrame } from "./demo-direct.ts";
import { noteFrame, stateFrame } from "./demo-frames.ts";

/** What the demo app tells a user's sockets when one of them joins or leaves: how many are open now. */
export interface PresenceFrame {
  readonly type: "presence";
  readonly connections: number;
}

/**
 * The demo's application: a `{"type":"send","data":X}` frame is
 * delivered to every open socket of the same user, the sender's included;
 * a `{"type":"signal","data":X}` frame goes to the same sockets as
 * `{"type":"signal","data":X,"from":<connection id>}`, unlogged;
 * `note` and `state` frames show typed frames and connection state (see demo-frames.ts);
 * a `{"type":"direct","to":"bob","data":X,"id"?:…}` frame goes to every socket
 * of bob, with a copy to every socket of the sender (see demo-direct.ts);
 * when a socket joins or leaves, the user's other sockets get a
 * `{"type":"presence","connections":N}` frame (the page's device count).
 */
export const fanOutApp: HubApp = {
  frames: {
    // Not async functions: each hands back the hub's own promise, with no layer of its own around every frame.
    send(frame, connection, hub) {
      if (!("data" in frame) || frame.data === undefined) throw new FrameError('a "send" frame needs a "data" field');
      return hub.deliver(frame.data, { from: connection.id });
    },
    signal(frame, connection, hub) {
      if (!("data" in frame) || frame.data === undefined) throw new FrameError('a "signal" frame needs a "data" field');
      return hub.signal(frame.data, { from: connection.id });
    },
    direct: directFrame,
    note: noteFrame,
    state: stateFrame,
  },
  // The newcomer's welcome already carries the count, so only the others are told.
  onConnect: (connection, hub) => announcePresence(hub, connection.id),
  onClose: (connection, _event, hub) => announcePresence(hub, connection.id),
};

async function announcePresence(hub: HubContext, except: string): Promise<void> {
  const connections = hub.connections();
  const frame: PresenceFrame = { type: "presence", connections: connections.length };
  await Promise.all(connections.filter((c) => c.id !== except).map((c) => c.send(frame)));
}
