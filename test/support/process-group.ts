/**
 * Servers that tests start (wrangler dev and its workerd processes, the Deno
 * demo and the child Deno that builds its page) run as the leaders of fresh
 * process groups (`detached: true`), so that one signal reaches the whole
 * tree. This module stops such groups, checks that nothing of them lives on,
 * and, as a safety net, kills every group still tracked when the test process
 * exits or is interrupted (detached groups do not get the terminal's Ctrl-C).
 */
import { readdirSync, readFileSync, rmSync } from "node:fs";

/** Running groups -> a temp dir to delete with them, if any. */
const liveGroups = new Map<number, string | undefined>();
/** Other directories a run made (e.g. bundles), deleted by the safety net too. */
const runDirs = new Set<string>();
let safetyNetInstalled = false;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sends `signal` to every member of the group; false when the group is gone (ESRCH). */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Is any non-zombie process of the group still alive? kill(-pgid, 0) alone also
 * succeeds for zombies, which linger when a leader exits without reaping its
 * children (wrangler does), so on Linux this reads each process's state in /proc.
 */
export function processGroupAlive(pgid: number): boolean {
  if (!signalGroup(pgid, 0)) return false;
  if (process.platform !== "linux") return true;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // the process vanished meanwhile
    }
    // "pid (comm) state ppid pgrp ...": comm may contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) === pgid && fields[0] !== "Z" && fields[0] !== "X") return true;
  }
  return false;
}

async function waitGroupGone(pgid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!processGroupAlive(pgid)) return true;
    await sleep(50);
  }
  return !processGroupAlive(pgid);
}

/** Tracks a started group for the exit-time safety net; `tempDir` is deleted if the net has to kill it. */
export function trackProcessGroup(pgid: number, tempDir?: string): void {
  installSafetyNet();
  liveGroups.set(pgid, tempDir);
}

/** Has the safety net delete `dir` if the process dies; call the returned function once it was deleted normally. */
export function removeOnExit(dir: string): () => void {
  installSafetyNet();
  runDirs.add(dir);
  return () => runDirs.delete(dir);
}

/**
 * Stops a group: SIGTERM (servers close their sockets and exit), then SIGKILL
 * after `graceMs`; resolves once no live member remains, and stops tracking it.
 *
 * @throws when a member survives SIGKILL.
 */
export async function stopProcessGroup(pgid: number, graceMs = 5_000): Promise<void> {
  if (signalGroup(pgid, "SIGTERM") && !(await waitGroupGone(pgid, graceMs))) {
    signalGroup(pgid, "SIGKILL");
    if (!(await waitGroupGone(pgid, 2_000))) throw new Error(`process group ${pgid} survived SIGKILL`);
  }
  liveGroups.delete(pgid);
}

function killAllGroups(): void {
  for (const [pgid, tempDir] of liveGroups) {
    signalGroup(pgid, "SIGKILL");
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  }
  liveGroups.clear();
  for (const dir of runDirs) rmSync(dir, { recursive: true, force: true });
  runDirs.clear();
}

function installSafetyNet(): void {
  if (safetyNetInstalled) return;
  safetyNetInstalled = true;
  process.on("exit", killAllGroups);
  // If nobody else handles the signal, restore its default (terminate) by raising it again.
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const handler = () => {
      killAllGroups();
      if (process.listenerCount(signal) === 1) {
        process.removeListener(signal, handler);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, handler);
  }
}
