/**
 * Server push through the durable log: `concurrency` HTTP clients, each in a
 * closed loop, POST one message at a time to one user whose `devices`
 * sockets are open. Every target writes one durable row per push and then
 * sends it to each socket (userhub: its delivery log and seq). Reports pushes
 * per second, HTTP latency percentiles, and server CPU per 1,000 pushes.
 */
import { Agent, request } from "node:http";
import { closeSockets, openSockets } from "../bench-socket.ts";
import { percentile } from "../latency-summary.ts";
import type { Target } from "../targets.ts";
import type { TargetServer } from "../target-server.ts";
import { measureWindow, per1k, sleep } from "./measurement-window.ts";

export interface PushOptions {
  readonly concurrency: number;
  readonly devices: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly user: string;
}

export interface PushSample {
  readonly pushes: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Deliveries the first socket saw in the window; about `pushes` when nothing is lost. */
  readonly deliveredToFirstSocket: number;
  readonly serverCpuMs: number;
  /** Server CPU ms per 1,000 pushes (each logged once and sent to every socket). */
  readonly cpuMsPer1k: number;
  readonly windowMs: number;
}

export async function runPush(server: Pick<TargetServer, "url" | "usage">, target: Target, options: PushOptions): Promise<PushSample> {
  const sockets = await openSockets(server.url, target, Array.from({ length: options.devices }, () => options.user));
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const latencies: number[] = [];
  let measuring = false;
  let stopping = false;
  let pushes = 0;
  let delivered = 0;
  let counter = 0;
  sockets[0]!.onText = (text) => {
    if (measuring && target.isDelivery(text)) delivered++;
  };
  const pushOnce = (n: number) =>
    new Promise<void>((resolve, reject) => {
      const { path, headers, body } = target.pushRequest(options.user, n);
      const req = request(`${server.url}${path}`, { method: "POST", agent, headers: { ...headers, "Content-Length": Buffer.byteLength(body) } }, (response) => {
        response.resume();
        response.once("end", () => (response.statusCode === 200 ? resolve() : reject(new Error(`${target.name}: push answered ${response.statusCode}`))));
      });
      req.once("error", reject);
      req.end(body);
    });
  try {
    let failure: unknown = null;
    const pushers = Array.from({ length: options.concurrency }, async () => {
      while (!stopping && failure === null) {
        const startedAt = performance.now();
        try {
          await pushOnce(++counter);
        } catch (error) {
          failure ??= error;
          return;
        }
        if (measuring) {
          latencies.push(performance.now() - startedAt);
          pushes++;
        }
      }
    });
    const cost = await measureWindow(server, options.warmupMs, options.durationMs, () => (measuring = true), () => (measuring = false));
    stopping = true;
    await Promise.race([Promise.all(pushers), sleep(10_000)]);
    if (failure !== null) throw failure;
    return {
      pushes,
      perSecond: (pushes * 1000) / cost.windowMs,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      deliveredToFirstSocket: delivered,
      serverCpuMs: cost.serverCpuMs,
      cpuMsPer1k: per1k(cost.serverCpuMs, pushes),
      windowMs: cost.windowMs,
    };
  } finally {
    agent.destroy();
    await closeSockets(sockets);
  }
}
