/**
 * Start the Deno demo server (worker/deno-demo.ts) for end-to-end tests: the
 * twin of startWranglerDev, with the same public contract as `npm start`.
 *
 * The demo's own task (`deno task dev`) cannot be used from here: inside
 * `deno task` the name `deno` resolves to the npm launcher. So this spawns
 * the Deno binary of the `deno` devDependency directly, with the variables
 * `deno task dev` would read from .dev.vars (parsed here, never written into
 * a test), plus the caller's vars, plus PORT=0 (a free port, which the demo
 * prints once it listens).
 *
 * Deno is spawned as the leader of a fresh process group (`detached: true`);
 * the demo runs a child Deno of its own first (it bundles the demo page), and
 * stop() signals the whole group and waits until no live member remains.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stripVTControlCharacters } from "node:util";
import { stopProcessGroup, trackProcessGroup } from "./process-group.ts";

export interface DenoDemoOptions {
  /** Variables for the demo (the Worker's vars), over those of .dev.vars. */
  vars?: Record<string, string>;
  /** How long to wait for the listening line (default 60 s: the demo builds its page first). */
  timeoutMs?: number;
  /**
   * Keep the delivery log in Deno KV (`DENO_KV_PATH`), as `deno task dev`
   * does, in a fresh temp dir removed on stop(). Default true; false keeps it
   * in memory (the library's default when no log is configured).
   */
  kv?: boolean;
}

export interface DenoDemo {
  /** http://127.0.0.1:PORT, as the demo printed it. */
  url: string;
  /** ws://127.0.0.1:PORT */
  wsUrl: string;
  port: number;
  /** Process-group id (= pid of the Deno process). */
  readonly pid: number;
  /** Kill the whole process group and wait until no live member remains; idempotent. */
  stop(): Promise<void>;
  /** Captured stdout+stderr so far. */
  output(): string;
}

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DENO = join(REPO_ROOT, "node_modules", "deno", "deno");
/** Exactly what `deno task dev` runs, minus `--env-file` (the variables are passed in the environment). */
function denoArgs(writable: string[]): string[] {
  return ["run", "--allow-net", "--allow-env", "--allow-read", `--allow-write=${writable.join(",")}`, "--allow-run", "worker/deno-demo.ts"];
}
/** The demo's listening line: `userhub on Deno: http://127.0.0.1:<port> (…)`. */
const LISTENING = /userhub on Deno: (http:\/\/[^\s]+:(\d+))/;
const STOP_GRACE_MS = 5_000;
const MAX_OUTPUT_CHARS = 1_000_000;

/**
 * Variables the demo reads as configuration (README, "Configuration", plus
 * PORT). They are dropped from the inherited environment, so that, as under
 * `wrangler dev`, only .dev.vars and the caller's vars configure the server.
 */
const CONFIG_VARIABLES = [
  "PORT",
  "JWT_SECRET",
  "JWKS_URL",
  "JWKS_UNKNOWN_KID_REFETCH_MS",
  "JWT_ALGORITHMS",
  "JWT_ISSUER",
  "JWT_AUDIENCE",
  "JWT_USER_CLAIM",
  "PUSH_API_KEY",
  "DEV_TOKENS",
  "ALLOWED_ORIGINS",
  "HEARTBEAT_INTERVAL_MS",
  "HEARTBEAT_TIMEOUT_MS",
  "MAX_MESSAGE_BYTES",
  "MAX_CONNECTIONS_PER_USER",
  "MAX_QUEUED_BYTES",
  "LOG_RETENTION",
  "LOG_RETENTION_MS",
  "LOG_RETENTION_BYTES",
  "TICKET_TTL_MS",
  "DENO_KV_PATH",
];

/**
 * The variables of the repository's .dev.vars (`KEY=value` lines; `#`
 * comments and blank lines skipped; surrounding quotes removed), as
 * `wrangler dev` and `deno task dev` read them.
 */
export function readDevVars(): Record<string, string> {
  const text = readFileSync(join(REPO_ROOT, ".dev.vars"), "utf8");
  const vars: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim().replace(/^export\s+/, "");
    let value = line.slice(eq + 1).trim();
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0]) value = value.slice(1, -1);
    vars[key] = value;
  }
  for (const needed of ["JWT_SECRET", "PUSH_API_KEY", "DEV_TOKENS"]) {
    if (!vars[needed]) throw new Error(`.dev.vars has no ${needed}`);
  }
  return vars;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startDenoDemo(options: DenoDemoOptions = {}): Promise<DenoDemo> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const kvDir = (options.kv ?? true) ? await mkdtemp(join(tmpdir(), "userhub-deno-kv-")) : undefined;
  const kvVars: Record<string, string> = kvDir ? { DENO_KV_PATH: join(kvDir, "userhub.kv") } : {};
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !CONFIG_VARIABLES.includes(key)));

  let out = "";
  const append = (chunk: string) => {
    out += chunk;
    if (out.length > MAX_OUTPUT_CHARS) out = out.slice(-MAX_OUTPUT_CHARS / 2);
  };
  const output = () => stripVTControlCharacters(out);
  const tail = () => output().slice(-2048);

  const proc = spawn(DENO, denoArgs(kvDir ? ["worker/public", kvDir] : ["worker/public"]), {
    cwd: REPO_ROOT,
    detached: true, // own process group, see the file header
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...inherited, ...readDevVars(), ...options.vars, ...kvVars, PORT: "0", NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
  });
  proc.stdout!.setEncoding("utf8").on("data", append);
  proc.stderr!.setEncoding("utf8").on("data", append);
  // A forgotten stop() must not keep the test process alive; the exit safety net then kills the group.
  proc.unref();
  (proc.stdout as unknown as { unref?: () => void }).unref?.();
  (proc.stderr as unknown as { unref?: () => void }).unref?.();

  let exited: string | undefined;
  proc.once("exit", (code, sig) => (exited = `exited (code ${code}, signal ${sig})`));
  proc.once("error", (err) => (exited = `failed to spawn: ${err.message}`));
  if (proc.pid === undefined) await sleep(0); // let the 'error' event fire
  if (proc.pid === undefined) {
    if (kvDir) await rm(kvDir, { recursive: true, force: true });
    throw new Error(`Deno demo ${exited ?? "has no pid"}`);
  }
  const pgid = proc.pid;
  trackProcessGroup(pgid, kvDir);

  let stopped = false;
  async function stop(): Promise<void> {
    if (stopped) return;
    stopped = true;
    await stopProcessGroup(pgid, STOP_GRACE_MS);
    if (kvDir) await rm(kvDir, { recursive: true, force: true });
  }

  const deadline = Date.now() + timeoutMs;
  let listening: RegExpExecArray | null = null;
  while (!(listening = LISTENING.exec(output()))) {
    if (exited) {
      await stop();
      throw new Error(`Deno demo ${exited} before listening. Last output:\n${tail()}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`Deno demo not listening after ${timeoutMs} ms. Last output:\n${tail()}`);
    }
    await sleep(50);
  }
  const url = listening[1]!;
  const port = Number(listening[2]);

  return {
    url,
    wsUrl: url.replace(/^http/, "ws"),
    port,
    pid: pgid,
    stop,
    output,
  };
}
