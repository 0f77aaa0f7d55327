/**
 * Memory per idle connection: the server group's resident memory with
 * `sockets` idle sockets (users of `devices` sockets each) minus the same with
 * none, on a server that has served one socket already (code loaded, JIT
 * warm). Also reports the server CPU spent per connection set up (upgrade,
 * routing, authentication, accept).
 */
import { closeSockets, openSockets } from "../bench-socket.ts";
import { median } from "../latency-summary.ts";
import type { Target } from "../targets.ts";
import type { TargetServer } from "../target-server.ts";
import { sleep } from "./measurement-window.ts";
import type { HubCounters } from "./wakes.ts";

export interface IdleMemoryOptions {
  readonly sockets: number;
  readonly devices: number;
  readonly settleMs: number;
  readonly userPrefix: string;
}

export interface IdleMemorySample {
  readonly sockets: number;
  readonly rssNoneBytes: number;
  readonly rssIdleBytes: number;
  /** (idle − none) / sockets, in bytes. */
  readonly bytesPerConnection: number;
  /** Server CPU ms per connection set up. */
  readonly cpuMsPerConnect: number;
  readonly connectMs: number;
  /** The hub counters' change over reconnecting (and closing) sockets of existing hubs (edge targets; the bench adds it). */
  readonly counters?: HubCounters;
}

async function steadyRss(server: Pick<TargetServer, "usage">): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 3; i++) {
    samples.push(server.usage().rssBytes);
    await sleep(150);
  }
  return median(samples);
}

export async function runIdleMemory(server: Pick<TargetServer, "url" | "usage">, target: Target, options: IdleMemoryOptions): Promise<IdleMemorySample> {
  const warm = await openSockets(server.url, target, [`${options.userPrefix}-warm`]);
  await closeSockets(warm);
  await sleep(500);
  const rssNoneBytes = await steadyRss(server);
  const users = Array.from({ length: options.sockets }, (_, i) => `${options.userPrefix}-${Math.floor(i / options.devices)}`);
  const cpuBefore = server.usage().cpuMs;
  const startedAt = performance.now();
  const sockets = await openSockets(server.url, target, users);
  const connectMs = performance.now() - startedAt;
  const cpuMsPerConnect = (server.usage().cpuMs - cpuBefore) / options.sockets;
  try {
    await sleep(options.settleMs);
    const rssIdleBytes = await steadyRss(server);
    return {
      sockets: options.sockets,
      rssNoneBytes,
      rssIdleBytes,
      bytesPerConnection: (rssIdleBytes - rssNoneBytes) / options.sockets,
      cpuMsPerConnect,
      connectMs,
    };
  } finally {
    await closeSockets(sockets);
  }
}
