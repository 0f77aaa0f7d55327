/**
 * Closed loops, the shape of the echo and direct-message workloads: each
 * loop sends a frame on one socket and sends the next only when a delivery
 * arrived on another (or the same) socket, through a warm-up and a measured
 * window. Only deliveries inside the window are counted and timed.
 */
import type { BenchSocket } from "../bench-socket.ts";
import type { TargetServer } from "../target-server.ts";
import { percentile } from "../latency-summary.ts";
import { measureWindow, per1k, sleep, type WindowCost } from "./measurement-window.ts";

export interface ClosedLoop {
  /** The socket that sends. */
  readonly from: BenchSocket;
  /** The socket whose delivery lets the next frame go (`from` itself for an echo). */
  readonly to: BenchSocket;
  /** Frame number `n` (numbered across all loops). */
  frame(n: number): string;
}

/** What every closed-loop workload reports of its window, per delivery. */
export interface ClosedLoopRates {
  readonly perSecond: number;
  /** From a frame's send to its delivery. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly serverCpuMs: number;
  /** Server CPU ms per 1,000 deliveries. */
  readonly cpuMsPer1k: number;
  readonly windowMs: number;
}

export interface ClosedLoopResult {
  /** Deliveries that arrived inside the window. */
  readonly deliveries: number;
  readonly cost: WindowCost;
  readonly rates: ClosedLoopRates;
  /** Each delivery's latency in ms, in the order they came. */
  readonly latencies: readonly number[];
}

/** Runs `loops` until the window ends; `isDelivery` tells the frame a loop waits for from any other on `to`. */
export async function runClosedLoops(
  server: Pick<TargetServer, "usage">,
  loops: readonly ClosedLoop[],
  isDelivery: (text: string) => boolean,
  options: { readonly warmupMs: number; readonly durationMs: number },
): Promise<ClosedLoopResult> {
  const latencies: number[] = [];
  let measuring = false;
  let stopping = false;
  let counter = 0;
  let deliveries = 0;
  const running = loops.map(
    ({ from, to, frame }) =>
      new Promise<void>((resolve) => {
        let sentAt = 0;
        const send = () => {
          sentAt = performance.now();
          from.send(frame(++counter));
        };
        // What the sender's own socket gets besides (userhub's copy of a direct message) is not waited for.
        from.onText = () => {};
        to.onText = (text) => {
          if (!isDelivery(text)) return;
          if (measuring) {
            latencies.push(performance.now() - sentAt);
            deliveries++;
          }
          if (stopping) {
            to.onText = () => {};
            return resolve();
          }
          send();
        };
        send();
      }),
  );
  const cost = await measureWindow(server, options.warmupMs, options.durationMs, () => (measuring = true), () => (measuring = false));
  stopping = true;
  await Promise.race([Promise.all(running), sleep(5_000)]);
  return { deliveries, cost, rates: ratesOf(deliveries, cost, latencies), latencies };
}

/** Windows of the same loops (turns of one round) as one: deliveries, time and CPU summed, percentiles over every latency. */
export function combineClosedLoops(results: readonly ClosedLoopResult[]): ClosedLoopResult {
  const deliveries = results.reduce((sum, r) => sum + r.deliveries, 0);
  const cost: WindowCost = {
    windowMs: results.reduce((sum, r) => sum + r.cost.windowMs, 0),
    serverCpuMs: results.reduce((sum, r) => sum + r.cost.serverCpuMs, 0),
    clientCpuMs: results.reduce((sum, r) => sum + r.cost.clientCpuMs, 0),
  };
  const latencies = results.flatMap((r) => r.latencies);
  return { deliveries, cost, rates: ratesOf(deliveries, cost, latencies), latencies };
}

function ratesOf(deliveries: number, cost: WindowCost, latencies: readonly number[]): ClosedLoopRates {
  return {
    perSecond: (deliveries * 1000) / cost.windowMs,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    serverCpuMs: cost.serverCpuMs,
    cpuMsPer1k: per1k(cost.serverCpuMs, deliveries),
    windowMs: cost.windowMs,
  };
}
