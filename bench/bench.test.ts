/**
 * The bench's smoke run: the whole harness (bundling, servers in their own
 * process groups, every workload, medians, ratios, goals, cost model, the
 * report files) with tiny counts against userhub (durable and signal echo),
 * the floor and the floor + log, in seconds,
 * so it cannot rot. It checks the shape of what comes out, not performance,
 * and that every process and temporary directory it made is gone.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SMOKE } from "./harness/bench-presets.ts";
import { runBench } from "./harness/bench-run.ts";
import { processGroupAlive } from "../test/support/process-group.ts";
import { writeResults } from "./harness/results-files.ts";
import { storageRoot } from "./harness/storage-root.ts";

const benchDirs = async (): Promise<Set<string>> => {
  const roots = [...new Set([tmpdir(), storageRoot("memory")])];
  const entries = await Promise.all(roots.map(async (root) => (await readdir(root)).filter((e) => e.startsWith("userhub-bench-")).map((e) => join(root, e))));
  return new Set(entries.flat());
};

const isNumber = (value: unknown) => typeof value === "number" && Number.isFinite(value);

describe("bench harness, smoke run", () => {
  it("measures userhub and the floor, computes ratios, goals and costs, writes its files, and leaves nothing behind", { timeout: 180_000 }, async () => {
    const dirsBefore = await benchDirs();
    const progress: string[] = [];
    const { results, processGroups } = await runBench(SMOKE, { progress: (line) => progress.push(line), command: "bench smoke test" });

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
    // Ratios are to the floor of the same run.
    expect(results.ratios.floor!.echo1).toBe(1);
    expect(isNumber(results.ratios.userhub!.echo1) && isNumber(results.ratios.userhub!.fanOut) && isNumber(results.ratios.userhub!.cpu)).toBe(true);
    expect(isNumber(results.ratios["userhub-signal"]!.echo1) && isNumber(results.ratiosToFloorLog!.userhub!.echo1)).toBe(true);
    expect(results.summary["floor-log"]!.coldWake!.cold.statementsPerMessage).toBeGreaterThan(0);
    expect(results.goals.map((g) => g.id)).toEqual(expect.arrayContaining(["echo-1", "cpu", "fan-out", "signal-echo-1", "signal-cpu", "cold-wake", "rows-per-delivery", "ping-wakes", "alarm-wakes", "empty-wakes", "cost"]));
    expect(results.cost.targets.map((t) => t.target).sort()).toEqual(["floor", "userhub"]);
    for (const cost of results.cost.targets) expect(cost.totalUsd).toBeGreaterThanOrEqual(5);

    const out = await mkdtemp(join(tmpdir(), "bench-smoke-out-"));
    try {
      await writeResults(results, out);
      expect(JSON.parse(await readFile(join(out, "latest.json"), "utf8")).schema).toBe(1);
      expect(await readFile(join(out, "latest.md"), "utf8")).toContain("## Goals");
      expect(await readFile(join(out, "chart.svg"), "utf8")).toMatch(/^<svg [^]*<\/svg>\n$/);
      expect(existsSync(join(out, "latest.json.tmp"))).toBe(false);
    } finally {
      await rm(out, { recursive: true, force: true });
    }

    // Every server's process group is gone, and so is every directory the run made.
    expect(processGroups.length).toBeGreaterThanOrEqual(6);
    for (const pgid of processGroups) expect(processGroupAlive(pgid), `process group ${pgid}`).toBe(false);
    const left = [...(await benchDirs())].filter((dir) => !dirsBefore.has(dir));
    expect(left).toEqual([]);
  });
});
