/**
 * Fan-out: `sockets` sockets of one user; one of them sends a frame and the
 * clock stops when every socket (the sender's included) has its delivery.
 * One fan-out at a time. Reports fan-out time percentiles, fan-outs and
 * deliveries per second, and server CPU per 1,000 deliveries.
 */
import { type BenchSocket, closeSockets, openSockets } from "../bench-socket.ts";
import { percentile } from "../latency-summary.ts";
import { clientFrame, type Target } from "../targets.ts";
import type { TargetServer } from "../target-server.ts";
import { measureWindow, per1k, sleep, takeTurns, type WindowCost } from "./measurement-window.ts";

export interface FanOutOptions {
  readonly sockets: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly user: string;
}

export interface FanOutSample {
  readonly sockets: number;
  readonly fanOuts: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly deliveriesPerSecond: number;
  readonly serverCpuMs: number;
  /** Server CPU ms per 1,000 deliveries (one frame out to one socket). */
  readonly cpuMsPer1kDeliveries: number;
  readonly windowMs: number;
}

/**
 * Fan-out on several targets in one round, in turns, as the echo takes them
 * (runEchoRound): every target's sockets stay open for the round and the
 * targets take turns `slices` times, each turn a `durationMs / slices`
 * window (takeTurns: the first after `warmupMs`, later ones after its settle
 * time), so a drift in the machine's speed falls on every target alike. One
 * sample per target, in `entries`' order: its turns' fan-out times pooled.
 */
export async function runFanOutRound(
  entries: readonly { readonly server: Pick<TargetServer, "url" | "usage">; readonly target: Target }[],
  options: FanOutOptions & { readonly slices: number },
): Promise<FanOutSample[]> {
  const opened: BenchSocket[][] = [];
  try {
    for (const { server, target } of entries) opened.push(await openSockets(server.url, target, Array.from({ length: options.sockets }, () => options.user)));
    // Joining sockets may make the hub tell the others (userhub's presence frames); let that pass first.
    await sleep(200);
    const pooled = entries.map(() => ({ times: [] as number[], serverCpuMs: 0, windowMs: 0 }));
    await takeTurns(entries.length, options, async (i, window) => {
      const { server, target } = entries[i]!;
      const turn = await fanOutTurn(server, target, opened[i]!, window);
      const into = pooled[i]!;
      into.times.push(...turn.times);
      into.serverCpuMs += turn.cost.serverCpuMs;
      into.windowMs += turn.cost.windowMs;
    });
    return pooled.map(({ times, serverCpuMs, windowMs }, i) => {
      const fanOuts = times.length;
      const deliveries = fanOuts * opened[i]!.length;
      return {
        sockets: opened[i]!.length,
        fanOuts,
        p50Ms: percentile(times, 50),
        p99Ms: percentile(times, 99),
        deliveriesPerSecond: (deliveries * 1000) / windowMs,
        serverCpuMs,
        cpuMsPer1kDeliveries: per1k(serverCpuMs, deliveries),
        windowMs,
      };
    });
  } finally {
    for (const sockets of opened) await closeSockets(sockets);
  }
}

/** One turn: fan-outs back to back for the window's warm-up, then measured for its duration; the one in flight then finishes. */
async function fanOutTurn(
  server: Pick<TargetServer, "usage">,
  target: Target,
  sockets: readonly BenchSocket[],
  window: { readonly warmupMs: number; readonly durationMs: number },
): Promise<{ times: number[]; cost: WindowCost }> {
  const times: number[] = [];
  let measuring = false;
  let stopping = false;
  let counter = 0;
  const loop = new Promise<void>((resolve) => {
    let remaining = 0;
    let sentAt = 0;
    const fire = () => {
      remaining = sockets.length;
      sentAt = performance.now();
      sockets[0]!.send(clientFrame(++counter));
    };
    const delivered = (text: string) => {
      if (!target.isDelivery(text) || --remaining > 0) return;
      if (measuring) times.push(performance.now() - sentAt);
      if (stopping) return resolve();
      fire();
    };
    for (const socket of sockets) socket.onText = delivered;
    fire();
  });
  const cost = await measureWindow(server, window.warmupMs, window.durationMs, () => (measuring = true), () => (measuring = false));
  stopping = true;
  // A fan-out lost on the way would leave the loop waiting: the turn ends anyway.
  await Promise.race([loop, sleep(5_000)]);
  for (const socket of sockets) socket.onText = () => {};
  return { times, cost };
}
