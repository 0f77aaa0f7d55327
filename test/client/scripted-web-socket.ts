/**
 * An in-process WebSocket the test scripts from the server's side: it opens,
 * delivers frames and closes only when told. Acceptable only at this unit
 * level, where the question is the client's state machine; the real
 * WebSocket of Node 22 against a real hub belongs to the e2e suite.
 */
import type { WelcomeFrame } from "../../src/protocol/frames.ts";

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

export class ScriptedWebSocket extends EventTarget {
  /** Every socket the client created, oldest first. */
  static instances: ScriptedWebSocket[] = [];

  static reset(): void {
    ScriptedWebSocket.instances = [];
  }

  /** The newest socket; fails the test when there is none. */
  static latest(): ScriptedWebSocket {
    const socket = ScriptedWebSocket.instances.at(-1);
    if (socket === undefined) throw new Error("the client has not created a WebSocket");
    return socket;
  }

  readonly url: string;
  readonly protocols: string[];
  readyState = CONNECTING;
  /** Text frames the client sent, in order. */
  readonly sent: string[] = [];
  /** What the client passed to close(), if it did. */
  closedWith: { code: number | undefined; reason: string | undefined } | null = null;

  constructor(url: string, protocols: string[]) {
    super();
    this.url = url;
    this.protocols = protocols;
    ScriptedWebSocket.instances.push(this);
  }

  send(data: string): void {
    // As the standard says: a send before open throws; after close it is silently discarded.
    if (this.readyState === CONNECTING) throw new DOMException("still connecting", "InvalidStateError");
    if (this.readyState !== OPEN) return;
    this.sent.push(data);
  }

  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
    // The closing handshake never completes unless the test plays the server's part (serverClose).
    if (this.readyState === CONNECTING || this.readyState === OPEN) this.readyState = CLOSING;
  }

  // ---- the server's side ----

  open(): void {
    this.readyState = OPEN;
    this.dispatchEvent(new Event("open"));
  }

  receive(frame: object | string): void {
    const data = typeof frame === "string" ? frame : JSON.stringify(frame);
    this.dispatchEvent(Object.assign(new Event("message"), { data }));
  }

  /** Opens and sends a welcome (defaults: seq 0, epoch "e1", heartbeat 30 s / 75 s, frames up to 64 KiB, no expiry). */
  welcome(overrides: Partial<WelcomeFrame> = {}): WelcomeFrame {
    if (this.readyState === CONNECTING) this.open();
    const frame: WelcomeFrame = {
      type: "welcome",
      connectionId: `conn-${ScriptedWebSocket.instances.indexOf(this) + 1}`,
      userId: "alice",
      connections: 1,
      seq: 0,
      epoch: "e1",
      expiresAt: null,
      heartbeat: { intervalMs: 30_000, timeoutMs: 75_000 },
      maxMessageBytes: 65_536,
      ...overrides,
    };
    this.receive(frame);
    return frame;
  }

  /** The connection ends with `code` (1006: it dropped, or the upgrade was refused). */
  serverClose(code: number, reason = ""): void {
    this.readyState = CLOSED;
    this.dispatchEvent(Object.assign(new Event("close"), { code, reason, wasClean: code !== 1006 }));
  }

  /** The connection failed; `thenClose: false` plays Node 22's WebSocket, which never fires the close that should follow. */
  fail({ thenClose = true } = {}): void {
    this.dispatchEvent(new Event("error"));
    if (thenClose) this.serverClose(1006);
  }

  /** Frames the client sent, parsed, heartbeats left out. */
  sentFrames(): unknown[] {
    return this.sent.filter((text) => text !== "ping").map((text) => JSON.parse(text) as unknown);
  }
}
