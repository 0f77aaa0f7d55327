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
