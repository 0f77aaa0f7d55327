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
 * therefore waits until no *live* member is left (see process-group.ts).
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stripVTControlCharacters } from "node:util";
import { freePort } from "./free-port.ts";
import { stopProcessGroup, trackProcessGroup } from "./process-group.ts";

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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startWranglerDev(options: WranglerDevOptions = {}): Promise<WranglerDev> {
  const cwd = options.cwd ?? REPO_ROOT;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const ownsPersistDir = options.persistTo === undefined;
  const persistTo = options.persistTo ?? (await mkdtemp(join(tmpdir(), "userhub-wrangler-")));
  let port = await freePort();
  let url = `http://127.0.0.1:${port}`;

  let out = "";
  let pgid = 0;
  let stopped = true;

  // This start's output alone (a restart's or a retry's "Ready on" must be its own).
  let thisStart = "";
  const append = (chunk: string) => {
    out += chunk;
    if (thisStart.length < MAX_OUTPUT_CHARS) thisStart += chunk;
    if (out.length > MAX_OUTPUT_CHARS) out = out.slice(-MAX_OUTPUT_CHARS / 2);
  };
  // wrangler colours esbuild errors even with NO_COLOR set, so strip ANSI codes.
  const output = () => stripVTControlCharacters(out);
  const tail = () => output().slice(-2048);

  async function start(): Promise<void> {
    thisStart = "";
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
    trackProcessGroup(pgid, ownsPersistDir ? persistTo : undefined);
    stopped = false;

    // Ready = wrangler says it listens on our port, and it answers HTTP there (any status code). The
    // line matters: free ports are found by binding and releasing one, so until wrangler binds it,
    // another server started beside this one may take it, and would answer in its place.
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (exited) {
        await stop();
        const busy = thisStart.includes("Address already in use");
        throw new Error(`wrangler dev ${exited}${busy ? " (its port was taken)" : ""}. Last output:\n${tail()}`);
      }
      if (stripVTControlCharacters(thisStart).includes(`Ready on ${url}`)) {
        try {
          const res = await fetch(`${url}/`, { signal: AbortSignal.timeout(2_000) });
          await res.body?.cancel();
          return;
        } catch {
          // not answering yet
        }
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
    await stopProcessGroup(pgid, STOP_GRACE_MS);
  }

  async function stop(): Promise<void> {
    await stopProcesses();
    if (ownsPersistDir) await rm(persistTo, { recursive: true, force: true });
  }

  // A port another server took between our probe and wrangler's bind: try again on a fresh one (twice at most).
  for (let attempt = 1; ; attempt++) {
    try {
      await start();
      break;
    } catch (error) {
      if (attempt >= 3 || !(error instanceof Error) || !error.message.includes("(its port was taken)")) throw error;
      port = await freePort();
      url = `http://127.0.0.1:${port}`;
    }
  }

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
