/**
 * What the kernel says a process group costs: its live members, their CPU
 * time and their resident memory (VmRSS from /proc/<pid>/status). Every
 * server the bench runs leads its own process group, so "the server's
 * processes" is exactly one group: workerd and the Node process that
 * started it, or the Node `ws` server.
 *
 * CPU time is each thread's run time in nanoseconds (the first field of
 * /proc/<pid>/task/<tid>/schedstat, the scheduler's own account), summed
 * over the process's threads. utime + stime from /proc/<pid>/stat count the
 * same time in clock ticks (10 ms here), too coarse for a window of a few
 * messages (a message to a hibernated hub costs about a millisecond); they
 * are kept beside it as a check, since they also count threads that have
 * exited, which the per-thread sum cannot. Without schedstat (a kernel
 * built without CONFIG_SCHED_INFO) the ticks are the CPU time.
 */
import { readdirSync, readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";

/** Clock ticks per second of utime/stime (USER_HZ); 100 on Linux, asked once. */
const TICKS_PER_SECOND = readTicksPerSecond();

function readTicksPerSecond(): number {
  try {
    const value = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    return Number.isFinite(value) && value > 0 ? value : 100;
  } catch {
    return 100;
  }
}

/** One member of a group as /proc shows it. */
export interface ProcessSample {
  readonly pid: number;
  /** The executable's name (`comm`), e.g. `workerd` or `node`. */
  readonly name: string;
  /** Run time of its live threads (schedstat), in milliseconds; utime + stime where schedstat is missing. */
  readonly cpuMs: number;
  /** utime + stime (all threads, exited ones too), in milliseconds, at clock-tick resolution. */
  readonly cpuTicksMs: number;
  /** Resident set size, in bytes. */
  readonly rssBytes: number;
}

/** The live (not zombie) members of process group `pgid`, with their CPU and memory. */
export function sampleGroup(pgid: number): ProcessSample[] {
  const samples: ProcessSample[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // gone meanwhile
    }
    // "pid (comm) state ppid pgrp ... utime(14) stime(15)"; comm may hold spaces and parentheses.
    const close = stat.lastIndexOf(")");
    const fields = stat.slice(close + 2).split(" ");
    if (Number(fields[2]) !== pgid || fields[0] === "Z" || fields[0] === "X") continue;
    const ticks = Number(fields[11]) + Number(fields[12]);
    const cpuTicksMs = (ticks * 1000) / TICKS_PER_SECOND;
    samples.push({
      pid: Number(entry),
      name: stat.slice(stat.indexOf("(") + 1, close),
      cpuMs: readRunTimeMs(entry) ?? cpuTicksMs,
      cpuTicksMs,
      rssBytes: readRss(entry),
    });
  }
  return samples;
}

/** Where {@link groupUsage} reads CPU time on this machine: schedstat when the kernel keeps it, else clock ticks. */
export function cpuSource(): "schedstat" | "ticks" {
  return readRunTimeMs(String(process.pid)) === null ? "ticks" : "schedstat";
}

/** The summed run time of a process's live threads in ms (nanosecond resolution), or null without schedstat. */
export function readRunTimeMs(pid: string): number | null {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  let ns = 0;
  let read = 0;
  for (const tid of tasks) {
    try {
      // "<run time ns> <wait time ns> <timeslices>"
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ", 1)[0]);
      read++;
    } catch {
      // the thread ended meanwhile, or no schedstat on this kernel
    }
  }
  return read > 0 && Number.isFinite(ns) ? ns / 1e6 : null;
}

function readRss(pid: string): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** A group's totals at one moment. */
export interface GroupUsage {
  /** Run time of the group's live threads, ms (see the file's comment). */
  readonly cpuMs: number;
  /** utime + stime of the group, ms, in clock ticks: the coarse check on `cpuMs`. */
  readonly cpuTicksMs: number;
  readonly rssBytes: number;
  /** Per process, for the record (`name:pid` → CPU ms). */
  readonly perProcess: Readonly<Record<string, number>>;
}

export function groupUsage(pgid: number): GroupUsage {
  const samples = sampleGroup(pgid);
  return {
    cpuMs: samples.reduce((sum, s) => sum + s.cpuMs, 0),
    cpuTicksMs: samples.reduce((sum, s) => sum + s.cpuTicksMs, 0),
    rssBytes: samples.reduce((sum, s) => sum + s.rssBytes, 0),
    perProcess: Object.fromEntries(samples.map((s) => [`${s.name}:${s.pid}`, s.cpuMs])),
  };
}

/** CPU ms each process spent between two samples of the same group (processes that ended are dropped). */
export function cpuBetween(before: GroupUsage, after: GroupUsage): Record<string, number> {
  return Object.fromEntries(Object.entries(after.perProcess).map(([key, ms]) => [key, ms - (before.perProcess[key] ?? 0)]));
}
