/**
 * Start a real `wrangler dev` server for end-to-end tests.
 *
 * wrangler (node) spawns workerd processes of its own. We spawn wrangler as
 * the leader of a fresh process group (`detached: true`) so stop() can signal
 * the whole tree at once (`process.kill(-pgid, …)`) and verify that nothing
 * from the group survives.
 *
 * Observed tree (wrangler 4.164): wrangler.js -> node cli.js -> esbuild +
 * 2x workerd, all in the same group. wrangler exits without reaping its
 * children, so they briefly linger as zombies re-parented to PID 1; stop()
 * therefore waits until no *live* member is left (see processGroupAlive).
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stripVTControlCharacters } from "node:util";
import { freePort } from "./free-port.ts";

export interface WranglerDevOptions {
  /** Extra `--var KEY:VALUE` bindings. */
  vars?: Record<string, string>;
  /** Directory containing wrangler.toml (default: the repository root). */
  cwd?: string;
  /** Persistence directory (default: a fresh temp dir, removed on stop()). */
  persistTo?: string;
  /** How long to wait for the server to answer HTTP (default 60 s). */
  timeoutMs?: number;
  /** Appended verbatim to the `wrangler dev` command line. */
  extraArgs?: string[];
}

export interface WranglerDev {
  /** http://127.0.0.1:PORT */
  url: string;
  /** ws://127.0.0.1:PORT */
  wsUrl: string;
  port: number;
  /** Process-group id (= pid of the wrangler process) of the current run. */
  readonly pid: number;
  /** Kill the whole process group; idempotent. */
  stop(): Promise<void>;
  /** stop(), then start again on the same port with the same persist dir. */
  restart(): Promise<void>;
  /** Captured stdout+stderr so far (across restarts). */
  output(): string;
}

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const WRANGLER_JS = join(REPO_ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
const STOP_GRACE_MS = 5_000;
const MAX_OUTPUT_CHARS = 1_000_000;

// ---- safety net: never leave process groups behind when this process exits ----
/** Running groups -> temp persist dir to delete with them (if we created it). */
const liveGroups = new Map<number, string | undefined>();
let safetyNetInstalled = false;

function killAllGroups(): void {
  for (const [pgid, tempDir] of liveGroups) {
    signalGroup(pgid, "SIGKILL");
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  }
  liveGroups.clear();
}

function installSafetyNet(): void {
  if (safetyNetInstalled) return;
  safetyNetInstalled = true;
  process.on("exit", killAllGroups);
  // Our groups are detached, so a Ctrl-C in the terminal does not reach them.
  // Kill them on fatal signals too; if nobody else handles the signal, restore
  // the default behaviour (terminate) by re-raising it.
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const handler = () => {
      killAllGroups();
      if (process.listenerCount(sig) === 1) {
        process.removeListener(sig, handler);
        process.kill(process.pid, sig);
      }
    };
    process.on(sig, handler);
  }
}

function signalGroup(pgid: number, sig: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, sig);
    return true;
  } catch {
    return false; // ESRCH: group is gone (EPERM cannot happen for our own children)
  }
}

/**
 * Is any non-zombie process of the group still alive? kill(-pgid, 0) alone also
 * succeeds for zombies, which may linger if PID 1 of a container does not reap
 * orphans, so on Linux we look at /proc for the real state.
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
      continue; // process vanished meanwhile
    }
    // Format: "pid (comm) state ppid pgrp ..."; comm may contain spaces/parens.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) === pgid && fields[0] !== "Z" && fields[0] !== "X") return true;
  }
  return false;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitGroupGone(pgid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!processGroupAlive(pgid)) return true;
    await sleep(50);
  }
  return !processGroupAlive(pgid);
}

async function killGroup(pgid: number): Promise<void> {
  if (signalGroup(pgid, "SIGTERM") && !(await waitGroupGone(pgid, STOP_GRACE_MS))) {
    signalGroup(pgid, "SIGKILL");
    if (!(await waitGroupGone(pgid, 2_000))) {
      throw new Error(`wrangler dev process group ${pgid} survived SIGKILL`);
    }
  }
  liveGroups.delete(pgid);
}

export async function startWranglerDev(options: WranglerDevOptions = {}): Promise<WranglerDev> {
  installSafetyNet();
  const cwd = options.cwd ?? REPO_ROOT;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const ownsPersistDir = options.persistTo === undefined;
  const persistTo = options.persistTo ?? (await mkdtemp(join(tmpdir(), "userhub-wrangler-")));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;

  let out = "";
  let pgid = 0;
  let stopped = true;

  const append = (chunk: string) => {
    out += chunk;
    if (out.length > MAX_OUTPUT_CHARS) out = out.slice(-MAX_OUTPUT_CHARS / 2);
  };
  // wrangler colours esbuild errors even with NO_COLOR set, so strip ANSI codes.
  const output = () => stripVTControlCharacters(out);
  const tail = () => output().slice(-2048);

  async function start(): Promise<void> {
    const args = [
      WRANGLER_JS, "dev",
      "--port", String(port),
      "--ip", "127.0.0.1",
      "--inspector-port", String(await freePort()),
      "--persist-to", persistTo,
      "--show-interactive-dev-session=false",
    ];
    for (const [k, v] of Object.entries(options.vars ?? {})) args.push("--var", `${k}:${v}`);
    args.push(...(options.extraArgs ?? []));

    const proc = spawn(process.execPath, args, {
      cwd,
      detached: true, // own process group, see file header
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        CLOUDFLARE_CF_FETCH_ENABLED: "false",
        WRANGLER_SEND_METRICS: "false",
        CI: "true",
        NO_COLOR: "1",
        FORCE_COLOR: "0",
      },
    });
    // setEncoding: multi-byte characters split across chunks stay intact.
    proc.stdout!.setEncoding("utf8").on("data", append);
    proc.stderr!.setEncoding("utf8").on("data", append);
    // A forgotten stop() must not keep the test process alive; the exit
    // safety net then kills the group.
    proc.unref();
    (proc.stdout as unknown as { unref?: () => void }).unref?.();
    (proc.stderr as unknown as { unref?: () => void }).unref?.();

    let exited: string | undefined;
    proc.once("exit", (code, sig) => (exited = `exited early (code ${code}, signal ${sig})`));
    proc.once("error", (err) => (exited = `failed to spawn: ${err.message}`));
    if (proc.pid === undefined) await sleep(0); // let the 'error' event fire
    if (proc.pid === undefined) {
      if (ownsPersistDir) await rm(persistTo, { recursive: true, force: true });
      throw new Error(`wrangler dev ${exited ?? "has no pid"}`);
    }
    pgid = proc.pid;
    liveGroups.set(pgid, ownsPersistDir ? persistTo : undefined);
    stopped = false;

    // Ready = the server answers HTTP at all (any status code).
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (exited) {
        await stop();
        throw new Error(`wrangler dev ${exited}. Last output:\n${tail()}`);
      }
      try {
        const res = await fetch(`${url}/`, { signal: AbortSignal.timeout(2_000) });
        await res.body?.cancel();
        return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`wrangler dev not ready on ${url} after ${timeoutMs} ms. Last output:\n${tail()}`);
      }
      await sleep(200);
    }
  }

  async function stopProcesses(): Promise<void> {
    if (stopped) return;
    stopped = true;
    await killGroup(pgid);
  }

  async function stop(): Promise<void> {
    await stopProcesses();
    if (ownsPersistDir) await rm(persistTo, { recursive: true, force: true });
  }

  await start();

  return {
    url,
    wsUrl: `ws://127.0.0.1:${port}`,
    port,
    get pid() {
      return pgid;
    },
    stop,
    async restart() {
      await stopProcesses();
      await start();
    },
    output,
  };
}
