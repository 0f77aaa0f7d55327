/**
 * `npm run bench:noisy`: the noisy-neighbour workload alone, then bursts
 * from many sockets of one user (socket-burst.ts), on workerd (the bench's
 * Miniflare harness, the demo Worker) and on Deno (the demo server), each
 * with userhub's default limits and, for comparison, with its limits turned
 * out of reach. Writes bench/results/noisy-neighbour.json and
 * noisy-neighbour.md (the flood's goal: the quiet user's p99 within 2× of
 * its quiet p99; the bursts': the quiet user's longest wait, reported).
 *
 *   npm run bench:noisy                  both hosts, limits on and off
 *   npm run bench:noisy -- --duration 5000 --no-unlimited
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { DEFAULT_CONFIG } from "../src/index.ts";
import { startDenoDemo } from "../test/support/deno-demo.ts";
import { cpus, loadavg } from "node:os";
import { measuredCommit } from "./harness/machine-description.ts";
import { storageRoot } from "./harness/storage-root.ts";
import { bundleTargets, startTarget } from "./harness/target-launcher.ts";
import { LIMITS_OUT_OF_REACH, type Target, TARGETS } from "./harness/targets.ts";
import { type NoisyNeighbourSample, runNoisyNeighbour } from "./harness/workloads/noisy-neighbour.ts";
import { runSocketBurst, type SocketBurstSample } from "./harness/workloads/socket-burst.ts";
import { DEFAULT_HEARTBEAT } from "./harness/userhub-defaults.ts";

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "8000" },
    "no-unlimited": { type: "boolean", default: false },
    out: { type: "string" },
  },
});
const durationMs = Number(values.duration);
/** The secret the bench's userhub target signs its tokens with (targets.ts); the Deno demo is given the same. */
const BENCH_JWT_SECRET = "userhub-bench-secret";
/** Limits out of reach: what the hub did before it had any. */
const UNLIMITED = LIMITS_OUT_OF_REACH;
const GOAL_RATIO = 2;
const VICTIM_PERIOD_MS = 20;

interface Row {
  readonly host: "workerd" | "deno";
  readonly limits: "default" | "off";
  readonly sample: NoisyNeighbourSample;
}

const rows: Row[] = [];
/** Bursts within each socket's limits from many sockets of one user (bench/harness/workloads/socket-burst.ts). */
const BURSTS = [
  { sockets: 32, framesEach: 150 },
  { sockets: 8, framesEach: 1000 },
] as const;
interface BurstRow {
  readonly host: Row["host"];
  readonly limits: Row["limits"];
  readonly sample: SocketBurstSample;
}
const burstRows: BurstRow[] = [];
const bursts = async (host: Row["host"], limits: Row["limits"], url: string, target: Target) => {
  for (const burst of BURSTS) {
    const sample = await runSocketBurst(url, target, { ...burst, victimPeriodMs: VICTIM_PERIOD_MS, afterMs: 8_000, userPrefix: `${host}-${limits}-burst-${burst.sockets}-${Date.now()}` });
    burstRows.push({ host, limits, sample });
  }
};
const startedAt = new Date();
const variants: Row["limits"][] = values["no-unlimited"] ? ["default"] : ["default", "off"];
const workload = (prefix: string) => ({ durationMs, floodWarmupMs: 1_000, victimPeriodMs: VICTIM_PERIOD_MS, userPrefix: `${prefix}-${Date.now()}` });

const bundleDir = await mkdtemp(join(tmpdir(), "userhub-noisy-bundles-"));
try {
  const bundles = await bundleTargets([TARGETS.userhub], bundleDir);
  for (const limits of variants) {
    // The bench's userhub target has its limits out of reach (its closed loops would trip them): "default" takes them out again.
    const target: Target = {
      ...TARGETS.userhub,
      bindings: (profile, heartbeat) => {
        const bindings = { ...TARGETS.userhub.bindings!(profile, heartbeat) };
        if (limits === "default") for (const name of Object.keys(UNLIMITED)) delete bindings[name];
        return bindings;
      },
    };
    console.log(`workerd, limits ${limits}…`);
    const server = await startTarget(target, "throughput", DEFAULT_HEARTBEAT, bundles, storageRoot("memory"));
    try {
      rows.push({ host: "workerd", limits, sample: await runNoisyNeighbour(server.url, target, workload(`workerd-${limits}`)) });
      await bursts("workerd", limits, server.url, target);
    } finally {
      await server.stop();
    }
    console.log(`deno, limits ${limits}…`);
    const demo = await startDenoDemo({ vars: { JWT_SECRET: BENCH_JWT_SECRET, ...(limits === "off" ? UNLIMITED : {}) } });
    try {
      rows.push({ host: "deno", limits, sample: await runNoisyNeighbour(demo.url, TARGETS.userhub, workload(`deno-${limits}`)) });
      await bursts("deno", limits, demo.url, TARGETS.userhub);
    } finally {
      await demo.stop();
    }
  }
} finally {
  await rm(bundleDir, { recursive: true, force: true });
}

const round = (n: number) => Math.round(n * 10) / 10;
const lines = [
  "# Noisy neighbour",
  "",
  `Run ${startedAt.toISOString()} at commit ${measuredCommit()}, ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)} at the end (a shared machine); \`npm run bench:noisy\`.`,
  "",
  `One user's echo (\`send\` → delivery, one every ${VICTIM_PERIOD_MS} ms: an honest client, under the default ${DEFAULT_CONFIG.rate.framesPerSecond} frames/s; ${durationMs / 1000} s per phase) alone, then while another user's socket floods`,
  "`send` frames as fast as one Node client writes them (reconnecting whenever it is closed). Goal: the quiet user's p99",
  `under the flood within ${GOAL_RATIO}× its quiet p99. "limits off" raises the per-socket rates and Deno's backlog out of reach.`,
  "",
  "| host | limits | quiet p50 / p99 ms | noisy p50 / p99 ms | p99 ratio | goal ≤ 2× | flood frames/s | rate_limited notices | closes | 429s |",
  "|---|---|---|---|---|---|---|---|---|---|",
  ...rows.map(({ host, limits, sample: s }) =>
    `| ${host} | ${limits} | ${round(s.quiet.p50Ms)} / ${round(s.quiet.p99Ms)} | ${round(s.noisy.p50Ms)} / ${round(s.noisy.p99Ms)} | ${round(s.p99Ratio)}× | ${s.p99Ratio <= GOAL_RATIO ? "met" : "not met"} | ${s.flood.framesPerSecond} | ${s.flood.rateLimitedNotices} | ${Object.entries(s.flood.closes).map(([k, v]) => `${v}× ${k}`).join("; ") || "none"} | ${s.flood.upgradesRefused} |`,
  ),
  "",
  "## A burst within the limits from many sockets of one user",
  "",
  `The same quiet user's echo while another user's sockets stop reading and each writes its frames at once: \`signal\` frames, each within its own socket's burst, every one fanned out by the demo's hub to all of that user's sockets. With the default limits a user's sockets share one budget (twice one socket's rate, one socket's burst); "limits off" puts every limit, that one too, out of reach. What counts is the quiet user's longest wait (one still unanswered 8 s after the burst counts as long as it waited).`,
  "",
  "| host | limits | sockets × frames | quiet before: longest ms | during: longest ms | during: p99 ms |",
  "|---|---|---|---|---|---|",
  ...burstRows.map(({ host, limits, sample: b }) => `| ${host} | ${limits} | ${b.sockets} × ${b.framesEach} | ${round(b.beforeMaxMs)} | ${round(b.duringMaxMs)} | ${round(b.duringP99Ms)} |`),
  "",
];
const outDir = values.out ?? fileURLToPath(new URL("./results/", import.meta.url));
await writeFile(join(outDir, "noisy-neighbour.json"), `${JSON.stringify({ startedAt: startedAt.toISOString(), durationMs, goalRatio: GOAL_RATIO, rows, bursts: burstRows }, null, 2)}\n`);
await writeFile(join(outDir, "noisy-neighbour.md"), lines.join("\n"));
console.log(lines.join("\n"));
