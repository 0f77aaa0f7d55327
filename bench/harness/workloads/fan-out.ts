/**
 * Fan-out: `sockets` sockets of one user; one of them sends a frame and the
 * clock stops when every socket (the sender's included) has its delivery.
 * One fan-out at a time. Reports fan-out time percentiles, fan-outs and
 * deliveries per second, and server CPU per 1,000 deliveries.
 */
import { closeSockets, openSockets } from "../bench-socket.ts";
import { percentile } from "../latency-summary.ts";
import { clientFrame, type Target } from "../targets.ts";
import type { TargetServer } from "../target-server.ts";
import { measureWindow, per1k, sleep } from "./measurement-window.ts";

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

export async function runFanOut(server: Pick<TargetServer, "url" | "usage">, target: Target, options: FanOutOptions): Promise<FanOutSample> {
  const sockets = await openSockets(server.url, target, Array.from({ length: options.sockets }, () => options.user));
  // Joining sockets may make the hub tell the others (userhub's presence frames); let that pass first.
  await sleep(200);
  const times: number[] = [];
  let measuring = false;
  let stopping = false;
  let fanOuts = 0;
  let counter = 0;
  try {
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
        if (measuring) {
          times.push(performance.now() - sentAt);
          fanOuts++;
        }
        if (stopping) return resolve();
        fire();
      };
      for (const socket of sockets) socket.onText = delivered;
      fire();
    });
    const cost = await measureWindow(server, options.warmupMs, options.durationMs, () => (measuring = true), () => (measuring = false));
    stopping = true;
    await Promise.race([loop, sleep(5_000)]);
    const deliveries = fanOuts * sockets.length;
    return {
      sockets: sockets.length,
      fanOuts,
      p50Ms: percentile(times, 50),
      p99Ms: percentile(times, 99),
      deliveriesPerSecond: (deliveries * 1000) / cost.windowMs,
      serverCpuMs: cost.serverCpuMs,
      cpuMsPer1kDeliveries: per1k(cost.serverCpuMs, deliveries),
      windowMs: cost.windowMs,
    };
  } finally {
    await closeSockets(sockets);
  }
}
