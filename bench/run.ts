/**
 * `npm run bench`: userhub against the platform floor and its peers, side by
 * side in one run. Prints progress and a table, writes
 * bench/results/latest.json, latest.md and chart.svg.
 *
 *   npm run bench                         the full run (~10 minutes)
 *   npm run bench -- --rounds 1           fewer rounds
 *   npm run bench -- --targets userhub,floor --no-driving
 *   npm run bench -- --storage disk       Durable Object storage on disk instead of /dev/shm
 *   npm run bench -- --smoke --out /tmp/x the smoke-test sizes (writes nothing unless --out is given)
 *   BENCH_PIN_CPUS=off npm run bench     leave every process where the scheduler puts it (cpu-placement.ts)
 *   npm run bench -- --render             rewrite latest.md and chart.svg from latest.json (no run; the goals' words are rebuilt from its fields)
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { BenchOptions, BenchResults } from "./harness/bench-results.ts";
import { FULL, SMOKE } from "./harness/bench-presets.ts";
import { runBench } from "./harness/bench-run.ts";
import { placeProcesses } from "./harness/cpu-placement.ts";
import { checkGoals } from "./harness/goals.ts";
import { directGoals } from "./harness/direct-phase.ts";
import { writeResults } from "./harness/results-files.ts";
import { textTable } from "./harness/results-table.ts";
import { TARGET_NAMES, type TargetName } from "./harness/targets.ts";

const { values } = parseArgs({
  options: {
    smoke: { type: "boolean", default: false },
    rounds: { type: "string" },
    duration: { type: "string" },
    targets: { type: "string" },
    "no-driving": { type: "boolean", default: false },
    storage: { type: "string" },
    out: { type: "string" },
    render: { type: "boolean", default: false },
  },
});

if (values.render) {
  // Only the report's words and chart change: the numbers are the stored run's, and the goals are checked again from them.
  const dir = values.out ?? fileURLToPath(new URL("./results/", import.meta.url));
  const stored = JSON.parse(await readFile(join(dir, "latest.json"), "utf8")) as BenchResults;
  const goals = [
    ...checkGoals(stored.summary, stored.ratios, stored.ratiosToFloorLog ?? {}, stored.options, stored.profile, stored.cost.inputs, stored.userhubDefaults, stored.samples),
    ...(stored.direct ? directGoals(stored.direct) : []),
  ];
  for (const file of await writeResults({ ...stored, goals }, dir)) console.log(`wrote ${file}`);
  process.exit(0);
}

const base = values.smoke ? SMOKE : FULL;
const targets = values.targets ? (values.targets.split(",").map((t) => t.trim()) as TargetName[]) : base.targets;
for (const target of targets) if (!TARGET_NAMES.includes(target)) throw new Error(`unknown target ${target}; known: ${TARGET_NAMES.join(", ")}`);
if (values.storage && values.storage !== "memory" && values.storage !== "disk") throw new Error("--storage is memory or disk");
const options: BenchOptions = {
  ...base,
  targets,
  ...(values.rounds ? { rounds: Number(values.rounds) } : {}),
  ...(values.duration ? { durationMs: Number(values.duration) } : {}),
  ...(values["no-driving"] ? { drivingMethods: false } : {}),
  ...(values.storage ? { storage: values.storage as BenchOptions["storage"] } : {}),
};
const outDir = values.out ?? (values.smoke ? null : fileURLToPath(new URL("./results/", import.meta.url)));
const command = ["npm run bench", ...(process.argv.length > 2 ? ["--", ...process.argv.slice(2)] : [])].join(" ");

// Servers on a CPU of their own, the clients on the others (cpu-placement.ts): the run's ratios then agree round to round.
console.log(placeProcesses().description);
const { results } = await runBench(options, { progress: (line) => console.log(line), command });

console.log("");
console.log(textTable(results));
console.log("");
for (const goal of results.goals) console.log(`${goal.met ? "✓" : "✗"} ${goal.goal}: ${goal.measured}`);
console.log("");
for (const cost of results.cost.targets) {
  console.log(`${cost.target.padEnd(12)} $${Math.round(cost.totalUsd).toLocaleString("en-US")} a month for the scenario ($${cost.usdPerUser.toFixed(4)} per user)`);
}
if (outDir) {
  const files = await writeResults(results, outDir);
  console.log("");
  for (const file of files) console.log(`wrote ${file}`);
}
console.log(`\ndone in ${results.wallSeconds} s`);
