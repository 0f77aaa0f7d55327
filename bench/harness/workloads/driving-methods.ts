/**
 * Which way of driving workerd measures the runtime rather than the dev
 * tooling. The floor's echo is run, interleaved, through:
 *
 * - `wrangler dev` as `npm start` runs it (a dev proxy workerd in front; the
 *   Worker's workerd with wrangler's local observability, which streams a
 *   trace of every event to a collector worker, and the local explorer, which
 *   wraps every SQLite Durable Object class);
 * - `wrangler dev` with those two turned off (X_LOCAL_OBSERVABILITY=false,
 *   X_LOCAL_EXPLORER=false): what is left is the dev proxy hop;
 * - Miniflare's entry socket (its entry worker routes to the Worker);
 * - the Worker's own socket (`unsafeDirectSockets`), with the `ws` client,
 *   with `ws` and Nagle's algorithm back on, and with Node's global
 *   (undici) WebSocket.
 *
 * Then userhub's echo at 10 connections with its storage on this VM's disk
 * and in memory. Every row reports throughput, latency, the server group's
 * CPU per 1,000 round trips and per process, and the client's CPU.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ClientKind } from "../bench-socket.ts";
import { median } from "../latency-summary.ts";
import type { Bundles } from "../target-launcher.ts";
import { startTarget } from "../target-launcher.ts";
import { startWranglerDevServer, type TargetServer } from "../target-server.ts";
import { cpuBetween } from "../process-group-stats.ts";
import type { HeartbeatSettings, Target } from "../targets.ts";
import { storageRoot } from "../storage-root.ts";
import { runEcho, type EchoSample } from "./echo.ts";

export interface DrivingMethodRow {
  /** What was driven and how. */
  readonly method: string;
  readonly target: string;
  readonly client: ClientKind;
  readonly connections: number;
  /** Medians over the rounds. */
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly cpuMsPer1k: number;
  /** The client's (the bench's) CPU as a share of one core. */
  readonly clientCpuPercent: number;
  /** Each server process's CPU as a share of one core, in the last round (`name:pid`). */
  readonly processCpuPercent: Readonly<Record<string, number>>;
}

export interface DrivingMethodOptions {
  readonly connections: readonly number[];
  readonly rounds: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly heartbeat: HeartbeatSettings;
  readonly progress: (line: string) => void;
}

interface Variant {
  readonly method: string;
  readonly target: Target;
  readonly client: ClientKind;
  readonly connections: readonly number[];
  readonly server: () => Pick<TargetServer, "url" | "usage">;
}

const FLOOR_CONFIG = fileURLToPath(new URL("../../targets/floor/wrangler.toml", import.meta.url));
/** wrangler dev builds into `.wrangler/` next to its config; only the bench runs wrangler there. */
const FLOOR_WRANGLER_DIR = fileURLToPath(new URL("../../targets/floor/.wrangler", import.meta.url));

export async function compareDrivingMethods(floor: Target, userhub: Target | undefined, bundles: Bundles, options: DrivingMethodOptions): Promise<DrivingMethodRow[]> {
  const memory = storageRoot("memory");
  const servers: TargetServer[] = [];
  const start = async <T extends TargetServer>(server: Promise<T>): Promise<T> => {
    const started = await server;
    servers.push(started);
    return started;
  };
  try {
    options.progress("driving methods: starting wrangler dev (twice) and Miniflare");
    const wranglerDefault = await start(startWranglerDevServer("floor under wrangler dev", FLOOR_CONFIG, await mkdtemp(join(memory, "userhub-bench-wrangler-")), {}));
    const wranglerLean = await start(
      startWranglerDevServer("floor under wrangler dev, lean", FLOOR_CONFIG, await mkdtemp(join(memory, "userhub-bench-wrangler-")), {
        X_LOCAL_OBSERVABILITY: "false",
        X_LOCAL_EXPLORER: "false",
      }),
    );
    const miniflare = await start(startTarget(floor, "throughput", options.heartbeat, bundles, memory));
    const variants: Variant[] = [
      { method: "wrangler dev (as `npm start` runs it)", target: floor, client: "ws", connections: options.connections, server: () => wranglerDefault },
      { method: "wrangler dev, local observability + explorer off", target: floor, client: "ws", connections: options.connections, server: () => wranglerLean },
      {
        method: "Miniflare entry socket (entry worker → Worker)",
        target: floor,
        client: "ws",
        connections: options.connections,
        server: () => ({ url: miniflare.entryUrl ?? miniflare.url, usage: miniflare.usage }),
      },
      { method: "the Worker's own socket (chosen)", target: floor, client: "ws", connections: options.connections, server: () => miniflare },
      { method: "the Worker's own socket, ws with Nagle on", target: floor, client: "ws-nagle", connections: options.connections, server: () => miniflare },
      { method: "the Worker's own socket, Node's global WebSocket", target: floor, client: "undici", connections: options.connections, server: () => miniflare },
    ];
    if (userhub) {
      const onDisk = await start(startTarget(userhub, "throughput", options.heartbeat, bundles, storageRoot("disk")));
      const inMemory = await start(startTarget(userhub, "throughput", options.heartbeat, bundles, memory));
      const at = [Math.max(...options.connections)];
      variants.push(
        { method: "userhub, storage on this VM's disk", target: userhub, client: "ws", connections: at, server: () => onDisk },
        { method: "userhub, storage in memory (chosen)", target: userhub, client: "ws", connections: at, server: () => inMemory },
      );
    }
    const samples = new Map<string, { sample: EchoSample; processes: Record<string, number> }[]>();
    for (let round = 0; round < options.rounds; round++) {
      // Rotate the order each round so that no way of driving always goes first.
      const order = variants.map((_, i) => variants[(i + round) % variants.length]!);
      for (const variant of order) {
        for (const connections of variant.connections) {
          const server = variant.server();
          const before = server.usage();
          const sample = await runEcho(server, variant.target, {
            connections,
            warmupMs: options.warmupMs,
            durationMs: options.durationMs,
            userPrefix: `drive-${round}-${variants.indexOf(variant)}-${connections}`,
            client: variant.client,
          });
          const after = server.usage();
          const elapsed = sample.windowMs + options.warmupMs;
          const processes = Object.fromEntries(
            Object.entries(cpuBetween(before, after))
              .filter(([, ms]) => ms > 0)
              .map(([name, ms]) => [name, Math.round((ms * 100) / elapsed)]),
          );
          const key = `${variant.method}|${connections}`;
          samples.set(key, [...(samples.get(key) ?? []), { sample, processes }]);
          options.progress(
            `driving methods ${round + 1}/${options.rounds}: ${variant.method}, ${connections} conn: ${Math.round(sample.perSecond)}/s, p50 ${sample.p50Ms.toFixed(2)} ms`,
          );
        }
      }
    }
    return variants.flatMap((variant) =>
      variant.connections.map((connections): DrivingMethodRow => {
        const runs = samples.get(`${variant.method}|${connections}`) ?? [];
        const pick = (f: (s: EchoSample) => number) => median(runs.map((r) => f(r.sample)));
        return {
          method: variant.method,
          target: variant.target.name,
          client: variant.client,
          connections,
          perSecond: pick((s) => s.perSecond),
          p50Ms: pick((s) => s.p50Ms),
          p99Ms: pick((s) => s.p99Ms),
          cpuMsPer1k: pick((s) => s.cpuMsPer1k),
          clientCpuPercent: pick((s) => (s.clientCpuMs * 100) / s.windowMs),
          processCpuPercent: runs.at(-1)?.processes ?? {},
        };
      }),
    );
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    await rm(FLOOR_WRANGLER_DIR, { recursive: true, force: true });
  }
}
