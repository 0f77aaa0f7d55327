/**
 * Echo round trips: `connections` sockets, each of its own user, each in a
 * closed loop (send a frame, wait for its delivery, send the next). With one
 * socket per user every target's fan-out is an echo. Reports round trips per
 * second, latency percentiles, and server CPU per 1,000 round trips.
 */
import { closeSockets, openSockets, type ClientKind } from "../bench-socket.ts";
import { clientFrame, type Target } from "../targets.ts";
import type { TargetServer } from "../target-server.ts";
import { runClosedLoops } from "./closed-loop.ts";

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
  try {
    const frame = target.echoFrame ?? clientFrame;
    const { deliveries: roundTrips, cost, rates } = await runClosedLoops(
      server,
      sockets.map((socket) => ({ from: socket, to: socket, frame })),
      (text) => target.isDelivery(text),
      options,
    );
    return {
      connections: options.connections,
      roundTrips,
      ...rates,
      clientCpuMs: cost.clientCpuMs,
    };
  } finally {
    await closeSockets(sockets);
  }
}
