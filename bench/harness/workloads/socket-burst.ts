/**
 * A burst within the limits from many sockets of one user: `sockets`
 * sockets of one user stop reading and each writes `framesEach` `signal`
 * frames at once (each within its socket's own burst), every one of which
 * the demo's hub fans out to all of them. Meanwhile another user echoes one
 * frame every `victimPeriodMs`; what counts is its longest wait, the work
 * one user's burst put ahead of it on the runtime's thread.
 */
import WebSocket from "ws";
import { openSocket, toWebSocketUrl } from "../bench-socket.ts";
import { percentile } from "../latency-summary.ts";
import type { Target } from "../targets.ts";
import { sleep } from "./measurement-window.ts";
import { echoLoop } from "./noisy-neighbour.ts";

export interface SocketBurstOptions {
  readonly sockets: number;
  readonly framesEach: number;
  readonly victimPeriodMs: number;
  /** How long the victim keeps echoing after the burst was written. */
  readonly afterMs: number;
  /** A fresh prefix per run gives fresh hubs. */
  readonly userPrefix: string;
}

export interface SocketBurstSample {
  readonly sockets: number;
  readonly framesEach: number;
  /** The victim's round trips before the burst: its own normal. */
  readonly beforeMaxMs: number;
  /** The longest the victim waited for an answer while and after the burst was written (one still missing counts as long as it has waited). */
  readonly duringMaxMs: number;
  readonly duringP99Ms: number;
}

/** How long the victim echoes before the burst, to know its normal. */
const BEFORE_MS = 1_000;

export async function runSocketBurst(url: string, target: Target, options: SocketBurstOptions): Promise<SocketBurstSample> {
  const victim = await openSocket(url, target, `${options.userPrefix}-victim`);
  const burst: WebSocket[] = [];
  try {
    const latencies: number[] = [];
    let stopped = false;
    const loop = echoLoop(victim, target, options.victimPeriodMs, (ms) => {
      latencies.push(ms);
      return !stopped;
    });
    await sleep(BEFORE_MS);
    const before = latencies.splice(0);
    const user = `${options.userPrefix}-burst`;
    for (let i = 0; i < options.sockets; i++) burst.push(await openRaw(url, target, user));
    // Nobody reads the burst's sockets: their deliveries pile up on the server's side, as a hostile client's would.
    for (const ws of burst) (ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const frame = JSON.stringify({ type: "signal", data: 1 });
    for (const ws of burst) for (let i = 0; i < options.framesEach; i++) ws.send(frame);
    await sleep(options.afterMs);
    stopped = true;
    // A round trip still out has waited this long.
    const waiting = loop.waitingMs();
    const during = [...latencies, ...(latencies.length > 0 && waiting > options.victimPeriodMs * 2 ? [waiting] : [])];
    return {
      sockets: options.sockets,
      framesEach: options.framesEach,
      beforeMaxMs: Math.max(...before),
      duringMaxMs: Math.max(...during),
      duringP99Ms: percentile(during, 99),
    };
  } finally {
    for (const ws of burst) ws.terminate();
    await victim.close(5_000);
  }
}

/** A socket of `user` on the raw `ws` client, open and greeted (what it is sent after that, nobody reads). */
async function openRaw(url: string, target: Target, user: string): Promise<WebSocket> {
  const { path, headers } = await target.socketRequest(user);
  const ws = new WebSocket(`${toWebSocketUrl(url)}${path}`, { headers: headers ?? {}, perMessageDeflate: false });
  ws.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once("message", () => resolve());
    ws.once("close", (code) => reject(new Error(`${target.name}: a burst socket of ${user} closed with ${code} before its welcome`)));
  });
  return ws;
}
