// Runs every test suite, at most CONCURRENCY at a time, then prints ONE final
// line "N passed, N failed[, N skipped]". Exits non-zero if any test failed or
// any suite crashed / reported no results.
//
// Suites start in the order of SUITES, the longest (e2e, mostly waiting on
// servers and timeouts) first, so the others run beside it. One suite's output
// streams live at a time; the others' is held and printed whole, header to
// summary, when each ends (or streams on once it is the oldest still running),
// so no two suites' lines interleave. RUN_ALL_CONCURRENCY=1 runs them one after
// another.
//
// Children are started through `npx`, which puts node_modules/.bin first on
// PATH, so they get the Node 22 from the `node` devDependency even when this
// script itself is started with an older system node.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

// ---- The suites, longest first. Add one line per suite. ----
// The first is the long pole (the e2e soak alone is CPU-bound for minutes on a
// loaded 2-core machine); the others finish with time to spare beside it, so
// they run at a lower CPU priority (NICE_BESIDE) and leave it the cores first.
const SUITES = [
  { name: 'vitest e2e', vitestProject: 'e2e' },
  { name: 'vitest workerd', vitestProject: 'workerd' },
  { name: 'vitest unit', vitestProject: 'unit' },
  { name: 'vitest client', vitestProject: 'client' },
  // The probe finds a Chromium (test/support/chromium.ts); exit 3 means none can be had here.
  { name: 'vitest browser', vitestProject: 'browser', probe: ['node', 'test/support/chromium-probe.ts'] },
  // deno's default test-file pattern for test/deno; only *_test.ts in src/deno.
  { name: 'deno', denoFiles: [['test/deno', /(^|[._])test\.(ts|tsx|mts|js|mjs|jsx)$/], ['src/deno', /_test\.ts$/]] },
];

const VITEST_CONFIGS = ['vitest.config.ts', 'vitest.config.mts', 'vitest.config.js', 'vitest.config.mjs'];

/** The niceness of every suite but the first (see SUITES). */
const NICE_BESIDE = 5;

/** How many suites run at once (2 cores here: one waits on servers, the other computes). */
const CONCURRENCY = Math.max(1, Number(process.env.RUN_ALL_CONCURRENCY) || 2);

// ---- Output: one suite streams live, the others are held. ----

/** Whether the last character written to the terminal ended a line (a held block may go in only then). */
let atLineStart = true;
/** Held output of suites that ended while another streamed, waiting for a line end of the live one. */
const endedBlocks = [];

function emit(stream, chunk) {
  if (chunk.length === 0) return;
  stream.write(chunk);
  atLineStart = typeof chunk === 'string' ? chunk.endsWith('\n') : chunk[chunk.length - 1] === 0x0a;
}

function flushEndedBlocks() {
  while (atLineStart && endedBlocks.length > 0) {
    for (const [stream, chunk] of endedBlocks.shift()) emit(stream, chunk);
    if (!atLineStart) emit(process.stdout, '\n');
  }
}

/** One suite's stdout and stderr: written through while it is live, else kept in order until it is or it ends. */
class SuiteOutput {
  #held = [];
  #live = false;
  ended = false;

  /** @param {number} nice the niceness of the suite's processes */
  constructor(nice) {
    this.nice = nice;
  }

  write(stream, chunk) {
    if (!this.#live) {
      this.#held.push([stream, chunk]);
      return;
    }
    emit(stream, chunk);
    flushEndedBlocks();
  }

  log(line) {
    this.write(process.stdout, `${line}\n`);
  }

  goLive() {
    this.#live = true;
    for (const [stream, chunk] of this.#held.splice(0)) emit(stream, chunk);
    if (!atLineStart) emit(process.stdout, '\n');
  }

  /** The suite is over: a held suite's whole output is printed at the next line end of the live one. */
  end() {
    this.ended = true;
    if (this.#live) return;
    endedBlocks.push(this.#held.splice(0));
    flushEndedBlocks();
  }

  get live() {
    return this.#live;
  }
}

/** Suites started and not yet promoted past, oldest first; the oldest still running streams live. */
const outputs = [];

function promote() {
  if (outputs.some((o) => o.live && !o.ended)) return;
  flushEndedBlocks();
  outputs.find((o) => !o.ended && !o.live)?.goLive();
}

/** Spawn `npx --no-install <args>` in ROOT, its output to `output`. With `capture`, also return it. */
function run(args, output, { capture = false } = {}) {
  return new Promise((resolve) => {
    const child = spawn('npx', ['--no-install', ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Output goes through a pipe now; keep the colours a terminal would get.
      env: process.stdout.isTTY && process.env.FORCE_COLOR === undefined && process.env.NO_COLOR === undefined
        ? { ...process.env, FORCE_COLOR: '1' }
        : process.env,
    });
    // Set before npx starts anything: every process of the suite inherits it.
    if (output.nice && child.pid !== undefined) {
      try {
        setPriority(child.pid, output.nice);
      } catch {
        // Not permitted here: the suite runs at the normal priority.
      }
    }
    let out = '';
    for (const [stream, sink] of [[child.stdout, process.stdout], [child.stderr, process.stderr]]) {
      stream.on('data', (chunk) => {
        if (capture) out += chunk;
        output.write(sink, chunk);
      });
    }
    child.on('error', (err) => resolve({ code: -1, out: `${out}\n${err.message}` }));
    child.on('close', (code, signal) => resolve({ code: code ?? `signal ${signal}`, out }));
  });
}

/** Exit code of a probe that found nothing to run the suite with: skip, do not fail. */
const PROBE_UNAVAILABLE = 3;

/** Runs the suite's probe: undefined to go on, or a skip reason, or a failure. */
async function runProbe(suite, output) {
  const { code, out } = await run(suite.probe, output, { capture: true });
  const line = stripVTControlCharacters(out).trim().split('\n').pop() ?? '';
  if (code === 0) return undefined;
  if (code === PROBE_UNAVAILABLE) return { skipReason: line };
  return { code, passed: 0, failed: 0, skipped: 0, probeFailed: line };
}

async function runVitest(suite, output) {
  if (suite.probe) {
    const probed = await runProbe(suite, output);
    if (probed) return probed;
  }
  const config = VITEST_CONFIGS.find((f) => existsSync(join(ROOT, f)));
  // Cheap presence check without loading the config: the project name must
  // appear as a string literal in it (e.g. `name: "workerd"`).
  const quoted = new RegExp(`["'\`]${suite.vitestProject}["'\`]`);
  if (!config || !quoted.test(readFileSync(join(ROOT, config), 'utf8'))) {
    return { skipReason: `no vitest project "${suite.vitestProject}" in ${config ?? 'vitest.config.*'}` };
  }
  const dir = mkdtempSync(join(tmpdir(), 'run-all-'));
  const jsonFile = join(dir, 'results.json');
  try {
    // vitest 5: several --reporter flags; --outputFile.json only affects the json reporter.
    const { code } = await run(['vitest', 'run', '--project', suite.vitestProject,
      '--reporter=default', '--reporter=json', `--outputFile.json=${jsonFile}`], output);
    if (!existsSync(jsonFile)) return { code, passed: 0, failed: 0, skipped: 0 };
    const r = JSON.parse(readFileSync(jsonFile, 'utf8'));
    return {
      code,
      passed: r.numPassedTests ?? 0,
      failed: r.numFailedTests ?? 0,
      skipped: (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function listFiles(dir, pattern) {
  if (!existsSync(join(ROOT, dir))) return [];
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && pattern.test(e.name) && !e.parentPath.includes('node_modules'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)))
    .sort();
}

async function runDeno(suite, output) {
  const files = suite.denoFiles.flatMap(([dir, pattern]) => listFiles(dir, pattern));
  if (files.length === 0) return { skipReason: `no test files in ${suite.denoFiles.map(([d]) => d).join(' or ')}` };
  const { code, out } = await run(['deno', 'test', '-A', ...files], output, { capture: true });
  // Summary line, e.g. "FAILED | 2 passed (1 step) | 1 failed | 1 ignored (11ms)".
  const summary = stripVTControlCharacters(out).split('\n').reverse().find((l) => /^(ok|FAILED) \|/.test(l));
  const count = (word) => Number(summary?.match(new RegExp(`(\\d+) ${word}`))?.[1] ?? 0);
  return { code, passed: count('passed'), failed: count('failed'), skipped: count('ignored') };
}

const total = { passed: 0, failed: 0, skipped: 0 };
const problems = [];
let ran = 0;

async function runSuite(suite) {
  const output = new SuiteOutput(suite === SUITES[0] ? 0 : NICE_BESIDE);
  outputs.push(output);
  promote();
  output.log(`\n=== ${suite.name} ===`);
  const r = suite.vitestProject ? await runVitest(suite, output) : await runDeno(suite, output);
  if (r.skipReason) {
    output.log(`--- skipping suite "${suite.name}": ${r.skipReason}`);
  } else {
    ran++;
    total.passed += r.passed;
    total.failed += r.failed;
    total.skipped += r.skipped;
    // A crash or config error may exit non-zero with no failed tests; a suite
    // that reports nothing at all is broken too. Either counts as one failure.
    if (r.probeFailed) {
      total.failed++;
      problems.push(`suite "${suite.name}" not run: ${r.probeFailed}`);
    } else if ((r.code !== 0 && r.failed === 0) || r.passed + r.failed + r.skipped === 0) {
      total.failed++;
      problems.push(`suite "${suite.name}" exited with ${r.code} after reporting ${r.passed} passed, ${r.failed} failed`);
    }
    output.log(`--- ${suite.name}: ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped (exit ${r.code})`);
  }
  output.end();
  promote();
}

const queue = [...SUITES];
await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, async () => {
  while (queue.length > 0) await runSuite(queue.shift());
}));
flushEndedBlocks();

console.log('');
if (ran === 0) console.log('No test suites found yet; nothing was run.');
for (const p of problems) console.log(`ERROR: ${p}`);
console.log(`${total.passed} passed, ${total.failed} failed` + (total.skipped ? `, ${total.skipped} skipped` : ''));
process.exitCode = total.failed > 0 ? 1 : 0;
