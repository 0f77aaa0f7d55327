import type { ConnectionAttachment, DeliveryLog, HubHost, PeerHubs, RevocationWatermark, TicketStore } from "../src/host.ts";

/**
 * The hub's {@link HubHost} over `DurableObjectState`: the Hibernation API's
 * socket list and attachments, the runtime's heartbeat auto-response
 * timestamps, the object's single alarm, its SQLite log, tickets and
 * revocation watermark, and the other users' hubs (its own namespace, over
 * RPC). It is a separate
 * object, not methods of `UserHub`, so none of it is reachable over RPC.
 */
/** `WebSocket.OPEN`, read once rather than from the global on every socket. */
const OPEN = 1;

export class DurableObjectHost implements HubHost<WebSocket> {
  readonly #ctx: DurableObjectState;
  readonly log: DeliveryLog;
  readonly tickets: TicketStore;
  readonly revocation: RevocationWatermark;
  readonly users?: PeerHubs;

  constructor(ctx: DurableObjectState, log: DeliveryLog, tickets: TicketStore, revocation: RevocationWatermark, users?: PeerHubs) {
    this.#ctx = ctx;
    this.log = log;
    this.tickets = tickets;
    this.revocation = revocation;
    if (users) this.users = users;
  }

  now(): number {
    return Date.now();
  }

  openSockets(): WebSocket[] {
    // getWebSockets() also returns sockets that are closing; those are not this user's connections any more.
    const sockets = this.#ctx.getWebSockets();
    // Most of the time every one is open: then the runtime's array is the answer, with no second one built.
    for (let i = 0; i < sockets.length; i++) {
      if (sockets[i]!.readyState !== OPEN) return sockets.filter((ws) => ws.readyState === OPEN);
    }
    return sockets;
  }

  readAttachment(socket: WebSocket): ConnectionAttachment | null {
    return (socket.deserializeAttachment() as ConnectionAttachment | null) ?? null;
  }

  writeAttachment(socket: WebSocket, attachment: ConnectionAttachment): void {
    socket.serializeAttachment(attachment);
  }

  lastAutoResponseAt(socket: WebSocket): number | null {
    return this.#ctx.getWebSocketAutoResponseTimestamp(socket)?.getTime() ?? null;
  }

  async scheduledWake(): Promise<number | null> {
    return await this.#ctx.storage.getAlarm();
  }

  async scheduleWake(at: number | null): Promise<void> {
    const current = await this.#ctx.storage.getAlarm();
    if (current === at) return;
    if (at === null) await this.#ctx.storage.deleteAlarm();
    else await this.#ctx.storage.setAlarm(at);
  }
}
