/**
 * Wakes: how often a hub's code runs while its sockets sit idle with
 * heartbeats on. `hubs` users with `devices` sockets each ping every
 * heartbeat interval (a short one, so seconds suffice) and send nothing else.
 * The target's counters (bench/targets/hub-counters.js) are read before and
 * after that window, then after every socket closed, then after an empty
 * window of at least two heartbeat timeouts, in which nothing may run.
 */
import { closeSockets, openSockets } from "../bench-socket.ts";
import type { HeartbeatSettings, Target } from "../targets.ts";
import type { TargetServer } from "../target-server.ts";
import { fillLogs } from "./log-fill.ts";
import { sleep } from "./measurement-window.ts";

export interface WakesOptions {
  readonly hubs: number;
  readonly devices: number;
  readonly heartbeat: HeartbeatSettings;
  readonly durationMs: number;
  readonly emptyMs: number;
  readonly userPrefix: string;
  /**
   * Evict every hub (its sockets hibernated) this often while the sockets
   * idle, as production does to a hub idle for ten seconds, so that each
   * alarm finds its hub cold. Shorter than the least time between two alarms.
   */
  readonly evictEveryMs?: number;
  /** Deliveries to put in each hub's log first (a hub may read its log when it wakes). */
  readonly logFill?: number;
}

export interface HubCounters {
  readonly constructed: number;
  readonly fetch: number;
  readonly message: number;
  readonly close: number;
  readonly error: number;
  readonly alarm: number;
  readonly rpc: number;
  readonly request: number;
  readonly storage: {
    readonly sqlStatements: number;
    readonly kvCalls: number;
    readonly rowsRead: number;
    readonly rowsWritten: number;
    readonly setAlarm: number;
    readonly deleteAlarm: number;
    readonly getAlarm: number;
  };
}

/** Everything that counts as the hub's code running. `constructed` is not a wake of its own: it happens inside one. */
const WAKE_KINDS = ["fetch", "message", "close", "error", "alarm", "rpc", "request"] as const;

export function wakesIn(counters: HubCounters): number {
  return WAKE_KINDS.reduce((sum, kind) => sum + counters[kind], 0);
}

export function countersBetween(before: HubCounters, after: HubCounters): HubCounters {
  const storage = Object.fromEntries(
    Object.entries(after.storage).map(([key, value]) => [key, value - before.storage[key as keyof HubCounters["storage"]]]),
  ) as unknown as HubCounters["storage"];
  const top = Object.fromEntries(WAKE_KINDS.map((kind) => [kind, after[kind] - before[kind]]));
  return { ...(top as Record<(typeof WAKE_KINDS)[number], number>), constructed: after.constructed - before.constructed, storage };
}

export async function readCounters(url: string): Promise<HubCounters> {
  const response = await fetch(`${url}/__bench/wakes`, { signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`counters answered ${response.status}`);
  return (await response.json()) as HubCounters;
}

export interface WakesSample {
  readonly hubs: number;
  readonly sockets: number;
  readonly heartbeat: HeartbeatSettings;
  readonly windowMs: number;
  readonly pingsSent: number;
  readonly pongsReceived: number;
  /** While idle sockets pinged. */
  readonly steady: HubCounters;
  /** While the sockets closed. */
  readonly closing: HubCounters;
  /** With no sockets left, over `emptyMs`. */
  readonly empty: HubCounters;
  readonly emptyMs: number;
  /** Steady wakes per socket per hour (at the bench's heartbeat). */
  readonly wakesPerConnectionHour: number;
  /** Steady message wakes per ping sent: 0 when the runtime answers pings. */
  readonly wakesPerPing: number;
  /** Alarm wakes per hub per heartbeat timeout period, as local workerd fired them. */
  readonly alarmsPerHubPerTimeout: number;
  /** Whether hubs were evicted while idle (then alarms found them cold). */
  readonly evicted: boolean;
}

export async function runWakes(server: Pick<TargetServer, "url" | "evict">, target: Target, options: WakesOptions): Promise<WakesSample> {
  const users = Array.from({ length: options.hubs * options.devices }, (_, i) => `${options.userPrefix}-${Math.floor(i / options.devices)}`);
  const sockets = await openSockets(server.url, target, users);
  let pingsSent = 0;
  let pongsReceived = 0;
  const timers: NodeJS.Timeout[] = [];
  try {
    for (const socket of sockets) {
      socket.onText = (text) => {
        if (text === "pong") pongsReceived++;
      };
    }
    await fillLogs(server, target, [...new Set(users)], options.logFill ?? 0);
    // Let connect-time work (welcome, presence, first alarm scheduling, the fill's deliveries) finish before counting.
    await sleep(300);
    const start = await readCounters(server.url);
    const startedAt = performance.now();
    for (const socket of sockets) {
      // Each socket on its own phase, as independent devices would be.
      const first = setTimeout(() => {
        const ping = () => {
          socket.send("ping");
          pingsSent++;
        };
        ping();
        timers.push(setInterval(ping, options.heartbeat.intervalMs));
      }, Math.random() * options.heartbeat.intervalMs);
      timers.push(first);
    }
    const hubs = [...new Set(users)];
    const className = Object.values(target.durableObjects ?? {})[0];
    let evicting: Promise<void> = Promise.resolve();
    if (options.evictEveryMs && className) {
      const evictAll = () => (evicting = evicting.then(() => server.evict(className, hubs)));
      evictAll();
      timers.push(setInterval(evictAll, options.evictEveryMs));
    }
    await sleep(options.durationMs);
    for (const timer of timers) clearTimeout(timer);
    await evicting;
    const windowMs = performance.now() - startedAt;
    const steadyEnd = await readCounters(server.url);
    await closeSockets(sockets);
    await sleep(500);
    const closed = await readCounters(server.url);
    await sleep(options.emptyMs);
    const emptyEnd = await readCounters(server.url);
    const steady = countersBetween(start, steadyEnd);
    return {
      hubs: options.hubs,
      sockets: sockets.length,
      heartbeat: options.heartbeat,
      windowMs,
      pingsSent,
      pongsReceived,
      steady,
      closing: countersBetween(steadyEnd, closed),
      empty: countersBetween(closed, emptyEnd),
      emptyMs: options.emptyMs,
      wakesPerConnectionHour: (wakesIn(steady) * 3_600_000) / (sockets.length * windowMs),
      wakesPerPing: pingsSent > 0 ? steady.message / pingsSent : Number.NaN,
      alarmsPerHubPerTimeout: (steady.alarm * options.heartbeat.timeoutMs) / (options.hubs * windowMs),
      evicted: Boolean(options.evictEveryMs && className),
    };
  } finally {
    for (const timer of timers) clearTimeout(timer);
    await closeSockets(sockets);
  }
}
