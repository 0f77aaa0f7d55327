/**
 * Cold wakes: what one message costs when it finds its hub hibernated, as it
 * does in production whenever a user's hub sat idle for ten seconds (most
 * messages and every heartbeat alarm of a mostly idle user). `hubs` users
 * keep one socket each; for targets with a delivery log it is filled first
 * (a hub rebuilds its view of the log when it wakes). First `warmIterations`
 * messages per hub in memory (enough to span one of the log's batched
 * prunes, so per-message rows are the steady state's): the warm cost. Then
 * `iterations` times: every hub is evicted from memory with its socket
 * hibernated (what production does), and each socket sends one message.
 * Costs are the hub counters (constructions, SQL rows and statements) and
 * the server group's CPU around the messages only (not the evictions).
 */
import { closeSockets, openSockets, type BenchSocket } from "../bench-socket.ts";
import { clientFrame, type Target } from "../targets.ts";
import type { TargetServer } from "../target-server.ts";
import { fillLogs } from "./log-fill.ts";
import { countersBetween, type HubCounters, readCounters } from "./wakes.ts";

export interface ColdWakesOptions {
  readonly hubs: number;
  /** Messages per hub in memory: enough to span a batched prune, so rows per message are the steady state's. */
  readonly warmIterations: number;
  /** Evict-then-message rounds. */
  readonly iterations: number;
  /** Deliveries to put in each hub's log first (targets with a batch push only). */
  readonly logFill: number;
  readonly userPrefix: string;
}

export interface WakeCost {
  readonly messages: number;
  readonly constructedPerMessage: number;
  readonly statementsPerMessage: number;
  readonly rowsReadPerMessage: number;
  readonly rowsWrittenPerMessage: number;
  readonly cpuMsPerMessage: number;
}

export interface ColdWakesSample {
  readonly hubs: number;
  readonly logFill: number;
  readonly warm: WakeCost;
  readonly cold: WakeCost;
}

function costOf(counters: HubCounters, cpuMs: number, messages: number): WakeCost {
  return {
    messages,
    constructedPerMessage: counters.constructed / messages,
    statementsPerMessage: counters.storage.sqlStatements / messages,
    rowsReadPerMessage: counters.storage.rowsRead / messages,
    rowsWrittenPerMessage: (counters.storage.rowsWritten + counters.storage.setAlarm) / messages,
    cpuMsPerMessage: cpuMs / messages,
  };
}

/** Sends one frame on every socket and waits until each has its delivery. */
async function oneMessageEach(sockets: readonly BenchSocket[], target: Target, counter: { n: number }): Promise<void> {
  await Promise.all(
    sockets.map(
      (socket) =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`${target.name}: no delivery after a wake`)), 30_000);
          socket.onText = (text) => {
            if (!target.isDelivery(text)) return;
            clearTimeout(timer);
            socket.onText = () => {};
            resolve();
          };
          socket.send(clientFrame(++counter.n));
        }),
    ),
  );
}

export async function runColdWakes(server: Pick<TargetServer, "url" | "usage" | "evict">, target: Target, options: ColdWakesOptions): Promise<ColdWakesSample> {
  const className = Object.values(target.durableObjects ?? {})[0];
  if (!className) throw new Error(`${target.name}: no Durable Object to evict`);
  const users = Array.from({ length: options.hubs }, (_, i) => `${options.userPrefix}-${i}`);
  const sockets = await openSockets(server.url, target, users);
  const counter = { n: 0 };
  try {
    await fillLogs(server, target, users, options.logFill);
    // Their deliveries reach the sockets too; let them pass.
    await new Promise((resolve) => setTimeout(resolve, 300));

    let before = await readCounters(server.url);
    let cpu = 0;
    for (let i = 0; i < options.warmIterations; i++) {
      const start = server.usage().cpuMs;
      await oneMessageEach(sockets, target, counter);
      cpu += server.usage().cpuMs - start;
    }
    const warm = costOf(countersBetween(before, await readCounters(server.url)), cpu, options.warmIterations * sockets.length);

    before = await readCounters(server.url);
    cpu = 0;
    for (let i = 0; i < options.iterations; i++) {
      await server.evict(className, users);
      const start = server.usage().cpuMs;
      await oneMessageEach(sockets, target, counter);
      cpu += server.usage().cpuMs - start;
    }
    const cold = costOf(countersBetween(before, await readCounters(server.url)), cpu, options.iterations * sockets.length);
    return { hubs: options.hubs, logFill: target.batchPushRequest ? options.logFill : 0, warm, cold };
  } finally {
    await closeSockets(sockets);
  }
}
