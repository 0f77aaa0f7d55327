/**
 * Where the bench's processes run: every server process group on one CPU of
 * its own, the bench itself (the clients) on the others. On this project's
 * 2-vCPU machine, left to the scheduler, a server and the clients share a
 * core for part of a window and have two for the rest, so a target's CPU
 * per message moves with the placement it happens to get. In two runs of ten
 * rounds, one after the other (bench/results/attribution.md, 2026-11-30
 * 13:29 and 13:31), the floor's second process measured 0.86–1.64× the floor
 * round by round, and the floor + JSON 0.87–1.50×, left to the scheduler;
 * placed, 0.90–1.14× and 1.01–1.23×.
 *
 * Linux only, through `taskset` (util-linux); with one CPU, without
 * taskset, when taskset is refused, or with `BENCH_PIN_CPUS=off`, nothing is
 * pinned and the report says so.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** Where the run's processes were placed, for the report. */
export interface CpuPlacement {
  /** Whether processes were pinned at all. */
  readonly pinned: boolean;
  /** The CPU every server process group runs on (`taskset -c`), when pinned. */
  readonly serverCpu?: number;
  /** The CPUs the bench itself (its clients) runs on, when pinned. */
  readonly clientCpus?: string;
  /** What was done, in words, for the report. */
  readonly description: string;
}

let placement: CpuPlacement | undefined;

/**
 * The CPUs a kernel CPU list names (`/proc/<pid>/status`'s `Cpus_allowed_list`, as `taskset -c` takes it).
 *
 * @example
 * ```ts
 * parseCpuList("0-2,5"); // [0, 1, 2, 5]
 * ```
 */
export function parseCpuList(list: string): number[] {
  const cpus: number[] = [];
  for (const part of list.trim().split(",")) {
    const [from, to = from] = part.split("-").map(Number);
    if (!Number.isInteger(from) || !Number.isInteger(to)) throw new Error(`not a CPU list: ${JSON.stringify(list)}`);
    for (let cpu = from!; cpu <= to!; cpu++) cpus.push(cpu);
  }
  return cpus;
}

/** The CPUs a `/proc/<pid>/status` text says its process may run on (`Cpus_allowed_list`); null when it names none. */
export function allowedCpusIn(status: string): number[] | null {
  const list = /^Cpus_allowed_list:\s*(\S+)/m.exec(status)?.[1];
  return list ? parseCpuList(list) : null;
}

/** The CPUs this process may run on (its affinity); null when unreadable. */
function allowedCpus(): number[] | null {
  try {
    return allowedCpusIn(readFileSync("/proc/self/status", "utf8"));
  } catch {
    return null;
  }
}

/** Whether `taskset` (util-linux) can be run here. */
export function hasTaskset(): boolean {
  try {
    execFileSync("taskset", ["-V"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** The placement decided by {@link placeProcesses}, or none (a bench run from a test: the scheduler places everything). */
export function currentPlacement(): CpuPlacement {
  return placement ?? { pinned: false, description: "processes placed by the scheduler" };
}

/**
 * Called by a bench's command-line entry (never from a test, whose process
 * runs other tests after it): decides the placement once per run and pins this process (every thread,
 * so the clients and their libuv pool) to the client CPUs. Servers started
 * afterwards go through {@link serverCommand}.
 */
export function placeProcesses(): CpuPlacement {
  if (placement) return placement;
  const cpus = allowedCpus();
  if (process.env.BENCH_PIN_CPUS === "off") {
    placement = { pinned: false, description: "processes placed by the scheduler (BENCH_PIN_CPUS=off)" };
  } else if (cpus === null || cpus.length < 2) {
    placement = { pinned: false, description: `processes placed by the scheduler (${cpus === null ? "this system's CPU affinity is unknown" : "one CPU"})` };
  } else if (!hasTaskset()) {
    placement = { pinned: false, description: "processes placed by the scheduler (no `taskset` on this machine)" };
  } else {
    const serverCpu = cpus[cpus.length - 1]!;
    const clientCpus = cpus.slice(0, -1).join(",");
    try {
      execFileSync("taskset", ["-a", "-cp", clientCpus, String(process.pid)], { stdio: "pipe" });
    } catch (error) {
      // A container may refuse to change affinity (EPERM): the run goes on unplaced, and says why.
      const why = (error as { stderr?: Buffer }).stderr?.toString().trim().split("\n")[0] || String(error);
      return (placement = { pinned: false, description: `processes placed by the scheduler (taskset refused: ${why})` });
    }
    placement = {
      pinned: true,
      serverCpu,
      clientCpus,
      description: `every server process group pinned to CPU ${serverCpu}, the bench's clients to CPU ${clientCpus} (\`taskset\`)`,
    };
  }
  return placement;
}

/** `command args…` as a server is started: run under `taskset -c <server CPU>` when the run pins processes. */
export function serverCommand(command: string, args: readonly string[]): [string, string[]] {
  const place = placement;
  if (!place?.pinned) return [command, [...args]];
  // taskset execs the command in place: the pid (and so the process group the bench tracks) is the server's.
  return ["taskset", ["-c", String(place.serverCpu), command, ...args]];
}

/** Moves a server process another library started (Miniflare's workerd), every thread of it, to the server CPU when the run pins processes. */
export function pinServerProcess(pid: number): void {
  const place = placement;
  if (!place?.pinned) return;
  execFileSync("taskset", ["-a", "-cp", String(place.serverCpu), String(pid)], { stdio: "ignore" });
}
