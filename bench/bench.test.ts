/**
 * The bench's smoke run (under 30 s on a quiet machine): the whole harness
 * (bundling, servers in their own process groups, every workload but the
 * driving comparison and the profile, the hot path in one process, medians, ratios, goals, cost model,
 * the report files) with the tiniest counts, against userhub and the floor,
 * so it cannot rot. It checks the shape of what comes out, not performance,
 * and that every process and temporary directory this run made is gone
 * (only this run's: another bench may be running beside it).
 */
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SMOKE } from "./harness/bench-presets.ts";
import { runBench } from "./harness/bench-run.ts";
import { processGroupAlive } from "../test/support/process-group.ts";
import { writeResults } from "./harness/results-files.ts";
import { textTable } from "./harness/results-table.ts";
import { workerdChildren } from "./harness/in-process-echo.ts";

const isNumber = (value: unknown) => typeof value === "number" && Number.isFinite(value);

describe("bench harness, smoke run", () => {
  // The run takes about 30 s on this shared 2-core machine under load; the timeout is a safety net, not a measurement.
  it("measures userhub and the floor, computes ratios, goals and costs, writes its files, and leaves nothing behind", { timeout: 90_000 }, async () => {
    const progress: string[] = [];
    const { results, processGroups, directories } = await runBench(SMOKE, { progress: (line) => progress.push(line), command: "bench smoke test" });

    expect(progress.length).toBeGreaterThan(5);
    for (const name of ["userhub", "floor"] as const) {
      const summary = results.summary[name]!;
      for (const connections of SMOKE.echoConnections) {
        const echo = summary.echo[String(connections)]!;
        expect(echo.perSecond, `${name} echo ×${connections}`).toBeGreaterThan(0);
        expect(isNumber(echo.p50Ms) && isNumber(echo.p99Ms) && isNumber(echo.cpuMsPer1k)).toBe(true);
      }
      expect(summary.fanOut!.p50Ms).toBeGreaterThan(0);
      expect(summary.push!.perSecond).toBeGreaterThan(0);
      expect(isNumber(summary.idle!.kbPerConnection) && isNumber(summary.idle!.cpuMsPerConnect)).toBe(true);
      expect(isNumber(summary.wakes!.wakesPerPing) && isNumber(summary.wakes!.alarmsPerHubPerTimeout)).toBe(true);
      expect(summary.coldWake!.cold.constructedPerMessage).toBeGreaterThan(0);
    }
    // The targets that take userhub apart run only their phase: the echo (floor + JSON, userhub's row in its ring in the
    // floor's object and in userhub's), or cold wakes.
    for (const name of ["floor-json", "floor-ring", "layout-slot"] as const) {
      expect(results.summary[name]!.echo["1"]!.perSecond, `${name} echo`).toBeGreaterThan(0);
      expect(results.summary[name]!.fanOut, `${name} fan-out`).toBeNull();
      expect(results.summary[name]!.coldWake, `${name} cold wakes`).toBeNull();
    }
    for (const name of ["floor-log-alarm", "wake-built", "wake-log", "wake-deliver"] as const) {
      expect(results.summary[name]!.echo, `${name} echo`).toEqual({});
      expect(results.summary[name]!.coldWake!.cold.constructedPerMessage, `${name} cold wakes`).toBeGreaterThan(0);
    }
    // wake-log writes a woken hub's delivery as userhub's log does (the same statements, the same rows read, from the seq
    // its socket remembers, kept there as the hub keeps it), and so does the hub's deliver; wake-built makes a table, then INSERTs.
    const cold = (name: "wake-built" | "wake-log" | "wake-deliver" | "userhub") => results.summary[name]!.coldWake!.cold;
    expect(cold("wake-built").statementsPerMessage).toBeCloseTo(2);
    for (const name of ["wake-log", "wake-deliver"] as const) {
      expect(cold(name).statementsPerMessage, name).toBeCloseTo(cold("userhub").statementsPerMessage);
      expect(cold(name).rowsReadPerMessage, name).toBeCloseTo(cold("userhub").rowsReadPerMessage);
    }
    // A miss the run took apart says so, with the parts' ratios, and says whether the part written by hand alone meets the
    // goal (the miss is userhub's) or misses it too (the platform's).
    const takenApart: Record<string, { part: string; handWritten: string }> = {
      "signal-echo-1": { part: "`floor-json`", handWritten: "`floor-json`" },
      "signal-cpu": { part: "`floor-json`", handWritten: "`floor-json`" },
      "echo-1": { part: "`floor-ring`", handWritten: "`floor-ring`" },
      cpu: { part: "`floor-ring`", handWritten: "`floor-ring`" },
      "cold-wake": { part: "`wake-log`", handWritten: "`wake-built`" },
    };
    for (const goal of results.goals) {
      const apart = takenApart[goal.id];
      if (!apart || goal.met) continue;
      expect(goal.explanation, goal.id).toMatch(new RegExp(`Taken apart in the same rounds: .*${apart.part}.*×`));
      expect(goal.explanation, goal.id).toMatch(new RegExp(`${apart.handWritten} alone (meets the goal|misses the goal|is within the goal)`));
      // A durable echo's miss also says what userhub's Worker and object around the same loop cost, against the floor's.
      if (goal.id === "echo-1" || goal.id === "cpu") expect(goal.explanation, goal.id).toMatch(/\(`layout-slot`, without userhub's frame path, log or fan-out\) ran at .*× `floor-ring`/);
      // A hot-path miss also says what the part by hand and userhub around it cost in one process, and whether the part alone is past the goal's margin.
      const inOneProcess = { "signal-echo-1": "floor-json", "signal-cpu": "floor-json", "echo-1": "row-slot", cpu: "row-slot" }[goal.id];
      if (inOneProcess) {
        expect(goal.explanation, goal.id).toMatch(new RegExp(`In one workerd process with no network .*\`${inOneProcess}\` cost [+−][0-9.]+ µs a round trip over .* That (is past|is within|straddles) the [+−][0-9.]+ µs the goal leaves \\([0-9.]+% of \`floor(-log)?\`'s [0-9.]+ µs`));
      }
      // A woken hub's miss also says what the alarm the janitor needs costs by itself, and whether userhub is within the goal without it.
      if (goal.id === "cold-wake") expect(goal.explanation).toMatch(/The stored alarm alone costs the floor \+ log .*×.*userhub is .*× `floor-log-alarm`, (within|past) the goal/);
    }
    // The hot path's parts in one process: every target measured, every pair compared.
    for (const result of results.inProcess!.results) expect(result.medianUs, `in one process: ${result.target}`).toBeGreaterThan(0);
    expect(results.inProcess!.pairs.map((p) => `${p.of}/${p.to}`)).toEqual(["floor-json/floor", "userhub-signal/floor-json", "row-slot/floor-log", "userhub/row-slot"]);
    for (const pair of results.inProcess!.pairs) {
      expect(isNumber(pair.ratio) && isNumber(pair.differenceUs), `${pair.of}/${pair.to}`).toBe(true);
      expect(pair.differenceQ1Us, `${pair.of}/${pair.to}`).toBeLessThanOrEqual(pair.differenceQ3Us);
    }
    expect(workerdChildren(process.pid)).toEqual([]);
    // Ratios are to the floor of the same run.
    expect(results.ratios.floor!.echo1).toBe(1);
    expect(isNumber(results.ratios.userhub!.echo1) && isNumber(results.ratios.userhub!.fanOut) && isNumber(results.ratios.userhub!.cpu)).toBe(true);
    expect(results.goals.map((g) => g.id)).toEqual(expect.arrayContaining(["rows-per-delivery", "ping-wakes", "alarm-wakes", "empty-wakes", "cost", "direct"]));
    // Direct messages: userhub against the two-object floor, both measured, with a ratio.
    for (const side of ["userhub", "floor-direct"] as const) {
      expect(results.direct!.summary[side]["1"]!.perSecond, `${side} direct messages`).toBeGreaterThan(0);
      expect(isNumber(results.direct!.summary[side]["1"]!.cpuMsPer1k)).toBe(true);
    }
    expect(isNumber(results.direct!.ratios["1"]!.perSecond)).toBe(true);
    for (const goal of results.goals) expect(goal.measured, goal.id).not.toMatch(/NaN|undefined/);
    expect(results.cost.targets.map((t) => t.target).sort()).toEqual(["floor", "userhub"]);
    // The round workloads' table leaves out the targets that only ran cold wakes (they have a table of their own).
    expect(textTable(results).split("\n")[0]).not.toMatch(/wake-/);
    for (const cost of results.cost.targets) expect(cost.totalUsd).toBeGreaterThanOrEqual(5);

    const out = await mkdtemp(join(tmpdir(), "bench-smoke-out-"));
    try {
      await writeResults(results, out);
      expect(JSON.parse(await readFile(join(out, "latest.json"), "utf8")).schema).toBe(1);
      const report = await readFile(join(out, "latest.md"), "utf8");
      expect(report).toContain("## Goals");
      expect(report).toContain("### Direct messages between users");
      expect(report).toContain("### In one process");
      expect(report).not.toMatch(/NaN|undefined/);
      expect(await readFile(join(out, "chart.svg"), "utf8")).toMatch(/^<svg [^]*<\/svg>\n$/);
      expect(existsSync(join(out, "latest.json.tmp"))).toBe(false);
    } finally {
      await rm(out, { recursive: true, force: true });
    }

    // Every server's process group is gone, and so is every directory this run made: its bundles' and one per server.
    expect(processGroups.length).toBeGreaterThanOrEqual(5);
    for (const pgid of processGroups) expect(processGroupAlive(pgid), `process group ${pgid}`).toBe(false);
    expect(directories).toHaveLength(processGroups.length + 1);
    expect(directories.filter((dir) => existsSync(dir))).toEqual([]);
  });
});
