/**
 * `node bench/hot-path.ts`: only the hot-path goals of the bench (echo of
 * `send` and `signal` against the floor and floor + log, and a message to a
 * hibernated hub), in a few minutes instead of the full run's eight, for
 * trying a change. Same harness, same servers, same per-round ratios; it
 * writes nothing.
 *
 *   node bench/hot-path.ts                          5 rounds of echo ×1/×10/×100, then cold wakes
 *   node bench/hot-path.ts --rounds 3 --connections 10 --no-cold
 *   node bench/hot-path.ts --targets floor,floor-json,userhub-signal --connections 10 --no-cold --per-round   each round's ratio too
 *   node bench/hot-path.ts --targets userhub,floor-log --profile
 *   node bench/hot-path.ts --targets userhub --rounds 0 --no-cold --profile-cold   the profile of messages to hibernated hubs
 *   node bench/hot-path.ts --targets userhub,floor-log --rounds 0 --cold-log-fill 0   cold wakes with userhub's log empty, as the floor + log's is
 *
 * userhub taken apart (targets in ATTRIBUTION_TARGETS), each table appended to a file with --out:
 *
 *   node bench/hot-path.ts --targets floor,floor-json,userhub-floor-loop,userhub-admission,userhub-signal --rounds 8 --connections 10 --duration 3000 --no-cold --out bench/results/attribution.md
 *   node bench/hot-path.ts --targets floor-log,layout-insert,layout-rekey,layout-slot,userhub --rounds 8 --connections 10 --duration 3000 --no-cold --out bench/results/attribution.md
 *   node bench/hot-path.ts --targets floor-log,floor-log-alarm,wake-built,wake-log,wake-deliver,userhub --rounds 0 --cold-iterations 128 --out bench/results/attribution.md   a message to a hibernated hub
 */
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { appendSection, commandLine } from "./harness/attribution-section.ts";
import { FULL } from "./harness/bench-presets.ts";
import { median } from "./harness/latency-summary.ts";
import { placeProcesses } from "./harness/cpu-placement.ts";
import { storageRoot } from "./harness/storage-root.ts";
import { bundleTargets, startTarget } from "./harness/target-launcher.ts";
import type { TargetServer } from "./harness/target-server.ts";
import { TARGETS, type TargetName } from "./harness/targets.ts";
import { runColdWakes, runColdWakesSideBySide, type WakeCost } from "./harness/workloads/cold-wakes.ts";
import { type EchoSample, runEchoRound } from "./harness/workloads/echo.ts";
import { profileHotPath } from "./harness/workloads/hot-path-profile.ts";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "5" },
    connections: { type: "string", default: "1,10,100" },
    targets: { type: "string", default: "userhub,userhub-signal,floor,floor-log" },
    duration: { type: "string", default: String(FULL.durationMs) },
    /** Turns each target takes per round, `duration / slices` each (as the full run's echo). */
    slices: { type: "string", default: String(FULL.echoSlices) },
    "no-cold": { type: "boolean", default: false },
    "cold-iterations": { type: "string", default: String(FULL.coldIterations) },
    "cold-log-fill": { type: "string", default: String(FULL.coldLogFill) },
    profile: { type: "boolean", default: false },
    /** Each target's CPU ÷ the floor's, round by round, under its row: how far the rounds agree. */
    "per-round": { type: "boolean", default: false },
    "profile-cold": { type: "boolean", default: false },
    /** A markdown file the echo table is appended to (with the command, the time and the load). */
    out: { type: "string" },
  },
});

const names = values.targets.split(",") as TargetName[];
const targets = names.map((name) => TARGETS[name]);
const rounds = Number(values.rounds);
/** How this run was asked for, as the tables written with --out name it. */
const command = commandLine("bench/hot-path.ts");
const connectionCounts = values.connections.split(",").map(Number);
const root = storageRoot("memory");
const bundleDir = await mkdtemp(join(tmpdir(), "userhub-hot-path-"));
const load = () => loadavg().map((l) => l.toFixed(2)).join(" ");
const startLoad = load();
console.log(`load average ${startLoad}; ${placeProcesses().description}`);
const bundles = await bundleTargets(targets, bundleDir);
const live: TargetServer[] = [];
const fmt = (n: number, digits = 0) => (Number.isNaN(n) ? "n/a" : n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }));

try {
  const servers = new Map<TargetName, TargetServer>();
  for (const target of targets) {
    const server = await startTarget(target, "throughput", FULL.heartbeat, bundles, root);
    live.push(server);
    servers.set(target.name, server);
  }
  const samples = new Map<string, EchoSample[]>();
  for (let round = 0; round < rounds; round++) {
    for (const [index, connections] of connectionCounts.entries()) {
      const shift = (round + index) % targets.length;
      const order = [...targets.slice(shift), ...targets.slice(0, shift)];
      const got = await runEchoRound(order.map((target) => ({ server: servers.get(target.name)!, target })), {
        connections,
        slices: Number(values.slices),
        warmupMs: FULL.warmupMs,
        durationMs: Number(values.duration),
        userPrefix: `hp${connections}-r${round}`,
      });
      order.forEach((target, i) => {
        const key = `${target.name}@${connections}`;
        samples.set(key, [...(samples.get(key) ?? []), got[i]!]);
      });
    }
    console.log(`round ${round + 1}/${rounds} done, load ${load()}`);
  }
  const ratio = (name: string, to: string, connections: number, pick: (s: EchoSample) => number) => {
    const mine = samples.get(`${name}@${connections}`);
    const theirs = samples.get(`${to}@${connections}`);
    if (!mine || !theirs) return Number.NaN;
    return median(mine.map((s, i) => pick(s) / pick(theirs[i]!)));
  };
  console.log("\ntarget           conns   rt/s (median)   CPU ms/1k   rt/s ÷ floor   rt/s ÷ floor-log   CPU ÷ floor   CPU ÷ floor-log");
  const rows: string[][] = [];
  for (const connections of connectionCounts) {
    for (const target of targets) {
      const runs = samples.get(`${target.name}@${connections}`);
      if (!runs) continue;
      const rt = (s: EchoSample) => s.perSecond;
      const cpu = (s: EchoSample) => s.cpuMsPer1k;
      const row = [
        target.name,
        String(connections),
        fmt(median(runs.map(rt))),
        fmt(median(runs.map(cpu)), 1),
        fmt(ratio(target.name, "floor", connections, rt), 2),
        fmt(ratio(target.name, "floor-log", connections, rt), 2),
        fmt(ratio(target.name, "floor", connections, cpu), 2),
        fmt(ratio(target.name, "floor-log", connections, cpu), 2),
      ];
      const floorRuns = samples.get(`floor@${connections}`);
      const perRound = floorRuns && target.name !== "floor" ? runs.map((s, i) => (cpu(s) / cpu(floorRuns[i]!)).toFixed(2)).join(" ") : "";
      rows.push([...row, perRound]);
      const widths = [16, 5, 15, 11, 14, 18, 13, 17];
      console.log(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join(" "));
      if (values["per-round"] && perRound) console.log(`  CPU ÷ floor per round: ${perRound}`);
    }
  }
  if (values.out && rows.length > 0) {
    const table = [
      "| target | what it is | conns | round trips/s | CPU ms / 1k | ÷ floor (rt/s) | ÷ floor-log (rt/s) | ÷ floor (CPU) | ÷ floor-log (CPU) | ÷ floor (CPU), per round |",
      "| :--- | :--- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :--- |",
      ...rows.map(([name, ...cells]) => `| \`${name}\` | ${TARGETS[name as TargetName].label} | ${cells.join(" | ")} |`),
    ];
    await appendSection(
      values.out,
      command,
      `Medians of ${rounds} rounds, every target taking ${values.slices} turn${values.slices === "1" ? "" : "s"} in each (ratios: the median of per-round ratios); load average ${startLoad} at the start, ${load()} at the end; ${placeProcesses().description}.`,
      table,
    );
  }
  for (const server of live.splice(0)) await server.stop();

  if (!values["no-cold"]) {
    console.log("\ncold wakes (a message to a hub in memory / to a hibernated hub)");
    const coldTargets = targets.filter((t) => t.name !== "userhub-signal" && t.hibernates);
    const coldServers = await Promise.all(coldTargets.map((target) => startTarget(target, "idle", FULL.heartbeat, bundles, root)));
    live.push(...coldServers);
    const cold = await runColdWakesSideBySide(
      coldTargets.map((target, i) => ({ target, server: coldServers[i]! })),
      { hubs: FULL.coldHubs, warmIterations: FULL.coldWarmIterations, iterations: Number(values["cold-iterations"]), logFill: Number(values["cold-log-fill"]), userPrefix: "cold" },
    );
    const line = (c: WakeCost) =>
      `${c.cpuMsPerMessage.toFixed(3)} CPU ms, ${c.statementsPerMessage.toFixed(2)} statements, ${c.rowsReadPerMessage.toFixed(2)} read, ${c.rowsWrittenPerMessage.toFixed(3)} written`;
    for (const target of coldTargets) {
      const sample = cold[target.name]!;
      const byRound = sample.coldCpuMsPerRound;
      console.log(`${target.name.padEnd(16)} warm: ${line(sample.warm)} | cold: ${line(sample.cold)} (per round ${Math.min(...byRound).toFixed(2)}–${Math.max(...byRound).toFixed(2)})`);
    }
    const base = cold["floor-log"];
    const table = ["| target | what it is | cold: CPU ms per message | statements | rows read | rows written | ÷ floor-log (CPU, median of rounds) | per round |", "| :--- | :--- | ---: | ---: | ---: | ---: | ---: | :--- |"];
    for (const target of coldTargets) {
      const sample = cold[target.name]!;
      const byRound = base ? sample.coldCpuMsPerRound.map((v, i) => v / base.coldCpuMsPerRound[i]!) : [];
      if (base) console.log(`${target.name.padEnd(16)} cold CPU ÷ floor-log: median ${median(byRound).toFixed(2)}, per round ${Math.min(...byRound).toFixed(2)}–${Math.max(...byRound).toFixed(2)}`);
      const c = sample.cold;
      table.push(
        `| \`${target.name}\` | ${target.label} | ${c.cpuMsPerMessage.toFixed(3)} | ${c.statementsPerMessage.toFixed(2)} | ${c.rowsReadPerMessage.toFixed(1)} | ${c.rowsWrittenPerMessage.toFixed(3)} | ${base ? median(byRound).toFixed(2) : "n/a"} | ${base ? `${Math.min(...byRound).toFixed(2)}–${Math.max(...byRound).toFixed(2)}` : "n/a"} |`,
      );
    }
    if (values.out) {
      await appendSection(
        values.out,
        command,
        `Messages to hibernated hubs: ${FULL.coldHubs} hubs per target, ${values["cold-iterations"]} interleaved rounds (each hub evicted, then sent one message), its log filled with ${values["cold-log-fill"]} deliveries first; load average ${load()} at the end.`,
        table,
      );
    }
    for (const server of live.splice(0)) await server.stop();
  }

  if (values.profile) {
    const server = await startTarget(TARGETS[names[0]!], "throughput", FULL.heartbeat, bundles, root, { inspect: true });
    live.push(server);
    const profile = await profileHotPath(server, TARGETS[names[0]!], { connections: 10, warmupMs: FULL.warmupMs, durationMs: FULL.profileMs, top: 25 });
    console.log(`\nprofile of ${names[0]} (${profile.samples} samples): self / with callees`);
    for (const e of profile.bySelf) console.log(`${e.name.padEnd(28)} ${e.selfPercent.toFixed(1).padStart(5)}% ${e.totalPercent.toFixed(1).padStart(5)}%`);
    console.log("with callees:");
    for (const e of profile.byTotal) console.log(`${e.name.padEnd(28)} ${e.selfPercent.toFixed(1).padStart(5)}% ${e.totalPercent.toFixed(1).padStart(5)}%`);
  }
  if (values["profile-cold"]) {
    const target = TARGETS[names[0]!];
    const server = await startTarget(target, "idle", FULL.heartbeat, bundles, root, { inspect: true });
    live.push(server);
    const users = Array.from({ length: FULL.coldHubs }, (_, i) => `pcold-${i}`);
    const className = Object.values(target.durableObjects ?? {})[0]!;
    // The logs are filled (and the cold path warmed) before the profiler starts: only messages are sampled.
    await runColdWakes(server, target, { hubs: users.length, warmIterations: 1, iterations: 2, logFill: FULL.coldLogFill, userPrefix: "pcold" });
    const profile = await profileHotPath(server, target, { connections: 1, warmupMs: FULL.warmupMs, durationMs: FULL.profileMs, top: 30 }, async () => {
      // Only the messages are sampled between evictions' waits; the evictions themselves run in the host, not the isolate.
      const cold = await runColdWakes(server, target, { hubs: users.length, warmIterations: 0, iterations: 60, logFill: 0, userPrefix: "pcold" });
      return cold.cold.messages;
    });
    console.log(`\nprofile of ${names[0]}, messages to hibernated hubs (${profile.samples} samples): self / with callees`);
    for (const e of profile.bySelf) console.log(`${e.name.padEnd(28)} ${e.selfPercent.toFixed(1).padStart(5)}% ${e.totalPercent.toFixed(1).padStart(5)}%`);
    console.log("with callees:");
    for (const e of profile.byTotal) console.log(`${e.name.padEnd(28)} ${e.selfPercent.toFixed(1).padStart(5)}% ${e.totalPercent.toFixed(1).padStart(5)}%`);
  }
} finally {
  await Promise.allSettled(live.map((server) => server.stop()));
  await rm(bundleDir, { recursive: true, force: true });
  console.log(`\nload average ${load()}`);
}
