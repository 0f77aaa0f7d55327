/**
 * The bench's client sockets. The default is the `ws` package with no
 * compression and TCP_NODELAY on (what `ws` sets): the leanest Node client,
 * as the comparison of ways to drive workerd shows. The other two kinds exist
 * only for that comparison: `ws` with Nagle's algorithm turned back on, and
 * Node's global (undici) WebSocket.
 *
 * A socket is ready once the server's greeting (if any) arrived and one
 * `ping` was answered `pong`: the same handshake against every target. Then
 * each workload installs its own frame handler.
 */
import WebSocket from "ws";
import type { Target } from "./targets.ts";

export type ClientKind = "ws" | "ws-nagle" | "undici";

export interface BenchSocket {
  readonly user: string;
  send(text: string): void;
  /** Called with every text frame; workloads replace it. */
  onText: (text: string) => void;
  /** Sends a close frame and waits for the server's (or cuts the connection after `timeoutMs`). */
  close(timeoutMs: number): Promise<void>;
}

const CONNECT_TIMEOUT_MS = 30_000;

export function toWebSocketUrl(httpUrl: string): string {
  return httpUrl.replace(/^http/, "ws");
}

interface RawSocket {
  send(text: string): void;
  close(timeoutMs: number): Promise<void>;
  terminate(): void;
}

/** Connects and calls `onText` for every text frame; resolves once open. */
function connect(url: string, headers: Record<string, string>, client: ClientKind, onText: (text: string) => void): Promise<RawSocket> {
  if (client === "undici") {
    const ws = new globalThis.WebSocket(url);
    ws.addEventListener("message", (event) => onText(typeof event.data === "string" ? event.data : ""));
    const closed = new Promise<void>((resolve) => ws.addEventListener("close", () => resolve()));
    return new Promise((resolve, reject) => {
      ws.addEventListener("open", () =>
        resolve({
          send: (text) => ws.send(text),
          close: async (timeoutMs) => {
            ws.close(1000, "bench done");
            await Promise.race([closed, new Promise((r) => setTimeout(r, timeoutMs))]);
          },
          terminate: () => ws.close(),
        }),
      );
      ws.addEventListener("error", () => reject(new Error(`connect to ${url} failed`)));
    });
  }
  const ws = new WebSocket(url, { headers, perMessageDeflate: false });
  ws.on("message", (data, isBinary) => onText(isBinary ? "" : data.toString()));
  return new Promise((resolve, reject) => {
    ws.once("open", () => {
      // `ws` turns Nagle off on every socket; the comparison turns it back on to show what it costs.
      if (client === "ws-nagle") (ws as unknown as { _socket: { setNoDelay(on: boolean): void } })._socket.setNoDelay(false);
      ws.on("error", () => {}); // a reset once the bench is done with a socket is not a failure
      resolve({
        send: (text) => ws.send(text),
        close: (timeoutMs) =>
          new Promise<void>((done) => {
            if (ws.readyState === WebSocket.CLOSED) return done();
            const timer = setTimeout(() => (ws.terminate(), done()), timeoutMs);
            ws.once("close", () => (clearTimeout(timer), done()));
            if (ws.readyState === WebSocket.OPEN) ws.close(1000, "bench done");
          }),
        terminate: () => ws.terminate(),
      });
    });
    ws.once("error", reject);
    ws.once("unexpected-response", (_request, response) => reject(new Error(`upgrade answered ${response.statusCode}`)));
  });
}

/** Opens one ready socket of `user` on the server at `baseUrl` (http://…). */
export async function openSocket(baseUrl: string, target: Target, user: string, client: ClientKind = "ws"): Promise<BenchSocket> {
  const { path, headers } = await target.socketRequest(user);
  // Frames that arrive before anyone waits for them (a greeting may come with the 101) queue here.
  const early: string[] = [];
  let waiter: ((text: string) => void) | null = null;
  const socket = { user, onText: (text: string) => (waiter ? waiter(text) : void early.push(text)) } as BenchSocket;
  const nextText = (accept: (text: string) => boolean) =>
    new Promise<void>((resolve, reject) => {
      const queued = early.findIndex(accept);
      early.length = 0;
      if (queued >= 0) return resolve();
      const timer = setTimeout(() => reject(new Error(`${target.name}: no answer on a new socket of ${user}`)), CONNECT_TIMEOUT_MS);
      waiter = (text) => {
        if (!accept(text)) return;
        clearTimeout(timer);
        waiter = null;
        resolve();
      };
    });
  let raw: RawSocket | undefined;
  try {
    raw = await withTimeout(connect(`${toWebSocketUrl(baseUrl)}${path}`, headers ?? {}, client, (text) => socket.onText(text)), `${target.name}: connect of ${user}`);
    if (target.greets) await nextText(() => true);
    const pong = nextText((text) => text === "pong");
    raw.send("ping");
    await pong;
  } catch (error) {
    raw?.terminate();
    throw new Error(`${target.name}: socket of ${user}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const opened = raw;
  socket.onText = () => {};
  socket.send = (text) => opened.send(text);
  socket.close = (timeoutMs) => opened.close(timeoutMs);
  return socket;
}

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} timed out`)), CONNECT_TIMEOUT_MS);
    promise.then(
      (value) => (clearTimeout(timer), resolve(value)),
      (error) => (clearTimeout(timer), reject(error)),
    );
  });
}

/** Opens one ready socket per entry of `users` (a user may repeat), `concurrency` at a time. */
export async function openSockets(
  baseUrl: string,
  target: Target,
  users: readonly string[],
  options: { concurrency?: number; client?: ClientKind } = {},
): Promise<BenchSocket[]> {
  const sockets: BenchSocket[] = [];
  let next = 0;
  let failure: unknown = null;
  const opener = async () => {
    while (failure === null && next < users.length) {
      const index = next++;
      try {
        sockets[index] = await openSocket(baseUrl, target, users[index]!, options.client);
      } catch (error) {
        failure ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 32, users.length) }, opener));
  if (failure !== null) {
    await closeSockets(sockets.filter(Boolean));
    throw failure;
  }
  return sockets;
}

export async function closeSockets(sockets: readonly BenchSocket[], timeoutMs = 5_000): Promise<void> {
  await Promise.all(sockets.map((socket) => socket.close(timeoutMs)));
}
