/**
 * The in-process echo's smoke run: every target runs a handful of round trips
 * in one workerd process, each is measured, and the process is gone after.
 * It checks the shape of what comes out, not performance.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { IN_PROCESS_TARGETS, pairSpread, roundRatio, runInProcessEcho, workerdChildren } from "./harness/in-process-echo.ts";
import { checkoutRevision, REPOSITORY_ROOT } from "./harness/revision-checkout.ts";

describe("bench harness, in-process echo", () => {
  it("runs every target's round trips in one workerd process, measures each, and stops the process", { timeout: 90_000 }, async () => {
    const progress: string[] = [];
    const results = await runInProcessEcho({ targets: IN_PROCESS_TARGETS, rounds: 2, roundTrips: 200, progress: (line) => progress.push(line) });
    expect(progress).toEqual(["round 1/2 done", "round 2/2 done"]);
    expect(results.map((r) => r.target)).toEqual([...IN_PROCESS_TARGETS]);
    for (const result of results) {
      expect(result.perRound, result.target).toHaveLength(2);
      // Read between two marks around the round trips: never nothing, and finite.
      for (const us of result.perRound) expect(us, result.target).toBeGreaterThan(0);
      for (const us of result.perRound) expect(Number.isFinite(us), result.target).toBe(true);
      expect(Number.isFinite(result.medianUs)).toBe(true);
      // The fast regime's figure is one of the rounds, never above their median.
      expect(result.perRound).toContain(result.fastUs);
      expect(result.fastUs, result.target).toBeLessThanOrEqual(result.medianUs);
    }
    expect(roundRatio(results, "floor", "floor")).toBe(1);
    expect(Number.isFinite(roundRatio(results, "userhub", "floor-log"))).toBe(true);
    expect(pairSpread(results, "floor", "floor")).toEqual({ median: 1, q1: 1, q3: 1, differenceUs: 0, differenceQ1Us: 0, differenceQ3Us: 0 });
    expect(Number.isNaN(pairSpread(results.slice(1), "floor", "floor-json").median)).toBe(true);
    expect(workerdChildren(process.pid)).toEqual([]);
  });

  it("takes a round's round trips in turn over several hubs (--hubs)", { timeout: 90_000 }, async () => {
    const results = await runInProcessEcho({ targets: ["floor-json", "userhub-signal"], rounds: 1, roundTrips: 60, hubs: 3 });
    for (const result of results) expect(result.medianUs, result.target).toBeGreaterThan(0);
    await expect(runInProcessEcho({ targets: ["floor"], rounds: 1, roundTrips: 10, hubs: 0 })).rejects.toThrow(/hubs/);
    expect(workerdChildren(process.pid)).toEqual([]);
  });

  it("runs another revision's hub beside this tree's (--base), and removes its checkout after", { timeout: 90_000 }, async () => {
    const worktrees = () => execFileSync("git", ["-C", REPOSITORY_ROOT, "worktree", "list", "--porcelain"], { encoding: "utf8" });
    const before = worktrees();
    await expect(runInProcessEcho({ targets: ["base-send"], rounds: 1, roundTrips: 100 })).rejects.toThrow(/--base/);
    await expect(checkoutRevision("no-such-revision")).rejects.toThrow(/not a commit of this repository/);
    const base = await checkoutRevision("HEAD");
    try {
      expect(existsSync(`${base.root}/worker/index.ts`)).toBe(true);
      const results = await runInProcessEcho({ targets: ["base-send", "userhub", "base-signal"], rounds: 1, roundTrips: 100, baseRoot: base.root });
      for (const result of results) expect(Number.isFinite(result.medianUs), result.target).toBe(true);
    } finally {
      await base.remove();
    }
    expect(existsSync(base.root)).toBe(false);
    expect(worktrees()).toBe(before);
    expect(workerdChildren(process.pid)).toEqual([]);
  });
});
