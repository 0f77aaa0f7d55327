/**
 * `node bench/in-process.ts`: the in-process echo (bench/harness/
 * in-process-echo.ts), userhub beside the floor in one workerd process, CPU
 * per round trip: the median of rounds, and their 10th percentile (the
 * machine switches between a fast regime and a slower one for rounds at a
 * time; in-process-echo.ts). For taking apart a few percent the network echo
 * cannot resolve; it sets no goal and writes nothing unless asked.
 *
 *   node bench/in-process.ts                                    every target, 7 rounds of 20,000 round trips
 *   node bench/in-process.ts --targets floor,userhub-signal --rounds 41 --round-trips 6000   short rounds: more of them in each regime
 *   node bench/in-process.ts --out bench/results/attribution.md  the table appended, with the command and the load
 *   node bench/in-process.ts --targets floor-json,userhub-signal --rounds 201 --round-trips 2000 --pairs userhub-signal/floor-json
 *                                                               many short rounds, and the per-round ratio of each pair named
 *   node bench/in-process.ts --targets floor-json,userhub-signal --round-trips 20000 --rounds 21 --hubs 100
 *                                                               each frame to another of 100 hubs, as at 100 connections
 *   node bench/in-process.ts --base HEAD~1 --targets base-send,userhub,base-signal,userhub-signal --rounds 301 --round-trips 1500 --pairs userhub/base-send,userhub-signal/base-signal
 *                                                               a change against the code before it: HEAD~1's demo UserHub
 *                                                               (a git worktree, removed after) bundled beside this tree's
 */
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { appendSection, commandLine } from "./harness/attribution-section.ts";
import { placeProcesses } from "./harness/cpu-placement.ts";
import { BASE_TARGETS, checkedHubs, IN_PROCESS_TARGETS, type InProcessTarget, needsBase, pairSpread, roundRatio, runInProcessEcho } from "./harness/in-process-echo.ts";
import { checkoutRevision, type RevisionCheckout } from "./harness/revision-checkout.ts";

const { values } = parseArgs({
  options: {
    targets: { type: "string", default: IN_PROCESS_TARGETS.join(",") },
    rounds: { type: "string", default: "7" },
    "round-trips": { type: "string", default: "20000" },
    out: { type: "string" },
    pairs: { type: "string", default: "" },
    base: { type: "string" },
    hubs: { type: "string", default: "1" },
  },
});
const targets = values.targets.split(",") as InProcessTarget[];
// Checked before a base revision is checked out, so a wrong value costs nothing.
const hubs = checkedHubs(Number(values.hubs));
const known: readonly InProcessTarget[] = [...IN_PROCESS_TARGETS, ...BASE_TARGETS];
for (const target of targets) if (!known.includes(target)) throw new Error(`unknown target ${target}; one of ${known.join(", ")}`);
if (needsBase(targets) !== (values.base !== undefined)) {
  throw new Error(`${BASE_TARGETS.join(" and ")} go with --base <rev>, and --base with at least one of them`);
}
const pairs = values.pairs.split(",").filter(Boolean).map((pair) => pair.split("/") as [InProcessTarget, InProcessTarget]);
for (const pair of pairs) if (pair.length !== 2 || !pair.every((t) => targets.includes(t))) throw new Error(`--pairs takes a/b of targets this run measures, not ${pair.join("/")}`);
const load = () => loadavg().map((l) => l.toFixed(2)).join(" ");
const command = commandLine("bench/in-process.ts");
const startLoad = load();
console.log(placeProcesses().description);
const started = new Date();
let base: RevisionCheckout | undefined;
let results: Awaited<ReturnType<typeof runInProcessEcho>>;
try {
  base = values.base === undefined ? undefined : await checkoutRevision(values.base);
  if (base) console.log(`base: ${values.base} (${base.commit.slice(0, 7)}), checked out at ${base.root}`);
  results = await runInProcessEcho({
    targets,
    rounds: Number(values.rounds),
    roundTrips: Number(values["round-trips"]),
    hubs,
    progress: (line) => console.log(`${line}, load ${load()}`),
    ...(base ? { baseRoot: base.root } : {}),
  });
} finally {
  await base?.remove();
}
// A ratio or difference to a floor this run did not measure is NaN ("n/a").
const floorUs = results.find((r) => r.target === "floor")?.medianUs ?? Number.NaN;
const rows = results.map((r) => ({ ...r, vsFloor: roundRatio(results, r.target, "floor"), vsLog: roundRatio(results, r.target, "floor-log"), overFloor: r.medianUs - floorUs }));
const fmt = (n: number, digits: number) => (Number.isNaN(n) ? "n/a" : n.toFixed(digits));
console.log(`\n${"target".padEnd(20)} ${"CPU µs/rt".padStart(10)} ${"fast (p10)".padStart(11)} ${"− floor µs".padStart(11)} ${"÷ floor".padStart(8)} ${"÷ floor-log".padStart(12)}  per round`);
for (const r of rows) {
  console.log(`${r.target.padEnd(20)} ${fmt(r.medianUs, 2).padStart(10)} ${fmt(r.fastUs, 2).padStart(11)} ${fmt(r.overFloor, 2).padStart(11)} ${fmt(r.vsFloor, 3).padStart(8)} ${fmt(r.vsLog, 3).padStart(12)}  ${r.perRound.map((x) => x.toFixed(1)).join(" ")}`);
}
const pairRows = pairs.map(([of, to]) => ({ of, to, ...pairSpread(results, of, to) }));
for (const p of pairRows) {
  console.log(`${p.of} ÷ ${p.to}: ${p.median.toFixed(3)} (quartiles ${p.q1.toFixed(3)}–${p.q3.toFixed(3)}), ${p.differenceUs >= 0 ? "+" : ""}${p.differenceUs.toFixed(2)} µs`);
}
console.log(`\nload average ${startLoad} at the start, ${load()} at the end`);
if (values.out) {
  await appendSection(
    values.out,
    command,
    `In one workerd process${base ? `, \`base-*\` the demo UserHub at ${base.commit.slice(0, 7)} bundled beside this tree's` : ""}, medians of ${values.rounds} interleaved rounds of ${values["round-trips"]} round trips each, each round's figure read between two marks around its round trips (connecting and closing left out)${hubs > 1 ? `, each round's round trips taken in turn by one socket to each of ${hubs} hubs` : ""} (ratios: the median of per-round ratios); load average ${startLoad} at the start, ${load()} at the end.`,
    [
      "| target | CPU µs per round trip | fast rounds (10th percentile) | − floor (µs) | ÷ floor | ÷ floor-log | per round |",
      "| :--- | ---: | ---: | ---: | ---: | ---: | :--- |",
      ...rows.map((r) => `| \`${r.target}\` | ${fmt(r.medianUs, 2)} | ${fmt(r.fastUs, 2)} | ${fmt(r.overFloor, 2)} | ${fmt(r.vsFloor, 3)} | ${fmt(r.vsLog, 3)} | ${r.perRound.map((x) => x.toFixed(1)).join(" ")} |`),
      ...(pairRows.length === 0
        ? []
        : [
            "",
            "| pair | median of per-round ratios | quartiles | median of per-round differences (µs) |",
            "| :--- | ---: | :--- | ---: |",
            ...pairRows.map((p) => `| \`${p.of}\` ÷ \`${p.to}\` | ${p.median.toFixed(3)} | ${p.q1.toFixed(3)}–${p.q3.toFixed(3)} | ${p.differenceUs.toFixed(2)} |`),
          ]),
    ],
    started,
  );
  console.log(`appended to ${values.out}`);
}
