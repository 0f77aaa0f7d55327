// The bench's process placement (bench/harness/cpu-placement.ts), with the real
// taskset: placement runs in a child process, since it pins the process that
// asks for it and this test's worker runs other tests after it.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { allowedCpusIn, hasTaskset, parseCpuList } from "./harness/cpu-placement.ts";

const PLACEMENT = fileURLToPath(new URL("./harness/cpu-placement.ts", import.meta.url));

/** Places processes in a fresh Node process, then reports its own CPUs and those of a server it starts. */
function placeInChild(env: Record<string, string> = {}): { placement: { pinned: boolean; serverCpu?: number; clientCpus?: string; description: string }; bench: number[]; server: number[] | null } {
  const script = `
    import { execFileSync } from "node:child_process";
    import { readFileSync } from "node:fs";
    import { allowedCpusIn, placeProcesses, serverCommand } from ${JSON.stringify(PLACEMENT)};
    const placement = placeProcesses();
    const [file, args] = serverCommand("cat", ["/proc/self/status"]);
    let server = null;
    try { server = allowedCpusIn(execFileSync(file, args, { encoding: "utf8" })); } catch {}
    console.log(JSON.stringify({ placement, bench: allowedCpusIn(readFileSync("/proc/self/status", "utf8")), server }));
  `;
  const out = execFileSync(process.execPath, ["--no-warnings", "--input-type=module", "-e", script], { encoding: "utf8", env: { ...process.env, ...env } });
  return JSON.parse(out.trim().split("\n").at(-1)!);
}

const mine = allowedCpusIn(readFileSync("/proc/self/status", "utf8"))!;

describe("bench process placement", () => {
  it("reads a kernel CPU list", () => {
    expect(parseCpuList("0")).toEqual([0]);
    expect(parseCpuList("0-2,5")).toEqual([0, 1, 2, 5]);
    expect(parseCpuList("1,3-4\n")).toEqual([1, 3, 4]);
    expect(() => parseCpuList("a-b")).toThrow(/not a CPU list/);
  });

  it("puts servers on the last CPU and the bench on the others, or says why it did not", () => {
    const { placement, bench, server } = placeInChild();
    if (mine.length < 2 || !hasTaskset()) {
      expect(placement.pinned).toBe(false);
      expect(placement.description).toMatch(/placed by the scheduler \((one CPU|no `taskset`|this system's CPU affinity is unknown|taskset refused)/);
      expect(server).toEqual(bench);
      return;
    }
    if (!placement.pinned) {
      // Only a container that refuses affinity changes may leave it unplaced here, and it must say so.
      expect(placement.description).toMatch(/taskset refused/);
      return;
    }
    expect(placement.serverCpu).toBe(mine.at(-1));
    expect(bench).toEqual(mine.slice(0, -1));
    expect(server).toEqual([mine.at(-1)]);
    expect(placement.description).toContain(`pinned to CPU ${mine.at(-1)}`);
  });

  it("leaves placement to the scheduler with BENCH_PIN_CPUS=off", () => {
    const { placement, bench, server } = placeInChild({ BENCH_PIN_CPUS: "off" });
    expect(placement).toEqual({ pinned: false, description: "processes placed by the scheduler (BENCH_PIN_CPUS=off)" });
    expect(bench).toEqual(mine);
    expect(server).toEqual(mine);
  });
});
