/**
 * `npm run bench:many-users`: one push to many users (`POST /messages`),
 * directly and through a Cloudflare Queue, against a hand-written floor that
 * makes the same Durable Object calls with one SQLite INSERT each (directly,
 * and through a queue of its own with the same batching and concurrency).
 * All four run in one `wrangler dev` (the only local runtime with queues:
 * bench/targets/many-user-push/), each round to fresh users (a hub created
 * per user, as a notification to mostly idle users is). Reported per
 * workload: the median wall time until every user's hub has the push, and the
 * server group's CPU, each as a ratio to its floor in the same round.
 *
 *   node bench/many-user-push.ts [users] [rounds] [--out file.json]
 *
 * Wall time includes the queue's batch wait (max_batch_timeout 1 s) on both
 * queued sides; CPU includes wrangler dev's proxy on every side alike.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { median } from "./harness/latency-summary.ts";
import { storageRoot } from "./harness/storage-root.ts";
import { startWranglerDevServer, type TargetServer } from "./harness/target-server.ts";

const { values, positionals } = parseArgs({ allowPositionals: true, options: { out: { type: "string" } } });
const USERS = Number(positionals[0] ?? 1000);
const ROUNDS = Number(positionals[1] ?? 3);
const CONFIG = fileURLToPath(new URL("./targets/many-user-push/wrangler.toml", import.meta.url));
const PUSH_KEY = "bench-push-key";

type Workload = "floor direct" | "userhub direct" | "floor queued" | "userhub queued";
const WORKLOADS: readonly Workload[] = ["floor direct", "userhub direct", "floor queued", "userhub queued"];
const FLOOR_OF: Record<Workload, Workload> = {
  "floor direct": "floor direct",
  "userhub direct": "floor direct",
  "floor queued": "floor queued",
  "userhub queued": "floor queued",
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function pushCounts(server: TargetServer): Promise<{ userhub: number; floor: number }> {
  return (await (await fetch(`${server.url}/__bench/pushes`)).json()) as { userhub: number; floor: number };
}

/** Runs one workload to `userIds`; resolves once every user's hub has taken the push. */
async function run(server: TargetServer, workload: Workload, userIds: readonly string[], key: string): Promise<void> {
  const side = workload.startsWith("floor") ? "floor" : "userhub";
  const before = (await pushCounts(server))[side];
  const path = { "floor direct": "/floor/direct", "floor queued": "/floor/queued", "userhub direct": "/direct/messages", "userhub queued": "/queued/messages" }[workload];
  const response = await fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${PUSH_KEY}`, "Idempotency-Key": key, "Content-Type": "application/json" },
    body: JSON.stringify({ userIds, data: { text: "to many", key } }),
  });
  const answer = await response.text();
  const expected = workload.endsWith("direct") ? 200 : 202;
  if (response.status !== expected) throw new Error(`${workload}: ${response.status} ${answer}`);
  for (;;) {
    const done = (await pushCounts(server))[side] - before;
    if (done === userIds.length) return;
    if (done > userIds.length) throw new Error(`${workload}: ${done} pushes for ${userIds.length} users`);
    await sleep(20);
  }
}

console.log(`load ${loadavg().map((l) => l.toFixed(2)).join(" ")}; ${USERS} users, ${ROUNDS} rounds`);
// Durable Object storage in memory (/dev/shm), as the main bench keeps it: a new hub per user is mostly its SQLite file.
const dir = await mkdtemp(join(storageRoot("memory"), "userhub-bench-many-"));
const server = await startWranglerDevServer("many-user push", CONFIG, dir, {});
const wallMs: Record<Workload, number[]> = { "floor direct": [], "userhub direct": [], "floor queued": [], "userhub queued": [] };
const cpuMs: Record<Workload, number[]> = { "floor direct": [], "userhub direct": [], "floor queued": [], "userhub queued": [] };
try {
  // A warm-up round, not counted: the first calls compile and start what later rounds reuse.
  for (const workload of WORKLOADS) await run(server, workload, Array.from({ length: 50 }, (_, i) => `warm-${workload.replace(" ", "-")}-${i}`), `warm-${workload.replace(" ", "-")}`);
  for (let round = 0; round < ROUNDS; round++) {
    for (const workload of WORKLOADS) {
      const userIds = Array.from({ length: USERS }, (_, i) => `r${round}-${workload.replace(" ", "-")}-${i}`);
      const cpuBefore = server.usage().cpuMs;
      const start = performance.now();
      await run(server, workload, userIds, `r${round}-${workload.replace(" ", "-")}`);
      wallMs[workload].push(performance.now() - start);
      cpuMs[workload].push(server.usage().cpuMs - cpuBefore);
      console.log(`round ${round + 1} ${workload.padEnd(15)} ${Math.round(wallMs[workload].at(-1)!)} ms wall, ${Math.round(cpuMs[workload].at(-1)!)} ms CPU`);
    }
  }
} finally {
  await server.stop();
}

/** The median over rounds of a workload's figure divided by its floor's in the same round. */
const ratio = (figures: Record<Workload, number[]>, workload: Workload) => median(figures[workload].map((value, round) => value / figures[FLOOR_OF[workload]][round]!));
const rows = WORKLOADS.map((workload) => ({
  workload,
  floor: FLOOR_OF[workload],
  wallMs: Math.round(median(wallMs[workload])),
  cpuMs: Math.round(median(cpuMs[workload])),
  cpuMsPerUser: Number((median(cpuMs[workload]) / USERS).toFixed(3)),
  wallRatio: Number(ratio(wallMs, workload).toFixed(2)),
  cpuRatio: Number(ratio(cpuMs, workload).toFixed(2)),
}));
console.log("");
console.log(`${"workload".padEnd(16)}${"wall ms".padStart(9)}${"CPU ms".padStart(9)}${"CPU ms/user".padStart(13)}  ratio to its floor (wall, CPU)`);
for (const row of rows) {
  console.log(`${row.workload.padEnd(16)}${String(row.wallMs).padStart(9)}${String(row.cpuMs).padStart(9)}${row.cpuMsPerUser.toFixed(3).padStart(13)}  ×${row.wallRatio.toFixed(2)}, ×${row.cpuRatio.toFixed(2)} (${row.floor})`);
}
console.log(`load ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
if (values.out) {
  await writeFile(values.out, `${JSON.stringify({ users: USERS, rounds: ROUNDS, at: new Date().toISOString(), load: loadavg(), rows, wallMs, cpuMs }, null, 2)}\n`);
  console.log(`wrote ${values.out}`);
}
