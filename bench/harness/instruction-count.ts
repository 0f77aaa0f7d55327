/**
 * Instructions instead of CPU time, for the in-process echo (`node
 * bench/in-process.ts --instructions`): its workerd runs under valgrind's
 * callgrind, and each of the Worker's marks dumps callgrind's counts
 * (`callgrind_control --dump`), so a round's figure is the instructions the
 * process ran between its two marks, every thread's.
 *
 * CPU time on this machine moves by several percent from round to round
 * (in-process-echo.ts); the instructions a round's JavaScript and runtime
 * ran do not. What does move is the work V8 does when it chooses to: its
 * garbage collectors (the scavenges a target's allocations bring on, and
 * whichever target a major collection happens to fall in) and its compilers.
 * So each round's count is split three ways by the function each
 * instruction ran in: `gc`, `compile`, and the `rest` (the targets' code and
 * the runtime's). The rest repeats better than a CPU time does, but not
 * exactly: in runs of 2026-12-01 one target's rest drifted 2% over six
 * rounds as the process aged (every round's hubs stay in it), and the
 * quartiles of two targets' per-round differences lay 2,000 to 8,000
 * instructions apart, of 200,000–300,000 a round trip. A single function's
 * count repeats far better (in an A/A run no function differed by more than
 * 14 instructions a round trip): the profile by function is what tells a
 * change of a few hundred. The collectors' share depends on the whole
 * process's heap, not only on the target running: the same floor + JSON
 * took 5,000 instructions a round trip in collection in one run and 20,000
 * in another.
 *
 * The rest is also told by function ({@link functionCosts}): V8 writes a
 * map of the code it generates (`--perf-basic-prof`, given to workerd
 * through `MINIFLARE_WORKERD_V8_FLAGS`), which names the JavaScript that
 * callgrind can only give an address for (function-names.ts); the runtime's
 * and V8's own functions it names from workerd's symbols. (With that flag
 * workerd says once that its bootstrap compile cache "failed its
 * compatibility check": V8's flags differ from the ones it was built with,
 * so its own scripts are compiled at start, outside every round.)
 *
 * Under callgrind the process runs some 50 times slower, so a round of
 * 2,000 round trips takes about 8 seconds; timers and clocks see that
 * slower world (a heartbeat interval passes in fewer round trips). valgrind
 * also runs one thread at a time, so V8 is told to compile on the thread
 * that asks (`--no-concurrent-sparkplug --no-concurrent-recompilation`):
 * a compile job left to a thread of its own waited on valgrind's
 * scheduling, and whether a short round ran compiled code or the
 * interpreter was chance (2026-12-01: a 200-round-trip round's count varied
 * by 5% from run to run, against 0.1% compiled on the asking thread).
 *
 * Which of V8's tiers ran the code matters, and these rounds are short:
 * with rounds of 2,000–3,000 round trips nearly every hot function of the
 * floor's and userhub's ran in Maglev, V8's middle tier, and a few of the
 * log's in its baseline tier, where an ordinary in-process run of 20,000
 * round trips a round (traced with `--trace-opt`) had them in TurboFan,
 * which inlines small functions into their callers (2026-12-01). So a
 * profile here splits the work the way Maglev's code does; TurboFan's
 * totals are somewhat lower. V8's own flags can bring TurboFan sooner:
 * `MINIFLARE_WORKERD_V8_FLAGS="--invocation-count-for-turbofan=300"` is
 * kept beside the perf map's flag (with it, userhub's `signal` cost 6,400
 * instructions a round trip more than the floor + JSON's in the rest,
 * against 8,200–10,800 without, and compiled more as it went).
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

/** Instructions a process ran, split by what ran them (see the module's comment). */
export interface InstructionParts {
  readonly total: number;
  /** In V8's and cppgc's garbage collectors. */
  readonly gc: number;
  /** In V8's parsers, interpreters' bytecode generation and optimizing compilers. */
  readonly compile: number;
}

/**
 * Function names of V8's and cppgc's garbage collection (scavenges, marking, sweeping, compaction, handles' upkeep),
 * and of the runtime's objects being finalized when cppgc sweeps them (workerd's `Wrappable`s: when that happens
 * depends on the collector, not on the round it falls in).
 */
const GC_FUNCTIONS = /Wrappable::detachFromShim|CppgcShim::~CppgcShim|Wrappable::~Wrappable|Wrappable::unlinkFromTracer|Scaveng|Marking|Sweep|heap::|TracedHandles|IsUnmodifiedApiObject|BodyDescriptor|Heap::|MemoryAllocator|cppgc|Evacuat|MarkCompact|GCTracer|Visitor|SizeFromMap|RememberedSet|SlotSet|MutablePage|PagedSpace|SemiSpace|NewSpace|MainAllocator|Safepoint|IterateRoots|WeakObjects/;
/** Function names of V8's parsing and compiling (Ignition's bytecode, Maglev, TurboFan and Turboshaft, deoptimization). */
const COMPILE_FUNCTIONS = /compiler::|maglev|Maglev|turboshaft|Turboshaft|Compile|Zone|interpreter::|BytecodeGenerator|Parser|Scanner|Deoptim|JSHeapBroker|Pipeline|LiveRange|RegisterAlloc/;

/**
 * Each function's own instructions in one callgrind dump (written with
 * `--compress-strings=no`), by the name callgrind gives it (JIT code: its
 * address, `0x…`; see {@link PerfMap}). A function's own cost lines count;
 * the line after a `calls=` line is a call's inclusive cost, counted where
 * the callee's own lines are.
 *
 * @throws {Error} when the text has no cost lines (not a callgrind dump).
 */
export function functionCosts(dump: string): Map<string, number> {
  const costs = new Map<string, number>();
  let name = "";
  let own = 0;
  let callCost = false;
  let lines = 0;
  const flush = () => {
    if (own !== 0) costs.set(name, (costs.get(name) ?? 0) + own);
    own = 0;
  };
  for (const line of dump.split("\n")) {
    if (line.startsWith("fn=")) {
      flush();
      name = line.slice(3);
      callCost = false;
      continue;
    }
    if (line.startsWith("calls=")) {
      callCost = true;
      continue;
    }
    const first = line.charCodeAt(0);
    // Cost lines start with a position: a number, or +n, -n, * relative to the last.
    if (!((first >= 48 && first <= 57) || line[0] === "+" || line[0] === "-" || line[0] === "*")) continue;
    if (callCost) {
      callCost = false;
      continue;
    }
    const cost = Number(line.split(" ")[1]);
    if (!Number.isFinite(cost)) continue;
    lines++;
    own += cost;
  }
  flush();
  if (lines === 0) throw new Error("not a callgrind dump: no cost lines");
  return costs;
}

/** What a function's instructions count as: garbage collection, compilation, or the rest. */
export function functionKind(name: string): "gc" | "compile" | "rest" {
  return GC_FUNCTIONS.test(name) ? "gc" : COMPILE_FUNCTIONS.test(name) ? "compile" : "rest";
}

/** Functions' instructions ({@link functionCosts}) split into {@link InstructionParts}. */
export function partsOf(costs: ReadonlyMap<string, number>): InstructionParts {
  let total = 0;
  let gc = 0;
  let compile = 0;
  for (const [name, cost] of costs) {
    total += cost;
    const kind = functionKind(name);
    if (kind === "gc") gc += cost;
    else if (kind === "compile") compile += cost;
  }
  return { total, gc, compile };
}

/**
 * The instructions in one callgrind dump, split into {@link InstructionParts}.
 *
 * @throws {Error} when the text has no cost lines (not a callgrind dump).
 */
export function instructionParts(dump: string): InstructionParts {
  return partsOf(functionCosts(dump));
}

/**
 * A command that runs workerd under callgrind, for Miniflare to start in its
 * place (`MINIFLARE_WORKERD_PATH`): a script in `dir` that execs valgrind on
 * the workerd wrangler's Miniflare would have started, writing its dumps
 * beside it. Counting starts at once; the marks' dumps separate rounds.
 *
 * @throws {Error} saying what to install when valgrind or callgrind_control is not on the PATH.
 */
export function callgrindWorkerd(dir: string): { command: string; dumps: string } {
  for (const tool of ["valgrind", "callgrind_control"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "pipe" });
    } catch {
      throw new Error(`--instructions runs workerd under valgrind's callgrind: ${tool} is not on the PATH (Debian: apt-get install valgrind)`);
    }
  }
  const require = createRequire(import.meta.url);
  const workerd = require.resolve("@cloudflare/workerd-linux-64/bin/workerd", { paths: [require.resolve("wrangler")] });
  const dumps = join(dir, "callgrind.out");
  const command = join(dir, "workerd-under-callgrind.sh");
  const quote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;
  writeFileSync(
    command,
    `#!/bin/sh\nexec valgrind --tool=callgrind --dump-instr=no --compress-strings=no --compress-pos=no --callgrind-out-file=${quote(dumps)} --log-file=${quote(join(dir, "valgrind.log"))} ${quote(workerd)} "$@"\n`,
    { mode: 0o755 },
  );
  return { command, dumps };
}

/**
 * The instructions process `pid` (running under {@link callgrindWorkerd}) ran
 * since it started, by dumping its counts: callgrind writes what it counted
 * since the last dump to `<dumps>.<n>` and starts again from zero.
 */
export class InstructionCounter {
  readonly #pid: number;
  readonly #dumps: string;
  #dumped = 0;
  #total = 0;
  #last: Map<string, number> = new Map();

  constructor(pid: number, dumps: string) {
    this.#pid = pid;
    this.#dumps = dumps;
  }

  /** Dumps the counts and answers the instructions run since the process started. */
  read(): number {
    execFileSync("callgrind_control", ["--dump", String(this.#pid)], { stdio: "pipe" });
    this.#dumped++;
    this.#last = functionCosts(readFileSync(`${this.#dumps}.${this.#dumped}`, "utf8"));
    for (const cost of this.#last.values()) this.#total += cost;
    return this.#total;
  }

  /** Each function's instructions between the last two reads (split them with {@link partsOf}). */
  get lastFunctions(): ReadonlyMap<string, number> {
    return this.#last;
  }
}
