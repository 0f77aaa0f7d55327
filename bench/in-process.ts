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
 *   node bench/in-process.ts --instructions --base HEAD --targets base-signal,userhub-signal --rounds 6 --round-trips 2000 --pairs userhub-signal/base-signal
 *                                                               instructions instead of CPU time (workerd under valgrind's callgrind,
 *                                                               about 50 times slower), each split into garbage collection,
 *                                                               compilation and the rest, which repeats from round to round to
 *                                                               about 0.5% (bench/harness/instruction-count.ts)
 */
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { appendSection, commandLine } from "./harness/attribution-section.ts";
import { placeProcesses } from "./harness/cpu-placement.ts";
import { BASE_TARGETS, checkedHubs, IN_PROCESS_TARGETS, type InProcessResult, type InProcessTarget, needsBase, pairSpread, roundRatio, runInProcessEcho } from "./harness/in-process-echo.ts";
import { functionKind } from "./harness/instruction-count.ts";
import { median } from "./harness/latency-summary.ts";
import { checkoutRevision, type RevisionCheckout } from "./harness/revision-checkout.ts";

/** How many functions a pair's profile lists that cost more, and fewer. */
const PROFILE_MORE = 25;
const PROFILE_FEWER = 5;

const { values } = parseArgs({
  options: {
    targets: { type: "string", default: IN_PROCESS_TARGETS.join(",") },
    rounds: { type: "string", default: "7" },
    "round-trips": { type: "string", default: "20000" },
    out: { type: "string" },
    pairs: { type: "string", default: "" },
    base: { type: "string" },
    hubs: { type: "string", default: "1" },
    instructions: { type: "boolean", default: false },
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
    count: values.instructions ? "instructions" : "cpu",
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
// Instructions are whole counts; CPU µs keep two decimals.
const digits = values.instructions ? 0 : 2;
const unit = values.instructions ? "instructions" : "µs";
const parts = (r: (typeof rows)[number]) => {
  if (!r.perRoundParts) return undefined;
  const of = (key: "gc" | "compile" | "rest") => median(r.perRoundParts!.map((p) => p[key]));
  return { gc: of("gc"), compile: of("compile"), rest: of("rest"), restPerRound: r.perRoundParts.map((p) => p.rest.toFixed(0)).join(" ") };
};
const counted = values.instructions ? "instr/rt" : "CPU µs/rt";
const partsHead = values.instructions ? `  ${"gc".padStart(7)} ${"compile".padStart(7)} ${"rest".padStart(8)}` : "";
console.log(`\n${"target".padEnd(20)} ${counted.padStart(10)} ${"fast (p10)".padStart(11)} ${`− floor ${unit === "µs" ? "µs" : ""}`.padStart(11)} ${"÷ floor".padStart(8)} ${"÷ floor-log".padStart(12)}${partsHead}  per round${values.instructions ? " (the rest)" : ""}`);
for (const r of rows) {
  const p = parts(r);
  const partsCells = p ? `  ${p.gc.toFixed(0).padStart(7)} ${p.compile.toFixed(0).padStart(7)} ${p.rest.toFixed(0).padStart(8)}` : "";
  const perRoundCells = p ? p.restPerRound : r.perRound.map((x) => x.toFixed(1)).join(" ");
  console.log(`${r.target.padEnd(20)} ${fmt(r.medianUs, digits).padStart(10)} ${fmt(r.fastUs, digits).padStart(11)} ${fmt(r.overFloor, digits).padStart(11)} ${fmt(r.vsFloor, 3).padStart(8)} ${fmt(r.vsLog, 3).padStart(12)}${partsCells}  ${perRoundCells}`);
}
const pairRows = pairs.map(([of, to]) => ({ of, to, ...pairSpread(results, of, to), rest: restSpread(results, of, to) }));
// With instructions counted, where each pair's rest differs, function by function.
const profiles = pairRows.flatMap((p) => {
  const rows = functionDifferences(results, p.of, p.to);
  return rows ? [{ of: p.of, to: p.to, rows }] : [];
});
for (const p of pairRows) {
  const rest = p.rest ? `; the rest ${signed(p.rest.difference, 0)} (quartiles ${signed(p.rest.q1, 0)} to ${signed(p.rest.q3, 0)})` : "";
  console.log(`${p.of} ÷ ${p.to}: ${p.median.toFixed(3)} (quartiles ${p.q1.toFixed(3)}–${p.q3.toFixed(3)}), ${signed(p.differenceUs, digits)} ${unit}${rest}`);
}
for (const profile of profiles) {
  console.log(`\n${profile.of} − ${profile.to}, the rest by function (instructions per round trip, the mean of the rounds; the ${PROFILE_MORE} most more, the ${PROFILE_FEWER} most fewer):`);
  for (const row of profile.rows) console.log(`${signed(row.difference, 0).padStart(8)} ${row.to.toFixed(0).padStart(7)} → ${row.of.toFixed(0).padStart(7)}  ${row.name.slice(0, 150)}`);
}
console.log(`\nload average ${startLoad} at the start, ${load()} at the end`);
if (values.out) {
  await appendSection(
    values.out,
    command,
    `In one workerd process${values.instructions ? ", run under valgrind's callgrind, counting instructions (bench/harness/instruction-count.ts)" : ""}${base ? `, \`base-*\` the demo UserHub at ${base.commit.slice(0, 7)} bundled beside this tree's` : ""}, medians of ${values.rounds} interleaved rounds of ${values["round-trips"]} round trips each, each round's figure read between two marks around its round trips (connecting and closing left out)${hubs > 1 ? `, each round's round trips taken in turn by one socket to each of ${hubs} hubs` : ""} (ratios: the median of per-round ratios); load average ${startLoad} at the start, ${load()} at the end.`,
    [
      values.instructions
        ? "| target | instructions per round trip | fewest rounds (10th percentile) | − floor | ÷ floor | ÷ floor-log | in garbage collection | in compilation | the rest | the rest, per round |"
        : "| target | CPU µs per round trip | fast rounds (10th percentile) | − floor (µs) | ÷ floor | ÷ floor-log | per round |",
      values.instructions ? "| :--- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :--- |" : "| :--- | ---: | ---: | ---: | ---: | ---: | :--- |",
      ...rows.map((r) => {
        const p = parts(r);
        const cells = p ? `${p.gc.toFixed(0)} | ${p.compile.toFixed(0)} | ${p.rest.toFixed(0)} | ${p.restPerRound}` : r.perRound.map((x) => x.toFixed(1)).join(" ");
        return `| \`${r.target}\` | ${fmt(r.medianUs, digits)} | ${fmt(r.fastUs, digits)} | ${fmt(r.overFloor, digits)} | ${fmt(r.vsFloor, 3)} | ${fmt(r.vsLog, 3)} | ${cells} |`;
      }),
      ...(pairRows.length === 0
        ? []
        : [
            "",
            `| pair | median of per-round ratios | quartiles | median of per-round differences (${unit}) |${values.instructions ? " the rest's (quartiles) |" : ""}`,
            `| :--- | ---: | :--- | ---: |${values.instructions ? " ---: |" : ""}`,
            ...pairRows.map(
              (p) =>
                `| \`${p.of}\` ÷ \`${p.to}\` | ${p.median.toFixed(3)} | ${p.q1.toFixed(3)}–${p.q3.toFixed(3)} | ${signed(p.differenceUs, digits)} |${p.rest ? ` ${signed(p.rest.difference, 0)} (${signed(p.rest.q1, 0)} to ${signed(p.rest.q3, 0)}) |` : ""}`,
            ),
          ]),
      ...profiles.flatMap((profile) => [
        "",
        `\`${profile.of}\` − \`${profile.to}\`, the rest by function (instructions per round trip, the mean of the rounds; the ${PROFILE_MORE} most more, the ${PROFILE_FEWER} most fewer; JavaScript named from V8's perf map and the bundle's source map, by its source file):`,
        "",
        `| function | \`${profile.to}\` | \`${profile.of}\` | difference |`,
        "| :--- | ---: | ---: | ---: |",
        ...profile.rows.map((row) => `| \`${row.name.replaceAll("|", "\\|").replaceAll("`", "'").slice(0, 150)}\` | ${row.to.toFixed(0)} | ${row.of.toFixed(0)} | ${signed(row.difference, 0)} |`),
      ]),
    ],
    started,
  );
  console.log(`appended to ${values.out}`);
}

function signed(n: number, digits: number): string {
  return `${n >= 0 ? "+" : ""}${n.toFixed(digits)}`;
}

/** With instructions counted: the median and quartiles of the per-round differences of the rest (neither GC nor compilation), as pairSpread takes them. */
function restSpread(results: readonly InProcessResult[], of: InProcessTarget, to: InProcessTarget): { difference: number; q1: number; q3: number } | undefined {
  if (!results.find((r) => r.target === of)?.perRoundParts || !results.find((r) => r.target === to)?.perRoundParts) return undefined;
  const rests = results.map((r) => ({ ...r, perRound: r.perRoundParts?.map((p) => p.rest) ?? [] }));
  const spread = pairSpread(rests, of, to);
  return { difference: spread.differenceUs, q1: spread.differenceQ1Us, q3: spread.differenceQ3Us };
}


/** With instructions counted: the functions of the rest (neither GC nor compilation) whose instructions differ most between `of` and `to`. */
function functionDifferences(results: readonly InProcessResult[], of: InProcessTarget, to: InProcessTarget): { name: string; of: number; to: number; difference: number }[] | undefined {
  const a = results.find((r) => r.target === of)?.functions;
  const b = results.find((r) => r.target === to)?.functions;
  if (!a || !b) return undefined;
  const rows = [...new Set([...a.keys(), ...b.keys()])]
    .filter((name) => functionKind(name) === "rest")
    .map((name) => ({ name, of: a.get(name) ?? 0, to: b.get(name) ?? 0 }))
    .map((row) => ({ ...row, difference: row.of - row.to }))
    .sort((x, y) => y.difference - x.difference);
  return [...rows.slice(0, PROFILE_MORE), ...rows.slice(Math.max(PROFILE_MORE, rows.length - PROFILE_FEWER))];
}
