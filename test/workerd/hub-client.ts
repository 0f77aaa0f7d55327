import { env, SELF } from "cloudflare:test";
import { issueToken } from "../../src/index.ts";

/** A valid `Sec-WebSocket-Key` (the RFC 6455 sample); the hub never checks its value beyond its shape. */
export const SAMPLE_KEY = "dGhlIHNhbXBsZSBub25jZQ==";

/** The headers of a well-formed upgrade, to which a test adds or removes its own. */
export function upgradeHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return { Upgrade: "websocket", Connection: "Upgrade", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": SAMPLE_KEY, ...extra };
}

/** A token for `userId`, signed with the test Worker's secret. */
export async function tokenFor(userId: string, options: { ttlSeconds?: number; secret?: string } = {}): Promise<string> {
  return await issueToken(userId, { secret: options.secret ?? env.JWT_SECRET!, ttlSeconds: options.ttlSeconds ?? 3600 });
}

/** A client end of a hub socket inside workerd: every frame it got, and a way to wait for the next one. */
export interface HubClient {
  readonly socket: WebSocket;
  readonly response: Response;
  /** Every frame received, in order: JSON parsed, other text as the string, binary as an ArrayBuffer; presence frames aside. */
  readonly frames: unknown[];
  /** The demo app's presence frames (`{"type":"presence","connections":N}`), kept apart so they never interleave with what a test awaits. */
  readonly presence: number[];
  /** The welcome frame. */
  readonly welcome: Record<string, unknown>;
  /** Resolves with the frame at index `index` (waiting up to `timeoutMs`). */
  frame(index: number, timeoutMs?: number): Promise<unknown>;
  /** Resolves with the first frame after those already consumed by earlier `next` calls. */
  next(timeoutMs?: number): Promise<unknown>;
  /** Resolves with the close event the client saw. */
  readonly closed: Promise<{ code: number; reason: string }>;
  sendJson(frame: unknown): void;
}

/** Opens a socket through the demo Worker as `userId` (Authorization header) and waits for the welcome; `query` e.g. `since=3` to resume. */
export async function connect(userId: string, headers: Record<string, string> = {}, query?: string): Promise<HubClient> {
  const url = `https://hub.test/ws${query ? `?${query}` : ""}`;
  const response = await SELF.fetch(url, { headers: upgradeHeaders({ Authorization: `Bearer ${await tokenFor(userId)}`, ...headers }) });
  return await accept(response);
}

/** Accepts the client end of a 101 answer and waits for the welcome frame. */
export async function accept(response: Response): Promise<HubClient> {
  const socket = response.webSocket;
  if (response.status !== 101 || !socket) throw new Error(`expected 101, got ${response.status}: ${await response.text()}`);
  const frames: unknown[] = [];
  const presence: number[] = [];
  const wakers = new Set<() => void>();
  let closeEvent: { code: number; reason: string } | undefined;
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.addEventListener("close", (event) => {
      closeEvent = { code: event.code, reason: event.reason };
      resolve(closeEvent);
      for (const wake of wakers) wake();
    });
  });
  socket.addEventListener("message", (event) => {
    const data = event.data;
    const frame = typeof data === "string" && data.startsWith("{") ? JSON.parse(data) : data;
    if ((frame as { type?: unknown }).type === "presence") presence.push((frame as { connections: number }).connections);
    else frames.push(frame);
    for (const wake of wakers) wake();
  });
  socket.accept();
  const frame = (index: number, timeoutMs = 2000) =>
    new Promise<unknown>((resolve, reject) => {
      const check = () => {
        if (frames.length > index) {
          finish();
          resolve(frames[index]);
        } else if (closeEvent) {
          finish();
          reject(new Error(`socket closed (${closeEvent.code} ${closeEvent.reason}) before frame ${index}; got ${JSON.stringify(frames)}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`no frame ${index} within ${timeoutMs} ms; got ${JSON.stringify(frames)}`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        wakers.delete(check);
      };
      wakers.add(check);
      check();
    });
  let consumed = 1;
  const welcome = (await frame(0)) as Record<string, unknown>;
  if (welcome.type !== "welcome") throw new Error(`first frame is not a welcome: ${JSON.stringify(welcome)}`);
  return {
    socket,
    response,
    frames,
    presence,
    welcome,
    frame,
    next: (timeoutMs) => frame(consumed++, timeoutMs),
    closed,
    sendJson: (value) => socket.send(JSON.stringify(value)),
  };
}

/** The stub of `userId`'s hub. */
export function hubOf(userId: string) {
  return env.USER_HUB.get(env.USER_HUB.idFromName(userId));
}
