/**
 * Names for the functions an instruction count (instruction-count.ts) ran
 * in. callgrind names the runtime's and V8's own functions from workerd's
 * symbols, and JIT code only by its address: V8's map of the code it
 * generated (`--perf-basic-prof`: `/tmp/perf-<pid>.map`) names that code,
 * and the bundle's source map names its JavaScript by source file.
 *
 * @module
 */
import { statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { SourceMap } from "node:module";
import { dirname, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { REPOSITORY_ROOT } from "./revision-checkout.ts";

/** One measured round's functions as callgrind named them, and how long V8's perf map was when they were dumped. */
export interface CountedRound<T> {
  readonly target: T;
  readonly functions: ReadonlyMap<string, number>;
  readonly perfMapBytes: number;
}

/**
 * Where a function V8 names `name` at a bundle's line and column (1-based: its
 * parameters' opening parenthesis) came from: its source file and
 * its name there (a bundler renames one of two functions of the same name),
 * or null when the source map does not say.
 */
export type SourceLocator = (line: number, column: number, name: string) => { readonly at: string; readonly name: string } | null;

/**
 * V8's map of the code it generated (`--perf-basic-prof`: `/tmp/perf-<pid>.map`,
 * one line per piece of code: start, size, name), naming the addresses
 * callgrind gives JIT code. A JavaScript function is named once, whatever
 * tier ran it (`JS:+'send worker.js:12:3` and `JS:^send worker.js:12:3`
 * are both `send (JS, worker.js:12:3)`, or with `locate`, its source's
 * `send (src/hub/sender.ts)`), since a function changes tier as it warms up.
 *
 * V8 reuses the addresses of code it frees, and the map only grows: give it
 * the text as it stood when the counts were dumped (the map's length then),
 * and of two pieces of code at one address the later is taken.
 */
export class PerfMap {
  readonly #starts: number[];
  readonly #entries: { start: number; end: number; name: string }[];

  constructor(text: string, locate?: SourceLocator) {
    // Stable: of entries at one start, the one written last stays last.
    this.#entries = text
      .split("\n")
      .filter((line) => line.split(" ").length >= 3)
      .map((line) => {
        const [start, size, ...name] = line.split(" ");
        const at = Number.parseInt(start!, 16);
        return { start: at, end: at + Number.parseInt(size!, 16), name: jsName(name.join(" "), locate) };
      })
      .sort((a, b) => a.start - b.start);
    this.#starts = this.#entries.map((e) => e.start);
  }

  /** `name` as callgrind gave it, or the code's name when it is an address this map covers. */
  name(name: string): string {
    if (!/^0x[0-9a-f]+$/.test(name)) return name;
    const at = Number.parseInt(name.slice(2), 16);
    let lo = 0;
    let hi = this.#starts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.#starts[mid]! <= at) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    const entry = found >= 0 ? this.#entries[found]! : undefined;
    return entry && at < entry.end ? entry.name : name;
  }

  /** `costs` with every address this map covers named (costs of one name added together). */
  named(costs: ReadonlyMap<string, number>): Map<string, number> {
    const named = new Map<string, number>();
    for (const [name, cost] of costs) {
      const key = this.name(name);
      named.set(key, (named.get(key) ?? 0) + cost);
    }
    return named;
  }
}

/**
 * A JavaScript function's name in a perf map without its tier (`JS:+'name file:line:col` → `name (JS, file:line:col)`),
 * or with its source file when `locate` knows it (`name (src/hub/sender.ts)`).
 */
function jsName(name: string, locate?: SourceLocator): string {
  const js = /^JS:[~^+*]'?(\S*) (.+)$/.exec(name);
  if (!js) return name;
  const fn = js[1] || "(anonymous)";
  const at = /:(\d+):(\d+)$/.exec(js[2]!);
  const source = at && locate ? locate(Number(at[1]), Number(at[2]), js[1] ?? "") : null;
  return source ? `${source.name || "(anonymous)"} (${source.at})` : `${fn} (JS, ${js[2]})`;
}

/** A file's size in bytes; 0 when it is not there (yet). */
export function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/**
 * Per target, each function's own instructions per round trip (summed over
 * its rounds, divided by every round trip of them): JIT code named from V8's
 * perf map as it stood when the round was dumped, and its JavaScript by the
 * source file the bundle's map gives, relative to this tree or to
 * `baseRoot` (so a function the two revisions share has one name).
 */
export async function namedFunctions<T>(
  rounds: readonly CountedRound<T>[],
  perfMap: string,
  sourceMapFile: string,
  baseRoot: string | undefined,
  roundTripsPerTarget: number,
): Promise<Map<T, Map<string, number>>> {
  const text = await readFile(perfMap).catch(() => Buffer.alloc(0));
  const sourceMap = new SourceMap(JSON.parse(await readFile(sourceMapFile, "utf8")));
  type Entry = { originalSource?: string; originalLine?: number; name?: string };
  const locate: SourceLocator = (line, column, name) => {
    const entry = sourceMap.findEntry(line - 1, column - 1) as Entry;
    if (entry.originalSource === undefined || entry.originalLine === undefined) return null;
    const file = entry.originalSource.startsWith("file:") ? fileURLToPath(entry.originalSource) : resolve(dirname(sourceMapFile), entry.originalSource);
    const root = baseRoot !== undefined && file.startsWith(baseRoot + sep) ? baseRoot : REPOSITORY_ROOT;
    // The name as the source wrote it: the map names an identifier the bundler renamed (`send2` for a second `send`), at the identifier.
    const bare = name.replace(/^(get|set) /, "");
    const renamed = bare && !bare.startsWith("#") ? (sourceMap.findEntry(line - 1, column - 1 - bare.length) as Entry).name : undefined;
    // The file without the line: a function keeps its name where an edit above it moved it (a --base run's two revisions).
    return { at: relative(root, file), name: renamed && name !== bare ? name.replace(bare, renamed) : (renamed ?? name) };
  };
  const maps = new Map<number, PerfMap>();
  const named = new Map<T, Map<string, number>>();
  for (const round of rounds) {
    // The map as it stood at the dump: an address V8 reused later names the code that ran then.
    let map = maps.get(round.perfMapBytes);
    if (!map) maps.set(round.perfMapBytes, (map = new PerfMap(text.subarray(0, round.perfMapBytes).toString("utf8"), locate)));
    let sum = named.get(round.target);
    if (!sum) named.set(round.target, (sum = new Map()));
    for (const [name, cost] of map.named(round.functions)) sum.set(name, (sum.get(name) ?? 0) + cost / roundTripsPerTarget);
  }
  return named;
}
