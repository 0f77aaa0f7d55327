/**
 * Echo round trips: `connections` sockets, each of its own user, each in a
 * closed loop (send a frame, wait for its delivery, send the next). With one
 * socket per user every target's fan-out is an echo. Reports round trips per
 * second, latency percentiles, and server CPU per 1,000 round trips.
 */
import { closeSockets, openSockets, type ClientKind } from "../bench-socket.ts";
import { percentile } from "../latency-summary.ts";
import { clientFrame, type Target } from "../targets.ts";
import type { TargetServer } from "../target-server.ts";
import { measureWindow, per1k, sleep } from "./measurement-window.ts";

export interface EchoOptions {
  readonly connections: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Users are `${userPrefix}-0` … ; a fresh prefix per run gives fresh hubs. */
  readonly userPrefix: string;
  readonly client?: ClientKind;
}

export interface EchoSample {
  readonly connections: number;
  readonly roundTrips: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly serverCpuMs: number;
  /** Server CPU ms per 1,000 round trips (one frame in, one out). */
  readonly cpuMsPer1k: number;
  readonly clientCpuMs: number;
  readonly windowMs: number;
}

export async function runEcho(server: Pick<TargetServer, "url" | "usage">, target: Target, options: EchoOptions): Promise<EchoSample> {
  const users = Array.from({ length: options.connections }, (_, i) => `${options.userPrefix}-${i}`);
  const sockets = await openSockets(server.url, target, users, { client: options.client ?? "ws" });
  const latencies: number[] = [];
  let measuring = false;
  let stopping = false;
  let counter = 0;
  let roundTrips = 0;
  try {
    const loops = sockets.map(
      (socket) =>
        new Promise<void>((resolve) => {
          let sentAt = 0;
          const send = () => {
            sentAt = performance.now();
            socket.send((target.echoFrame ?? clientFrame)(++counter));
          };
          socket.onText = (text) => {
            if (!target.isDelivery(text)) return;
            if (measuring) {
              latencies.push(performance.now() - sentAt);
              roundTrips++;
            }
            if (stopping) {
              socket.onText = () => {};
              return resolve();
            }
            send();
          };
          send();
        }),
    );
    const cost = await measureWindow(server, options.warmupMs, options.durationMs, () => (measuring = true), () => (measuring = false));
    stopping = true;
    await Promise.race([Promise.all(loops), sleep(5_000)]);
    return {
      connections: options.connections,
      roundTrips,
      perSecond: (roundTrips * 1000) / cost.windowMs,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      serverCpuMs: cost.serverCpuMs,
      cpuMsPer1k: per1k(cost.serverCpuMs, roundTrips),
      clientCpuMs: cost.clientCpuMs,
      windowMs: cost.windowMs,
    };
  } finally {
    await closeSockets(sockets);
  }
}
