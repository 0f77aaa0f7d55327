/**
 * Instructions counted under callgrind (bench/harness/instruction-count.ts):
 * a dump split by the function each instruction ran in, and a short
 * in-process run with workerd under valgrind, whose process is gone after.
 */
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runInProcessEcho, workerdChildren } from "./harness/in-process-echo.ts";
import { PerfMap } from "./harness/function-names.ts";
import { callgrindWorkerd, functionCosts, functionKind, instructionParts, partsOf } from "./harness/instruction-count.ts";

/** A dump as callgrind writes one with --dump-instr=no --compress-strings=no --compress-pos=no. */
const DUMP = `# callgrind format
version: 1
creator: callgrind-3.19.0
events: Ir
summary: 1680

fn=v8::internal::Scavenger::ScavengePage(v8::internal::MutablePage*)
0 300
0 20
fn=v8::internal::compiler::GraphReducer::ReduceTop()
0 200
fn=Builtins_JsonParse
0 1000
cfn=v8::internal::Scavenger::ScavengePage(v8::internal::MutablePage*)
calls=1 0
0 320
+2 60
fn=0x0000000064a11800
* 100

totals: 1680
`;

describe("bench harness, instructions under callgrind", () => {
  it("splits a dump's instructions into garbage collection, compilation and the rest, not counting a call's inclusive cost again", () => {
    // 320 + 200 + 1,000 + 60 + 100: the 320 after calls= is ScavengePage's own, counted once.
    expect(instructionParts(DUMP)).toEqual({ total: 1680, gc: 320, compile: 200 });
    expect(partsOf(new Map([["v8::internal::Scavenger::Process()", 4], ["v8::internal::compiler::GraphReducer::Reduce()", 2], ["Builtins_JsonParse", 4]]))).toEqual({ total: 10, gc: 4, compile: 2 });
    expect(() => instructionParts("events: Ir\nsummary: 0\n")).toThrow(/not a callgrind dump/);
    expect(functionCosts(DUMP)).toEqual(
      new Map([
        ["v8::internal::Scavenger::ScavengePage(v8::internal::MutablePage*)", 320],
        ["v8::internal::compiler::GraphReducer::ReduceTop()", 200],
        ["Builtins_JsonParse", 1060],
        ["0x0000000064a11800", 100],
      ]),
    );
    expect(["v8::internal::Scavenger::ScavengePage()", "v8::internal::compiler::GraphReducer::ReduceTop()", "Builtins_JsonParse"].map(functionKind)).toEqual(["gc", "compile", "rest"]);
  });

  it("names JIT code by V8's perf map, one name for a function whatever tier ran it", () => {
    const map = new PerfMap(["64a11000 100 JS:+'send worker.js:12:3", "64c07000 80 JS:^send worker.js:12:3", "64a12000 10 RegExp.< src: 'x'", "64a13000 10 JS:~ worker.js:1:1", ""].join("\n"));
    expect(map.name("0x0000000064a11040")).toBe("send (JS, worker.js:12:3)");
    expect(map.name("0x0000000064c0707f")).toBe("send (JS, worker.js:12:3)");
    expect(map.name("0x0000000064a13000")).toBe("(anonymous) (JS, worker.js:1:1)");
    // Past the end of a piece of code, and before the first: not named.
    expect(map.name("0x0000000064a11100")).toBe("0x0000000064a11100");
    expect(map.name("0x0000000000000010")).toBe("0x0000000000000010");
    expect(map.name("Builtins_JsonParse")).toBe("Builtins_JsonParse");
    expect(map.named(new Map([["0x0000000064a11000", 5], ["0x0000000064c07010", 7], ["main", 1]]))).toEqual(
      new Map([["send (JS, worker.js:12:3)", 12], ["main", 1]]),
    );
    // With a source map's answers: the source file, and the name a bundler had changed.
    const located = new PerfMap("64a11000 100 JS:+'send2 worker.js:12:3\n64a11000 40 JS:+'take worker.js:30:7\n", (line, column, name) =>
      line === 30 ? { at: "src/hub/token-bucket.ts", name } : { at: "src/hub/sender.ts", name: name.replace(/2$/, "") },
    );
    // Two pieces of code at one address: the one written later is what ran.
    expect(located.name("0x0000000064a11010")).toBe("take (src/hub/token-bucket.ts)");
    expect(located.name("0x0000000064a11050")).toBe("0x0000000064a11050");
  });

  it("says what to install when valgrind is not on the PATH", async () => {
    const dir = await mkdtemp(join(tmpdir(), "userhub-callgrind-"));
    const path = process.env.PATH;
    try {
      // A PATH with nothing on it: neither valgrind nor callgrind_control is found.
      process.env.PATH = dir;
      expect(() => callgrindWorkerd(dir)).toThrow("--instructions runs workerd under valgrind's callgrind: valgrind is not on the PATH (Debian: apt-get install valgrind)");
    } finally {
      process.env.PATH = path;
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("runs the in-process echo under callgrind and counts each round's instructions, or says what to install", { timeout: 180_000 }, async () => {
    let valgrind = true;
    try {
      execFileSync("sh", ["-c", "command -v valgrind && command -v callgrind_control"], { stdio: "pipe" });
    } catch {
      valgrind = false;
    }
    if (!valgrind) {
      // A machine without it gets a sentence naming the package, not a stack from a spawn.
      const dir = await mkdtemp(join(tmpdir(), "userhub-callgrind-"));
      try {
        expect(() => callgrindWorkerd(dir)).toThrow(/valgrind.*apt-get install valgrind/);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      return;
    }
    const before = process.env.MINIFLARE_WORKERD_PATH;
    const flags = process.env.MINIFLARE_WORKERD_V8_FLAGS;
    const mapsBefore = perfMaps();
    const eventLogsBefore = v8EventLogs();
    const results = await runInProcessEcho({ targets: ["floor", "floor-json"], rounds: 1, roundTrips: 200, count: "instructions" });
    for (const result of results) {
      // A round trip in workerd runs on the order of 10^5 instructions: not a handful, not billions.
      expect(result.medianUs, result.target).toBeGreaterThan(10_000);
      expect(result.medianUs, result.target).toBeLessThan(10_000_000);
      const [parts] = result.perRoundParts!;
      expect(parts!.gc + parts!.compile + parts!.rest).toBeCloseTo(result.perRound[0]!, 6);
      expect(parts!.rest, result.target).toBeGreaterThan(parts!.gc + parts!.compile);
      // The Worker's own JavaScript is named, through V8's perf map, in its source file (the bundle's source map).
      expect([...result.functions!.keys()].some((name) => /^webSocketMessage \(bench\/targets\/floor\/worker\.js\)$/.test(name)), result.target).toBe(true);
    }
    expect(process.env.MINIFLARE_WORKERD_PATH).toBe(before);
    expect(process.env.MINIFLARE_WORKERD_V8_FLAGS).toBe(flags);
    // The perf map V8 wrote is removed with the run.
    expect(perfMaps().filter((file) => !mapsBefore.includes(file))).toEqual([]);
    // And V8's event log, which the perf map turns on, is not left in the working directory either.
    expect(v8EventLogs().filter((file) => !eventLogsBefore.includes(file))).toEqual([]);
    expect(workerdChildren(process.pid, true)).toEqual([]);
  });
});

/** V8's perf maps in /tmp (`perf-<pid>.map`). */
function perfMaps(): string[] {
  return readdirSync("/tmp").filter((file) => /^perf-\d+\.map$/.test(file));
}

/** V8's event logs in the working directory (`isolate-<address>-<pid>-v8.log`), as workerd writes them there. */
function v8EventLogs(): string[] {
  return readdirSync(process.cwd()).filter((file) => /^isolate-.*-v8\.log$/.test(file));
}
