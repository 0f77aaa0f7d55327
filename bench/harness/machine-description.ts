/**
 * What a run ran on, for the record: the machine, its load, and the
 * versions of everything measured (the runtime as wrangler ships it).
 */
import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { cpus, loadavg, totalmem } from "node:os";
import type { BenchResults } from "./bench-results.ts";
import { cpuSource } from "./process-group-stats.ts";

/** The userhub commit in the working tree, and whether src/, durable-objects/ or worker/ differ from it. Read when a run starts (the bundles are built then). */
export function measuredCommit(): string {
  try {
    const root = new URL("../../", import.meta.url).pathname;
    const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "src", "durable-objects", "worker"], { cwd: root, encoding: "utf8" }).trim();
    return dirty ? `${commit} (with uncommitted changes to src/, durable-objects/ or worker/)` : commit;
  } catch {
    return "unknown (not a git checkout)";
  }
}

export async function describeMachine(loadAverageStart: number[], commit: string): Promise<BenchResults["machine"]> {
  const require = createRequire(import.meta.url);
  // Some packages (hono) do not export their package.json: read it from node_modules directly.
  const version = async (path: string) => {
    try {
      return (JSON.parse(await readFile(new URL(`../../node_modules/${path}`, import.meta.url), "utf8")) as { version: string }).version;
    } catch {
      return "unknown";
    }
  };
  const fromWrangler = createRequire(require.resolve("wrangler/package.json"));
  const workerdVersion = async () => {
    try {
      return (JSON.parse(await readFile(fromWrangler.resolve("workerd/package.json"), "utf8")) as { version: string }).version;
    } catch {
      return "unknown";
    }
  };
  const cpuList = cpus();
  return {
    commit,
    cpus: cpuList.length,
    cpuModel: cpuList[0]?.model ?? "unknown",
    memoryGb: Math.round(totalmem() / 2 ** 30),
    loadAverageStart,
    loadAverageEnd: loadavg(),
    cpuSource: cpuSource(),
    node: process.version,
    wrangler: await version("wrangler/package.json"),
    miniflare: (JSON.parse(await readFile(fromWrangler.resolve("miniflare/package.json"), "utf8")) as { version: string }).version,
    workerd: await workerdVersion(),
    partyserver: await version("partyserver/package.json"),
    hono: await version("hono/package.json"),
    ws: await version("ws/package.json"),
  };
}

