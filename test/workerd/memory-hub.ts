// A Hub over a host that keeps everything in memory, with one socket open on a
// real workerd WebSocketPair: for tests of what an application sees.
import { expect } from "vitest";
import {
  type ConnectionAttachment,
  type DeliveryLog,
  Hub,
  type HubHost,
  MemoryDeliveryLog,
  MemoryRevocationWatermarks,
  MemoryTicketStore,
  retentionOf,
} from "../../src/host.ts";
import { DEFAULT_CONFIG, type HubApp } from "../../src/index.ts";

/** A host that keeps everything in memory, as a runtime without hibernation would; every test of the Hub over memory uses it. */
export class MemoryHost implements HubHost<WebSocket> {
  readonly sockets = new Set<WebSocket>();
  readonly attachments = new Map<WebSocket, ConnectionAttachment>();
  /** Every wake-up the hub asked for, in order (null: none). */
  readonly wakes: (number | null)[] = [];
  attachmentWrites = 0;
  log: DeliveryLog = new MemoryDeliveryLog(retentionOf(DEFAULT_CONFIG));
  readonly tickets = new MemoryTicketStore();
  readonly revocation = new MemoryRevocationWatermarks().forUser("alice");
  /** The host's clock in epoch ms; null follows the real one. A test that moves time sets it. */
  clock: number | null = null;
  now = () => this.clock ?? Date.now();
  openSockets = () => [...this.sockets].filter((ws) => ws.readyState === WebSocket.OPEN);
  readAttachment = (ws: WebSocket) => this.attachments.get(ws) ?? null;
  // A copy, as a serialized attachment would be.
  writeAttachment = (ws: WebSocket, attachment: ConnectionAttachment) => {
    this.attachmentWrites++;
    this.attachments.set(ws, structuredClone(attachment));
  };
  lastAutoResponseAt = () => null;
  scheduleWake = (at: number | null) => void this.wakes.push(at);
  scheduledWake = () => this.wakes.at(-1) ?? null;
}

/** A hub running `app` with one socket open; `send` a frame and `next()` the next frame it answers. */
export async function hubWith(app: HubApp) {
  const host = new MemoryHost();
  const hub = new Hub(host, app, DEFAULT_CONFIG);
  const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
  const frames: Record<string, unknown>[] = [];
  const waiting: (() => void)[] = [];
  client.addEventListener("message", (e) => {
    frames.push(JSON.parse(e.data as string));
    waiting.splice(0).forEach((wake) => wake());
  });
  client.accept();
  server.accept();
  server.addEventListener("message", (e) => void hub.message(server, e.data as string));
  host.sockets.add(server);
  host.writeAttachment(server, hub.attachmentFor({ userId: "alice", expiresAt: null }));
  await hub.open(server);
  let consumed = 0;
  const next = async (): Promise<Record<string, unknown>> => {
    while (frames.length <= consumed) await new Promise<void>((resolve) => waiting.push(resolve));
    return frames[consumed++]!;
  };
  expect((await next()).type).toBe("welcome");
  return { host, server, client, next, send: (frame: unknown) => client.send(JSON.stringify(frame)) };
}

