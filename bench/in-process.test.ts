/**
 * The in-process echo's smoke run: every target runs a handful of round trips
 * in one workerd process, each is measured, and the process is gone after.
 * It checks the shape of what comes out, not performance.
 */
import { describe, expect, it } from "vitest";
import { IN_PROCESS_TARGETS, roundRatio, runInProcessEcho, workerdChildren } from "./harness/in-process-echo.ts";

describe("bench harness, in-process echo", () => {
  it("runs every target's round trips in one workerd process, measures each, and stops the process", { timeout: 90_000 }, async () => {
    const progress: string[] = [];
    const results = await runInProcessEcho({ targets: IN_PROCESS_TARGETS, rounds: 2, roundTrips: 20, progress: (line) => progress.push(line) });
    expect(progress).toEqual(["round 1/2 done", "round 2/2 done"]);
    expect(results.map((r) => r.target)).toEqual([...IN_PROCESS_TARGETS]);
    for (const result of results) {
      expect(result.perRound, result.target).toHaveLength(2);
      for (const us of result.perRound) expect(us, result.target).toBeGreaterThan(0);
      expect(Number.isFinite(result.medianUs)).toBe(true);
      // The fast regime's figure is one of the rounds, never above their median.
      expect(result.perRound).toContain(result.fastUs);
      expect(result.fastUs, result.target).toBeLessThanOrEqual(result.medianUs);
    }
    expect(roundRatio(results, "floor", "floor")).toBe(1);
    expect(roundRatio(results, "userhub", "floor-log")).toBeGreaterThan(0);
    expect(workerdChildren(process.pid)).toEqual([]);
  });
});
