/**
 * `node bench/log-strategies.ts`: what each way of keeping a bounded log in
 * a Durable Object's SQLite costs, apart from any framework (the floor's
 * Worker with one write per frame, bench/targets/log-strategies/worker.js):
 * server CPU per write and SQLite rows written and read per write, each
 * strategy on its own server, its log filled past its 1,000-row ring first.
 *
 *   insert         INSERT of 3 columns, never pruned (floor + log's write)
 *   wide           INSERT of userhub's 6 columns, never pruned
 *   rekey          userhub's ring: UPDATE of the oldest row, giving it the new seq (its key)
 *   slot           a ring keyed by seq mod 1,000: UPDATE of the slot's row in place
 *   insert-delete  INSERT, then a batched DELETE once 62 rows past the bound
 *
 *   node bench/log-strategies.ts [strategies] [writes] [rounds]          writes in one event each round: the statements' cost
 *   node bench/log-strategies.ts insert,rekey 2000 5 events              one write per request: with the runtime's per-event commit
 *   node bench/log-strategies.ts insert,rekey 10 7 echo                  the echo at 10 connections, a write per frame (CPU per round trip)
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir, loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { storageRoot } from "./harness/storage-root.ts";
import { bundleTargets, startTarget } from "./harness/target-launcher.ts";
import type { Target } from "./harness/targets.ts";
import { median } from "./harness/latency-summary.ts";
import { runEcho } from "./harness/workloads/echo.ts";
const strategies = (process.argv[2] ?? "insert,wide,rekey,slot,insert-delete").split(",");
const n = Number(process.argv[3] ?? 20000); const rounds = Number(process.argv[4] ?? 7);
const entry = fileURLToPath(new URL("./targets/log-strategies/worker.js", import.meta.url));
const targets = strategies.map((s) => ({
  name: s,
  label: s,
  role: "attribution",
  kind: "edge",
  hibernates: true,
  entry,
  durableObjects: { LOG_HUB: "LogHub" },
  bindings: () => ({ LOG_STRATEGY: s }),
  socketRequest: async (user: string) => ({ path: `/ws/${user}` }),
  greets: false,
  isDelivery: (text: string) => text !== "pong",
})) as unknown as Target[];
const mode = process.argv[5] ?? "statements";
console.log("load", loadavg().map((l) => l.toFixed(2)).join(" "));
const bundles = await bundleTargets(targets, await mkdtemp(join(tmpdir(), "st-")));
const servers = await Promise.all(targets.map((t) => startTarget(t, "throughput", { intervalMs: 1000, timeoutMs: 3000 }, bundles, storageRoot("memory"))));
const us: Record<string, number[]> = {};
try {
  for (const s of servers) await (await fetch(`${s.url}/loop/h?loop=2000`)).text(); // fill past the ring
  for (let r = 0; r < rounds; r++) {
    for (const [i, t] of targets.entries()) {
      const before = servers[i]!.usage().cpuMs; const n0 = (await (await fetch(`${servers[i]!.url}/__rows`)).json()) as { written: number; messages: number };
      if (mode === "echo") {
        // The same users every round: their logs stay full (the first round fills them past the ring and is not counted).
        const sample = await runEcho(servers[i]!, t, { connections: n, warmupMs: 300, durationMs: 1500, userPrefix: "echo" });
        if (r > 0) (us[t.name] ??= []).push(sample.cpuMsPer1k);
        continue;
      }
      if (mode === "events") for (let k = 0; k < n; k++) await (await fetch(`${servers[i]!.url}/loop/h?loop=1`)).text();
      else await (await fetch(`${servers[i]!.url}/loop/h?loop=${n}`)).text();
      (us[t.name] ??= []).push(((servers[i]!.usage().cpuMs - before) * 1000) / n);
    }
  }
  for (const [i, t] of targets.entries()) {
    const rows = (await (await fetch(`${servers[i]!.url}/__rows`)).json()) as { written: number; read: number; messages: number };
    const ratio = median(us[t.name]!.map((u, k) => u / us[targets[0]!.name]![k]!));
    console.log(`${t.name.padEnd(14)} ${median(us[t.name]!).toFixed(2).padStart(6)} µs CPU per ${mode === "echo" ? "round trip" : "write"} (×${targets[0]!.name} ${ratio.toFixed(2)}), rows written/write ${(rows.written / rows.messages).toFixed(3)}, read ${(rows.read / rows.messages).toFixed(2)}`);
  }
} finally { await Promise.allSettled(servers.map((s) => s.stop())); }
console.log("load", loadavg().map((l) => l.toFixed(2)).join(" "));
