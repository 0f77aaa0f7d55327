/**
 * Echo round trips: `connections` sockets, each of its own user, each in a
 * closed loop (send a frame, wait for its delivery, send the next). With one
 * socket per user every target's fan-out is an echo. Reports round trips per
 * second, latency percentiles, and server CPU per 1,000 round trips.
 */
import { type BenchSocket, closeSockets, openSockets, type ClientKind } from "../bench-socket.ts";
import { clientFrame, type Target } from "../targets.ts";
import type { TargetServer } from "../target-server.ts";
import { type ClosedLoopRates, type ClosedLoopResult, combineClosedLoops, runClosedLoops } from "./closed-loop.ts";
import { takeTurns } from "./measurement-window.ts";

export interface EchoOptions {
  readonly connections: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Users are `${userPrefix}-0` … ; a fresh prefix per run gives fresh hubs. */
  readonly userPrefix: string;
  readonly client?: ClientKind;
}

/** A round trip is one delivery of {@link ClosedLoopRates} (one frame in, one out). */
export interface EchoSample extends ClosedLoopRates {
  readonly connections: number;
  readonly roundTrips: number;
  readonly clientCpuMs: number;
}

export async function runEcho(server: Pick<TargetServer, "url" | "usage">, target: Target, options: EchoOptions): Promise<EchoSample> {
  const [sample] = await runEchoRound([{ server, target }], { ...options, slices: 1 });
  return sample!;
}

/**
 * Echo on several targets in one round, in turns: every target's sockets stay
 * open for the round and the targets take turns `slices` times, each turn a
 * `durationMs / slices` window (takeTurns: the first after `warmupMs`, later
 * ones after its settle time), so a drift in the machine's speed (seconds long on a
 * shared host) falls on every target alike rather than on whichever ran then.
 * One sample per target, in `entries`' order: its turns summed.
 */
export async function runEchoRound(
  entries: readonly { readonly server: Pick<TargetServer, "url" | "usage">; readonly target: Target }[],
  options: EchoOptions & { readonly slices: number },
): Promise<EchoSample[]> {
  const users = Array.from({ length: options.connections }, (_, i) => `${options.userPrefix}-${i}`);
  const opened: BenchSocket[][] = [];
  try {
    for (const { server, target } of entries) opened.push(await openSockets(server.url, target, users, { client: options.client ?? "ws" }));
    const turns: ClosedLoopResult[][] = entries.map(() => []);
    await takeTurns(entries.length, options, async (i, window) => {
      const { server, target } = entries[i]!;
      const frame = target.echoFrame ?? clientFrame;
      turns[i]!.push(
        await runClosedLoops(
          server,
          opened[i]!.map((socket) => ({ from: socket, to: socket, frame })),
          (text) => target.isDelivery(text),
          window,
        ),
      );
    });
    return turns.map((results) => {
      const { deliveries, cost, rates } = combineClosedLoops(results);
      return { connections: options.connections, roundTrips: deliveries, ...rates, clientCpuMs: cost.clientCpuMs };
    });
  } finally {
    for (const sockets of opened) await closeSockets(sockets);
  }
}

