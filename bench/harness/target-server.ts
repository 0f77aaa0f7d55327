/**
 * A running benchmark server: one process group that the bench started and
 * will stop. Its CPU and memory are that group's (see process-group-stats);
 * stopping it signals the whole group, waits until no live member is left,
 * and removes its temporary directory. If the bench itself exits or is
 * interrupted, every group still running is killed and its directory removed.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { stripVTControlCharacters } from "node:util";
import { freePort } from "../../test/support/free-port.ts";
import { removeOnExit, stopProcessGroup, trackProcessGroup } from "../../test/support/process-group.ts";
import { serverCommand } from "./cpu-placement.ts";
import { groupUsage, type GroupUsage } from "./process-group-stats.ts";
import type { EvictCommand, HostReady, HostSpec } from "./target-host.ts";

export interface TargetServer {
  /** What runs here, for messages. */
  readonly label: string;
  /** http://127.0.0.1:PORT, the URL the bench drives. */
  readonly url: string;
  /** Miniflare's entry socket, when this is a Miniflare host. */
  readonly entryUrl: string | undefined;
  /** The Worker isolate's V8 inspector, when the host was asked to open it. */
  readonly inspectorUrl?: string | undefined;
  readonly pgid: number;
  /** The server's temporary directory, removed by `stop()`, if it has one. */
  readonly dir: string | undefined;
  /** The group's CPU and memory now. */
  usage(): GroupUsage;
  /** Kills the group (idempotent) and removes the server's temporary directory. */
  stop(): Promise<void>;
  /** What the server printed (the last 64 KiB). */
  output(): string;
  /** Evicts Durable Objects by name, their sockets hibernated (Miniflare hosts only). */
  evict(className: string, names: readonly string[]): Promise<void>;
}

const HOST_SCRIPT = fileURLToPath(new URL("./target-host.ts", import.meta.url));
const WRANGLER_JS = fileURLToPath(new URL("../../node_modules/wrangler/bin/wrangler.js", import.meta.url));
const MAX_OUTPUT = 64 * 1024;
const STOP_GRACE_MS = 5_000;

export { removeOnExit };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function spawnGroup(command: string, args: string[], env: NodeJS.ProcessEnv, cwd?: string): { child: ChildProcess; output: () => string } {
  // On the server CPU when the run pins processes (cpu-placement.ts); every process the server starts inherits it.
  const [file, argv] = serverCommand(command, args);
  const child = spawn(file, argv, { detached: true, stdio: ["pipe", "pipe", "pipe"], env, ...(cwd ? { cwd } : {}) });
  let out = "";
  const append = (chunk: string) => {
    out += chunk;
    if (out.length > MAX_OUTPUT) out = out.slice(-MAX_OUTPUT / 2);
  };
  child.stdout!.setEncoding("utf8").on("data", append);
  child.stderr!.setEncoding("utf8").on("data", append);
  // A server left behind must not keep the bench alive; the safety net kills it on exit.
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as { unref?: () => void } | null)?.unref?.();
  return { child, output: () => stripVTControlCharacters(out) };
}

function serverOf(
  label: string,
  pgid: number,
  url: string,
  entryUrl: string | undefined,
  dir: string | undefined,
  output: () => string,
  evict: TargetServer["evict"] = async () => {
    throw new Error(`${label}: cannot evict Durable Objects`);
  },
): TargetServer {
  trackProcessGroup(pgid, dir);
  let stopped: Promise<void> | null = null;
  return {
    label,
    url,
    entryUrl,
    pgid,
    dir,
    usage: () => groupUsage(pgid),
    output,
    evict,
    stop() {
      stopped ??= (async () => {
        await stopProcessGroup(pgid, STOP_GRACE_MS);
        if (dir) rmSync(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}

/**
 * Starts a target host (Miniflare or the Node `ws` server) in its own
 * process group; `dir` is removed when it stops.
 */
export async function startHostServer(label: string, spec: HostSpec, dir: string | undefined, timeoutMs = 60_000): Promise<TargetServer> {
  // TMPDIR: Miniflare's own temporary files (and workerd's) go into the server's directory, removed with it.
  const env = { ...process.env, NO_COLOR: "1", ...(dir ? { TMPDIR: dir } : {}) };
  const { child, output } = spawnGroup(process.execPath, ["--no-warnings", HOST_SCRIPT, JSON.stringify(spec)], env);
  const pgid = child.pid;
  if (pgid === undefined) {
    if (dir) rmSync(dir, { recursive: true, force: true });
    throw new Error(`${label}: could not start its host`);
  }
  // The host speaks in JSON lines among whatever else it prints: `{"ready":true,…}` once, then `{"reply":<id>,…}` per command.
  let onReady: (ready: HostReady) => void = () => {};
  const replies = new Map<number, (reply: { evicted?: number; error?: string }) => void>();
  let lines = "";
  child.stdout!.on("data", (chunk: string) => {
    lines += chunk;
    let newline: number;
    while ((newline = lines.indexOf("\n")) >= 0) {
      const line = lines.slice(0, newline);
      lines = lines.slice(newline + 1);
      if (line.startsWith('{"ready":true')) onReady(JSON.parse(line) as HostReady);
      if (!line.startsWith('{"reply":')) continue;
      const reply = JSON.parse(line) as { reply: number; evicted?: number; error?: string };
      replies.get(reply.reply)?.(reply);
      replies.delete(reply.reply);
    }
  });
  let commands = 0;
  const evict: TargetServer["evict"] = (className, names) =>
    new Promise((resolve, reject) => {
      const command: EvictCommand = { id: ++commands, evict: { className, names } };
      replies.set(command.id, (reply) => (reply.error ? reject(new Error(`${label}: evict failed: ${reply.error}`)) : resolve()));
      child.stdin!.write(`${JSON.stringify(command)}\n`);
    });
  const server = serverOf(label, pgid, "", undefined, dir, output, evict);
  try {
    const ready = await new Promise<HostReady>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${label}: not ready after ${timeoutMs} ms`)), timeoutMs);
      onReady = (r) => (clearTimeout(timer), resolve(r));
      child.once("exit", (code, sig) => {
        clearTimeout(timer);
        reject(new Error(`${label}: host exited early (code ${code}, signal ${sig})`));
      });
    });
    return { ...server, url: ready.directUrl, entryUrl: ready.entryUrl, inspectorUrl: ready.inspectorUrl };
  } catch (error) {
    await server.stop();
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${output().slice(-2000)}`);
  }
}

/**
 * Starts `wrangler dev -c <config>` in its own process group (wrangler, its
 * dev proxy's workerd and the Worker's workerd), on a free port, persisting
 * into `dir`. Used only to compare ways of driving workerd.
 */
export async function startWranglerDevServer(label: string, config: string, dir: string, env: Record<string, string>, timeoutMs = 90_000): Promise<TargetServer> {
  const port = await freePort();
  const args = [
    WRANGLER_JS, "dev", "-c", config,
    "--port", String(port), "--ip", "127.0.0.1",
    "--inspector-port", String(await freePort()),
    "--persist-to", dir,
    "--show-interactive-dev-session=false",
  ];
  const { child, output } = spawnGroup(process.execPath, args, {
    ...process.env,
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    WRANGLER_SEND_METRICS: "false",
    CI: "true",
    NO_COLOR: "1",
    // Its Miniflare's temporary files go into `dir` too, removed with it.
    TMPDIR: dir,
    ...env,
  });
  const pgid = child.pid;
  if (pgid === undefined) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${label}: could not start wrangler dev`);
  }
  const url = `http://127.0.0.1:${port}`;
  const server = serverOf(label, pgid, url, undefined, dir, output);
  let exited = false;
  child.once("exit", () => (exited = true));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(`${url}/__bench/wakes`, { signal: AbortSignal.timeout(2_000) });
      await response.body?.cancel();
      if (response.ok) return server;
    } catch {
      // not listening yet
    }
    if (exited || Date.now() > deadline) {
      await server.stop();
      throw new Error(`${label}: wrangler dev not ready on ${url}\n${output().slice(-2000)}`);
    }
    await sleep(200);
  }
}
