/**
 * Builds the targets' Workers once per run and starts a target's server for
 * a phase: workerd targets in Miniflare on the Worker's own socket, the Node
 * target as itself, each with a fresh directory for its storage under
 * `storageRoot` (the bench puts it in memory, /dev/shm, unless told
 * otherwise: see storage-root.ts).
 */
import { mkdtemp } from "node:fs/promises";
import { join } from "node:path";
import { stop as stopEsbuild } from "esbuild";
import { bundleWorker } from "./bundle-worker.ts";
import { COMPATIBILITY_DATE, type HeartbeatSettings, type ServerProfile, type Target } from "./targets.ts";
import { startHostServer, type TargetServer } from "./target-server.ts";

/** Where each workerd target's bundle was written. */
export type Bundles = ReadonlyMap<string, string>;

/** Bundles every workerd target under `dir` (removed by the caller). */
export async function bundleTargets(targets: readonly Target[], dir: string): Promise<Bundles> {
  const bundles = new Map<string, string>();
  try {
    for (const target of targets) {
      if (!target.entry) continue;
      const outfile = join(dir, target.name, "worker.js");
      await bundleWorker(target.entry, outfile);
      bundles.set(target.name, outfile);
    }
  } finally {
    // esbuild keeps a service process running after a build; this run needs no more.
    stopEsbuild();
  }
  return bundles;
}

export async function startTarget(
  target: Target,
  profile: ServerProfile,
  heartbeat: HeartbeatSettings,
  bundles: Bundles,
  storageRoot: string,
  options: { inspect?: boolean } = {},
): Promise<TargetServer> {
  const dir = await mkdtemp(join(storageRoot, `userhub-bench-${target.name}-`));
  const label = `${target.name} (${profile})`;
  if (target.kind === "vm") return await startHostServer(label, { kind: "node-ws", dbPath: join(dir, "log.sqlite") }, dir);
  const bundle = bundles.get(target.name);
  if (!bundle || !target.durableObjects) throw new Error(`${target.name}: no bundle`);
  return await startHostServer(
    label,
    {
      kind: "workerd",
      name: target.name,
      bundle,
      compatibilityDate: COMPATIBILITY_DATE,
      durableObjects: target.durableObjects,
      // Counting SQL rows costs the hub a little per statement: not where throughput and CPU are measured.
      bindings: { ...(target.bindings?.(profile, heartbeat) ?? {}), BENCH_COUNT_STORAGE: profile === "throughput" ? "off" : "on" },
      persistDir: join(dir, "persist"),
      ...(options.inspect ? { inspect: true } : {}),
    },
    dir,
  );
}
