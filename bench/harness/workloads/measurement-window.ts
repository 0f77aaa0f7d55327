/**
 * The window a throughput workload is measured in: load runs for a warm-up
 * first (JIT, connection pools, SQLite pages), then for `durationMs` with the
 * server group's CPU and the bench's own CPU sampled at both ends.
 */
import type { TargetServer } from "../target-server.ts";

export interface WindowCost {
  /** How long the window really lasted. */
  readonly windowMs: number;
  /** CPU the server's processes used in the window (all of them: workerd and its host, or node). */
  readonly serverCpuMs: number;
  /** CPU the bench process (the client) used in the window. */
  readonly clientCpuMs: number;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Waits `warmupMs`, calls `start`, waits `durationMs`, calls `end`, and
 * returns what the window cost. The load itself runs the whole time.
 */
export async function measureWindow(server: Pick<TargetServer, "usage">, warmupMs: number, durationMs: number, start: () => void, end: () => void): Promise<WindowCost> {
  await sleep(warmupMs);
  const before = server.usage().cpuMs;
  const clientBefore = process.cpuUsage();
  const startedAt = performance.now();
  start();
  await sleep(durationMs);
  end();
  const windowMs = performance.now() - startedAt;
  const client = process.cpuUsage(clientBefore);
  return { windowMs, serverCpuMs: server.usage().cpuMs - before, clientCpuMs: (client.user + client.system) / 1000 };
}

/** Server CPU per 1,000 operations. */
export function per1k(cpuMs: number, operations: number): number {
  return operations > 0 ? (cpuMs * 1000) / operations : Number.NaN;
}

/** How long a target's load runs again before a later turn is measured: the server is warm, its sockets idle for a few turns. */
export const SETTLE_MS = 100;

/**
 * Runs `count` targets' turns within one round, `slices` turns each, each
 * `durationMs / slices` long (the first after `warmupMs`, later ones after
 * {@link SETTLE_MS}), and each pass over the targets starting with a
 * different one: none always runs first or right after another's load, and
 * a drift in the machine's speed (seconds long on a shared host) falls on
 * every target alike rather than on whichever ran then.
 */
export async function takeTurns(
  count: number,
  options: { readonly slices: number; readonly warmupMs: number; readonly durationMs: number },
  turn: (target: number, window: { readonly warmupMs: number; readonly durationMs: number }) => Promise<void>,
): Promise<void> {
  for (let slice = 0; slice < options.slices; slice++) {
    for (let k = 0; k < count; k++) {
      const warmupMs = slice === 0 ? options.warmupMs : Math.min(SETTLE_MS, options.warmupMs);
      await turn((k + slice) % count, { warmupMs, durationMs: options.durationMs / options.slices });
    }
  }
}
