/**
 * Noisy neighbour: one user's echo latency, first alone, then beside another
 * user whose socket floods the server with `send` frames as fast as the
 * client can write them (and reconnects whenever it is closed, as an
 * attacker would). The goal: the quiet user's p99 under the flood within 2×
 * its quiet p99. The flooder's side is reported too: frames written,
 * `rate_limited` notices, closes with 1008, upgrades refused with 429.
 */
import WebSocket from "ws";
import { type BenchSocket, openSocket, toWebSocketUrl } from "../bench-socket.ts";
import { percentile } from "../latency-summary.ts";
import { clientFrame, type Target } from "../targets.ts";
import { sleep } from "./measurement-window.ts";

export interface NoisyNeighbourOptions {
  /** How long each phase (quiet, then noisy) measures the quiet user's echo. */
  readonly durationMs: number;
  /** How long the flood runs before the noisy phase starts measuring. */
  readonly floodWarmupMs: number;
  /** The quiet user sends one frame per this period at most (waiting for each answer first): an honest client stays under the frame rate. */
  readonly victimPeriodMs: number;
  /** A fresh prefix per run gives fresh hubs. */
  readonly userPrefix: string;
}

export interface EchoLatency {
  readonly roundTrips: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface FloodReport {
  readonly framesWritten: number;
  readonly framesPerSecond: number;
  readonly rateLimitedNotices: number;
  /** Other answers the flooder got (deliveries of the frames that were let through, presence…). */
  readonly otherFrames: number;
  readonly closes: Readonly<Record<string, number>>;
  readonly upgradesRefused: number;
}

export interface NoisyNeighbourSample {
  readonly quiet: EchoLatency;
  readonly noisy: EchoLatency;
  /** noisy p99 / quiet p99: the goal is ≤ 2. */
  readonly p99Ratio: number;
  readonly flood: FloodReport;
}

/** How much the flooder lets wait in its own socket before writing more: it floods, but does not buffer without bound. */
const FLOOD_BUFFER_BYTES = 256 * 1024;
const FLOOD_BATCH = 64;

export async function runNoisyNeighbour(url: string, target: Target, options: NoisyNeighbourOptions): Promise<NoisyNeighbourSample> {
  const victim = await openSocket(url, target, `${options.userPrefix}-quiet`);
  try {
    const quiet = await echoFor(victim, target, options.durationMs, options.victimPeriodMs);
    const flood = startFlood(url, target, `${options.userPrefix}-noisy`);
    await sleep(options.floodWarmupMs);
    const noisy = await echoFor(victim, target, options.durationMs, options.victimPeriodMs);
    const report = await flood.stop();
    return { quiet, noisy, p99Ratio: noisy.p99Ms / quiet.p99Ms, flood: report };
  } finally {
    await victim.close(5_000);
  }
}

/** How long past its window the victim waits for a last answer; one still missing counts as this late. */
const STARVED_AFTER_MS = 10_000;

/**
 * The quiet user's loop: send, wait for the delivery, send again once
 * `periodMs` has passed since the last send, until `roundTrip` (told each
 * round trip's milliseconds) answers false. `waitingMs` is how long the
 * round trip still out has waited.
 */
export function echoLoop(socket: BenchSocket, target: Target, periodMs: number, roundTrip: (ms: number) => boolean): { waitingMs(): number } {
  let counter = 0;
  let sentAt = 0;
  const send = () => {
    sentAt = performance.now();
    socket.send(clientFrame(++counter));
  };
  socket.onText = (text) => {
    if (!target.isDelivery(text)) return;
    const now = performance.now();
    if (!roundTrip(now - sentAt)) {
      socket.onText = () => {};
      return;
    }
    setTimeout(send, Math.max(0, sentAt + periodMs - now));
  };
  send();
  return { waitingMs: () => performance.now() - sentAt };
}

/** The victim's echo for `durationMs` (see {@link echoLoop}). */
function echoFor(socket: BenchSocket, target: Target, durationMs: number, periodMs: number): Promise<EchoLatency> {
  const latencies: number[] = [];
  return new Promise((resolve) => {
    const endAt = performance.now() + durationMs;
    const finish = () => {
      clearTimeout(starved);
      socket.onText = () => {};
      resolve({ roundTrips: latencies.length, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) });
    };
    const loop = echoLoop(socket, target, periodMs, (ms) => {
      latencies.push(ms);
      if (performance.now() < endAt) return true;
      finish();
      return false;
    });
    // A server the flood starved answers nothing: the round trip still out is counted as long as it has waited.
    const starved = setTimeout(() => {
      latencies.push(loop.waitingMs());
      finish();
    }, durationMs + STARVED_AFTER_MS);
  });
}

/** Floods from one user's socket until stopped, reconnecting whenever the server closes it. */
function startFlood(url: string, target: Target, user: string): { stop(): Promise<FloodReport> } {
  const startedAt = performance.now();
  let stopping = false;
  let framesWritten = 0;
  let rateLimitedNotices = 0;
  let otherFrames = 0;
  let upgradesRefused = 0;
  const closes: Record<string, number> = {};
  let current: WebSocket | undefined;
  const frame = clientFrame(0);
  const connectOnce = async (): Promise<void> => {
    const { path, headers } = await target.socketRequest(user);
    const ws = new WebSocket(`${toWebSocketUrl(url)}${path}`, { headers: headers ?? {}, perMessageDeflate: false });
    current = ws;
    await new Promise<void>((done) => {
      ws.on("message", (data) => {
        const text = data.toString();
        if (text.includes('"code":"rate_limited"')) rateLimitedNotices++;
        else otherFrames++;
      });
      ws.on("error", () => {});
      ws.once("unexpected-response", (_request, response) => {
        upgradesRefused++;
        response.resume();
        ws.terminate();
        done();
      });
      ws.once("close", (code, reason) => {
        const key = `${code}${reason.length ? ` ${reason.toString()}` : ""}`;
        closes[key] = (closes[key] ?? 0) + 1;
        done();
      });
      ws.once("open", () => {
        const pump = () => {
          if (ws.readyState !== WebSocket.OPEN) return;
          if (ws.bufferedAmount < FLOOD_BUFFER_BYTES) {
            for (let i = 0; i < FLOOD_BATCH; i++) ws.send(frame);
            framesWritten += FLOOD_BATCH;
          }
          setImmediate(pump);
        };
        pump();
      });
    });
  };
  const loop = (async () => {
    while (!stopping) {
      await connectOnce();
      if (!stopping) await sleep(upgradesRefused > 0 ? 1_000 : 50);
    }
  })();
  return {
    async stop() {
      stopping = true;
      current?.terminate();
      await loop;
      const seconds = (performance.now() - startedAt) / 1000;
      return { framesWritten, framesPerSecond: Math.round(framesWritten / seconds), rateLimitedNotices, otherFrames, closes, upgradesRefused };
    },
  };
}
