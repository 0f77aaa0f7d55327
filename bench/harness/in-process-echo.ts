/**
 * The in-process echo: userhub and the floor in one workerd process (one
 * isolate), each round trip a frame from a Worker to a Durable Object over a
 * WebSocketPair and its delivery back (bench/targets/in-process/worker.js).
 * With no network, no client process and no second server process, what
 * differs between two targets is their hubs' work alone: the network echo's
 * separate processes differ by several percent from each other on this shared
 * machine (its `floor-again`), which is more than some of the differences the
 * issue's goals are about. Here one target's rounds agree to 1–2 µs of about
 * 25 while the machine stays in one regime, but it switches between a fast
 * one and one a third or more slower, for several rounds at a time (23 and
 * 35 µs for the same target in one run of 2026-11-30): a per-round ratio
 * cancels a switch only when both targets ran in the same regime, so each
 * target's 10th percentile of rounds (its fast regime) is reported beside
 * the median. CPU is the workerd process's threads' run time (schedstat) per
 * round trip; the client's loop is part of every target's and cancels out of
 * a difference, not of a ratio (ratios here are the conservative side).
 *
 * A round's CPU is read at two marks the Worker asks for (a GET to this
 * process each) around its measured round trips, after its connections are
 * open and warmed and before they close: opening and closing a connection is
 * not a round trip's work, and userhub's costs some milliseconds (its socket
 * accepted and greeted, and on a new hub its log's tables made). Sections of
 * bench/results/attribution.md up to the one of 2026-11-30T22:43 took a round's
 * figure as the difference of two connections to one hub instead, one
 * longer by the round's round trips (the same intent; the subtraction added
 * the two connections' noise: 1.08× for userhub's `signal` over the floor +
 * JSON's parse and reply that way, 1.15× read between marks), and those
 * before 2026-11-30 18:32 counted the connecting in (5–8% on each of
 * userhub's targets at 1,000 round trips a round).
 *
 * With `hubs` above 1, each connection is one socket to each of that many
 * hubs, the round trips taken in turn: each frame meets a hub the frame
 * before it did not touch, as in the network echo at 100 connections (each
 * its own user).
 *
 * With `count: "instructions"`, workerd runs under valgrind's callgrind and
 * a round's figure is the instructions it ran between the marks, split into
 * garbage collection, compilation and the rest (instruction-count.ts).
 */
import { execFileSync } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { bundleWorker } from "./bundle-worker.ts";
import { type CountedRound, fileSize, namedFunctions } from "./function-names.ts";
import { callgrindWorkerd, InstructionCounter, partsOf } from "./instruction-count.ts";
import { pinServerProcess } from "./cpu-placement.ts";
import { median, percentile } from "./latency-summary.ts";
import { readRunTimeMs } from "./process-group-stats.ts";
import { storageRoot } from "./storage-root.ts";
import { COMPATIBILITY_DATE, LIMITS_OUT_OF_REACH } from "./targets.ts";
import { loadWranglerMiniflare } from "./wrangler-miniflare.ts";

/** Every target: the floor three ways, userhub's two echoes, its `signal` path and its row taken apart (bench/targets/in-process/worker.js). */
export const IN_PROCESS_TARGETS = ["floor", "floor-json", "floor-log", "userhub-signal", "userhub", "userhub-floor-loop", "userhub-admission", "userhub-route", "row-slot", "row-frame", "row-bound", "row-log"] as const;
/** The demo's UserHub of another revision (`baseRoot`), sent the `signal` and `send` frames as `userhub-signal` and `userhub` are. */
export const BASE_TARGETS = ["base-signal", "base-send"] as const;
export type InProcessTarget = (typeof IN_PROCESS_TARGETS)[number] | (typeof BASE_TARGETS)[number];

/** Whether `targets` name one of the {@link BASE_TARGETS}, which need another revision's hub bundled in. */
export function needsBase(targets: readonly InProcessTarget[]): boolean {
  return targets.some((target) => (BASE_TARGETS as readonly string[]).includes(target));
}

export interface InProcessOptions {
  readonly targets: readonly InProcessTarget[];
  readonly rounds: number;
  /** Round trips measured per target and round, read between the Worker's two marks (see above). */
  readonly roundTrips: number;
  readonly progress?: (line: string) => void;
  /**
   * Hubs a round's round trips go to in turn, one socket to each (see above).
   * @default 1
   */
  readonly hubs?: number;
  /**
   * The root of a checkout of another revision (bench/harness/revision-checkout.ts): its demo UserHub is bundled
   * beside this tree's, in the same Worker, and runs the {@link BASE_TARGETS}. Needed for them, and only for them.
   */
  readonly baseRoot?: string;
  /**
   * What a round's figure counts: the workerd process's CPU time (µs), or the instructions it ran under
   * valgrind's callgrind (instruction-count.ts), some 50 times slower.
   * @default "cpu"
   */
  readonly count?: "cpu" | "instructions";
}

export interface InProcessResult {
  readonly target: InProcessTarget;
  /** CPU µs per round trip, per round (instructions per round trip with `count: "instructions"`). */
  readonly perRound: readonly number[];
  /** With `count: "instructions"`: per round, the instructions per round trip in garbage collection, in compilation, and the rest. */
  readonly perRoundParts?: readonly { readonly gc: number; readonly compile: number; readonly rest: number }[];
  /** With `count: "instructions"`: each function's own instructions per round trip, the mean of the rounds (JavaScript named from V8's perf map). */
  readonly functions?: ReadonlyMap<string, number>;
  readonly medianUs: number;
  /** The 10th percentile of the rounds: the machine's fast regime (see above). */
  readonly fastUs: number;
}

/** Round trips a target runs on a round's hubs before the first mark (at least 5 a hub), so its code is compiled and hot and its hubs made. */
export const WARMUP_ROUND_TRIPS = 500;
/** Round trips measured in the first pass over every target, which is thrown away (its process is fresh). */
const FIRST_PASS_ROUND_TRIPS = 100;
/** V8 compiles on the thread that asks: under valgrind a compile job on a thread of its own waits on its scheduling (instruction-count.ts). */
const COMPILE_ON_THE_THREAD_THAT_ASKS = ["--no-concurrent-sparkplug", "--no-concurrent-recompilation"];

/**
 * `hubs` as a run takes it: a whole number from 1 to 1000.
 *
 * @throws {Error} naming the value, for anything else.
 */
export function checkedHubs(hubs: number): number {
  if (!Number.isSafeInteger(hubs) || hubs < 1 || hubs > 1000) throw new Error(`hubs: 1 to 1000, not ${hubs}`);
  return hubs;
}

/** Runs the targets in interleaved rounds (each round starts with a different target) and returns CPU per round trip. */
export async function runInProcessEcho(options: InProcessOptions): Promise<InProcessResult[]> {
  const hubs = checkedHubs(options.hubs ?? 1);
  if (needsBase(options.targets) && options.baseRoot === undefined) throw new Error(`${BASE_TARGETS.join(" and ")} run another revision's hub: give baseRoot (--base <rev>)`);
  const dir = await mkdtemp(join(storageRoot("memory"), "userhub-in-process-"));
  const bundle = join(dir, "worker.js");
  const instructions = options.count === "instructions";
  const worker = fileURLToPath(new URL("../targets/in-process/worker.js", import.meta.url));
  try {
    let entry = worker;
    if (options.baseRoot !== undefined) {
      // The in-process Worker as it is, and the other revision's demo UserHub beside it under a name of its own.
      entry = join(dir, "entry.js");
      const from = (path: string) => JSON.stringify(path);
      await writeFile(entry, `export * from ${from(worker)};\nexport { default } from ${from(worker)};\nexport { UserHub as UserHubBase } from ${from(join(options.baseRoot, "worker/index.ts"))};\n`);
    }
    // Counting instructions, the JavaScript is named by its source file (the bundle's source map).
    await bundleWorker(entry, bundle, { sourcemap: instructions });
  } catch (error) {
    // Nothing started yet: only the directory to remove.
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const { Miniflare, convertV4MiniflareOptions } = await loadWranglerMiniflare();
  let callgrind: ReturnType<typeof callgrindWorkerd> | undefined;
  const workerdPath = process.env.MINIFLARE_WORKERD_PATH;
  const v8Flags = process.env.MINIFLARE_WORKERD_V8_FLAGS;
  try {
    // Miniflare starts the command this names in place of workerd, with these V8 flags (read as it starts it).
    if (instructions) {
      process.env.MINIFLARE_WORKERD_PATH = (callgrind = callgrindWorkerd(dir)).command;
      // V8's map of its generated code names the JavaScript callgrind sees only as addresses (instruction-count.ts).
      // With it V8 also writes its event log, a file per isolate (`isolate-<address>-<pid>-` before the log's
      // name, in its folder): put in the run's directory, removed with it, not the working directory (the
      // repository's root). /dev/null would not do: the prefix makes it files in /dev.
      process.env.MINIFLARE_WORKERD_V8_FLAGS = [v8Flags, "--perf-basic-prof", `--logfile=${join(dir, "v8.log")}`, ...COMPILE_ON_THE_THREAD_THAT_ASKS].filter(Boolean).join(" ");
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const mf = new Miniflare(convertV4MiniflareOptions({
    modules: true,
    modulesRoot: dir,
    scriptPath: bundle,
    compatibilityDate: COMPATIBILITY_DATE,
    durableObjects: {
      FLOOR_HUB: { className: "FloorHub", useSQLite: true },
      FLOOR_JSON_HUB: { className: "FloorJsonHub", useSQLite: true },
      FLOOR_LOG_HUB: { className: "FloorLogHub", useSQLite: true },
      USER_HUB: { className: "UserHub", useSQLite: true },
      FLOOR_ROW_HUB: { className: "FloorRowHub", useSQLite: true },
      USER_HUB_FLOOR_LOOP: { className: "UserHubFloorLoop", useSQLite: true },
      USER_HUB_ADMISSION: { className: "UserHubAdmission", useSQLite: true },
      USER_HUB_ROUTE: { className: "UserHubRoute", useSQLite: true },
      ...(options.baseRoot === undefined ? {} : { USER_HUB_BASE: { className: "UserHubBase", useSQLite: true } }),
    },
    // userhub's limits out of reach (a closed loop in one process outruns its default frame rate), the counters off.
    bindings: { ...LIMITS_OUT_OF_REACH, JWT_SECRET: "userhub-bench-in-process-secret", BENCH_COUNT_STORAGE: "off" },
    // Storage in memory, as the network bench keeps it (storage-root.ts).
    resourcePersistencePath: join(dir, "storage"),
  } as Parameters<typeof convertV4MiniflareOptions>[0]));
  // Put back once the process is started (Miniflare reads it as it spawns, after its constructor).
  const restoreWorkerdPath = () => {
    if (!instructions) return;
    if (workerdPath === undefined) delete process.env.MINIFLARE_WORKERD_PATH;
    else process.env.MINIFLARE_WORKERD_PATH = workerdPath;
    if (v8Flags === undefined) delete process.env.MINIFLARE_WORKERD_V8_FLAGS;
    else process.env.MINIFLARE_WORKERD_V8_FLAGS = v8Flags;
  };
  let marks: Server | undefined;
  let perfMap: string | undefined;
  try {
    const url = await mf.ready;
    restoreWorkerdPath();
    // Under callgrind the child is valgrind's tool, its command line naming workerd.
    const children = workerdChildren(process.pid, instructions);
    if (children.length !== 1) throw new Error(`expected one workerd child of ${process.pid}, found ${children.length}`);
    pinServerProcess(children[0]!);
    const workerd = String(children[0]);
    const counter = callgrind ? new InstructionCounter(children[0]!, callgrind.dumps) : undefined;
    // Written by V8 in the workerd process as it generates code (the pid is valgrind's tool's, which runs workerd).
    if (counter) perfMap = `/tmp/perf-${children[0]}.map`;
    // Microseconds matter here: the schedstat run time, never clock ticks.
    const cpuMs = () => {
      const ms = readRunTimeMs(workerd);
      if (ms === null) throw new Error("the in-process echo needs /proc/<pid>/task/<tid>/schedstat (a kernel with CONFIG_SCHED_INFO)");
      return ms;
    };
    // Asked once here, where a kernel without schedstat fails the run cleanly, not inside the marks' request handler.
    if (!counter) cpuMs();
    // Each hub warmed by a few round trips of its own before the measured ones, however many hubs share them.
    const warm = Math.max(WARMUP_ROUND_TRIPS, 5 * hubs);
    // The Worker asks for the process's CPU to be read at two marks around the measured round trips (a GET each).
    let marked: number[] = [];
    marks = createServer((request, response) => {
      marked.push(counter ? counter.read() : cpuMs());
      response.end(request.url);
    });
    await new Promise<void>((resolve) => marks!.listen(0, "127.0.0.1", resolve));
    const marksUrl = `http://127.0.0.1:${(marks.address() as AddressInfo).port}`;
    /** One connection to each of the round's hubs: warmed, then `n` round trips measured (the CPU between the Worker's two marks). */
    const measure = async (target: InProcessTarget, user: string, n: number): Promise<number> => {
      marked = [];
      const response = await mf.dispatchFetch(`${url}echo?target=${target}&user=${user}&n=${n}&hubs=${hubs}&warm=${warm}&marks=${encodeURIComponent(marksUrl)}`);
      const text = await response.text();
      if (text !== `${n} deliveries from ${Math.min(n, hubs)} hubs` || marked.length !== 2) throw new Error(`${target}: ${n} round trips asked for, the Worker answered ${text.slice(0, 200)} (${marked.length} marks)`);
      return marked[1]! - marked[0]!;
    };
    // One pass unmeasured: the first run in a fresh process pays for compiling what every target shares.
    for (const target of options.targets) await measure(target, "first", FIRST_PASS_ROUND_TRIPS);
    const perRound = new Map<InProcessTarget, number[]>(options.targets.map((t) => [t, []]));
    const partsPerRound = new Map<InProcessTarget, { gc: number; compile: number; rest: number }[]>(options.targets.map((t) => [t, []]));
    // Each measured round's functions as callgrind named them, and how long V8's perf map was when they were dumped.
    const countedRounds: CountedRound<InProcessTarget>[] = [];
    for (let round = 0; round < options.rounds; round++) {
      const shift = round % options.targets.length;
      for (const target of [...options.targets.slice(shift), ...options.targets.slice(0, shift)]) {
        perRound.get(target)!.push(await measure(target, `run-${round}`, options.roundTrips));
        if (counter) {
          // The second mark's dump is the round's own: callgrind counts from zero after each.
          const { total, gc, compile } = partsOf(counter.lastFunctions);
          const n = options.roundTrips;
          partsPerRound.get(target)!.push({ gc: gc / n, compile: compile / n, rest: (total - gc - compile) / n });
          countedRounds.push({ target, functions: counter.lastFunctions, perfMapBytes: fileSize(perfMap!) });
        }
      }
      options.progress?.(`round ${round + 1}/${options.rounds} done`);
    }
    const functions = counter ? await namedFunctions(countedRounds, perfMap!, `${bundle}.map`, options.baseRoot, options.roundTrips * options.rounds) : undefined;
    return options.targets.map((target) => {
      // CPU is read in ms (per round trip: µs); instructions are counted one by one.
      const perRoundTrip = perRound.get(target)!.map((figure) => (figure * (counter ? 1 : 1000)) / options.roundTrips);
      return { target, perRound: perRoundTrip, medianUs: median(perRoundTrip), fastUs: percentile(perRoundTrip, 10), ...(functions ? { perRoundParts: partsPerRound.get(target)!, functions: functions.get(target) ?? new Map() } : {}) };
    });
  } finally {
    restoreWorkerdPath();
    marks?.close();
    await mf.dispose();
    await rm(dir, { recursive: true, force: true });
    if (perfMap) await rm(perfMap, { force: true });
  }
}

/** The median of per-round ratios of `of` to `to` (each round ran both back to back). */
export function roundRatio(results: readonly InProcessResult[], of: InProcessTarget, to: InProcessTarget): number {
  return pairSpread(results, of, to).median;
}

/**
 * How `of` compares with `to` round by round: the median of the per-round
 * ratios with their quartiles (how far one round's ratio strays), and the
 * median of the per-round differences in µs with theirs. NaN when either
 * target was not measured.
 */
export function pairSpread(
  results: readonly InProcessResult[],
  of: InProcessTarget,
  to: InProcessTarget,
): { median: number; q1: number; q3: number; differenceUs: number; differenceQ1Us: number; differenceQ3Us: number } {
  const a = results.find((r) => r.target === of)?.perRound;
  const b = results.find((r) => r.target === to)?.perRound;
  if (!a || !b) return { median: Number.NaN, q1: Number.NaN, q3: Number.NaN, differenceUs: Number.NaN, differenceQ1Us: Number.NaN, differenceQ3Us: Number.NaN };
  const ratios = a.map((x, i) => x / b[i]!);
  const differences = a.map((x, i) => x - b[i]!);
  return {
    median: median(ratios),
    q1: percentile(ratios, 25),
    q3: percentile(ratios, 75),
    differenceUs: median(differences),
    differenceQ1Us: percentile(differences, 25),
    differenceQ3Us: percentile(differences, 75),
  };
}

/**
 * The workerd processes `pid` started (Miniflare's, for the in-process echo); none when pgrep finds none.
 * `underValgrind`: those whose command line names workerd (valgrind's tool runs it under its own name).
 */
export function workerdChildren(pid: number, underValgrind = false): number[] {
  try {
    return execFileSync("pgrep", ["-P", String(pid), underValgrind ? "-f" : "-x", "workerd"], { encoding: "utf8" }).trim().split("\n").filter(Boolean).map(Number);
  } catch {
    // pgrep exits 1 when nothing matches.
    return [];
  }
}
