/**
 * The direct-message phase: userhub's `direct` frame (alice → bob, both with
 * a socket open) against the two-object floor (bench/targets/floor-direct:
 * one RPC from alice's object to bob's, one INSERT there, then bob's
 * sockets), in interleaved rounds on servers running side by side, as the
 * other workloads are. Ratios are userhub's over the floor's, per round, then
 * medians. Its medians, ratios, goal and report section live here, beside
 * the phase, so the rest of the harness only calls it.
 */
import type { GoalCheck } from "./bench-results.ts";
import { median } from "./latency-summary.ts";
import { formatRatio, formatValue, markdownTable } from "./results-table.ts";
import type { TargetServer } from "./target-server.ts";
import { TARGETS } from "./targets.ts";
import { type DirectRoute, type DirectSample, runDirect } from "./workloads/direct-messages.ts";

/** The two sides compared: userhub, and the floor its ratios are taken to. */
export type DirectSide = "userhub" | "floor-direct";

/** How each side's sender addresses a message to bob. */
export const DIRECT_ROUTES: Readonly<Record<DirectSide, DirectRoute>> = {
  // No client message id: an `id` adds an idempotency row on each side, and the floor keeps none.
  userhub: { target: TARGETS.userhub, directFrame: (to, n) => `{"type":"direct","to":${JSON.stringify(to)},"data":${n}}` },
  "floor-direct": { target: TARGETS["floor-direct"], directFrame: (to, n) => `to:${to}\n${n}` },
};

export interface DirectSummary {
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly cpuMsPer1k: number;
}

/** userhub over the floor, per metric: the median of the per-round ratios. */
export interface DirectRatios {
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly cpuMsPer1k: number;
}

/** What the phase measured, by side and then by number of pairs. */
export interface DirectResults {
  readonly pairs: readonly number[];
  readonly samples: Readonly<Record<DirectSide, Readonly<Record<string, readonly DirectSample[]>>>>;
  readonly summary: Readonly<Record<DirectSide, Readonly<Record<string, DirectSummary>>>>;
  readonly ratios: Readonly<Record<string, DirectRatios>>;
}

export interface DirectPhaseOptions {
  readonly rounds: number;
  /** Pairs of users (each its own closed loop) per run. */
  readonly pairs: readonly number[];
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly progress: (line: string) => void;
}

/** Runs every round: per pair count, both sides back to back, the first side alternating from round to round. */
export async function runDirectPhase(servers: Readonly<Record<DirectSide, TargetServer>>, options: DirectPhaseOptions): Promise<DirectResults> {
  const samples: Record<DirectSide, Record<string, DirectSample[]>> = { userhub: {}, "floor-direct": {} };
  const sides: DirectSide[] = ["userhub", "floor-direct"];
  for (let round = 0; round < options.rounds; round++) {
    for (const [index, pairs] of options.pairs.entries()) {
      const order = (round + index) % 2 === 0 ? sides : [...sides].reverse();
      for (const side of order) {
        const sample = await runDirect(servers[side], DIRECT_ROUTES[side], {
          pairs,
          warmupMs: options.warmupMs,
          durationMs: options.durationMs,
          userPrefix: `direct${pairs}-r${round}`,
        });
        (samples[side][String(pairs)] ??= []).push(sample);
        options.progress(
          `round ${round + 1}/${options.rounds} · direct ×${pairs} · ${side}: ${Math.round(sample.perSecond)}/s, p50 ${sample.p50Ms.toFixed(2)} ms, p99 ${sample.p99Ms.toFixed(2)} ms, ${Math.round(sample.cpuMsPer1k)} CPU ms/1k`,
        );
      }
    }
  }
  return summarizeDirect(samples, options.pairs);
}

/** Medians per side and pair count, and userhub's per-round ratios to the floor. */
export function summarizeDirect(samples: DirectResults["samples"], pairs: readonly number[]): DirectResults {
  const summarize = (runs: readonly DirectSample[]): DirectSummary => ({
    perSecond: median(runs.map((r) => r.perSecond)),
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    cpuMsPer1k: median(runs.map((r) => r.cpuMsPer1k)),
  });
  const summary = {
    userhub: Object.fromEntries(Object.entries(samples.userhub).map(([p, runs]) => [p, summarize(runs)])),
    "floor-direct": Object.fromEntries(Object.entries(samples["floor-direct"]).map(([p, runs]) => [p, summarize(runs)])),
  };
  const ratios = Object.fromEntries(
    pairs.map((p) => {
      const mine = samples.userhub[String(p)] ?? [];
      const floor = samples["floor-direct"][String(p)] ?? [];
      const ratio = (field: keyof DirectRatios) =>
        mine.length > 0 && mine.length === floor.length ? median(mine.map((s, round) => s[field] / floor[round]![field])) : Number.NaN;
      return [String(p), { perSecond: ratio("perSecond"), p50Ms: ratio("p50Ms"), cpuMsPer1k: ratio("cpuMsPer1k") }];
    }),
  );
  return { pairs, samples, summary, ratios };
}

/**
 * The goal: userhub's direct message does twice the floor's durable work
 * (the recipient's row and the sender's copy, each sent to that user's
 * sockets) plus its framework's, so it is held to half the floor's
 * throughput and twice its CPU, at one pair.
 */
export function directGoals(direct: DirectResults): GoalCheck[] {
  const p = String(direct.pairs[0]);
  const ratios = direct.ratios[p];
  const mine = direct.summary.userhub[p];
  const floor = direct.summary["floor-direct"][p];
  if (!ratios || !mine || !floor) return [];
  const met = ratios.perSecond >= 0.5 && ratios.cpuMsPer1k <= 2;
  return [
    {
      id: "direct",
      goal: `direct messages (alice → bob, ${p} pair${p === "1" ? "" : "s"}): ≥ 0.5× the two-object floor's throughput, CPU per message ≤ 2× (userhub writes and sends the sender's copy too)`,
      measured: `${formatRatio(ratios.perSecond)} throughput (${formatValue(mine.perSecond)} vs ${formatValue(floor.perSecond)}/s), ${formatRatio(ratios.cpuMsPer1k)} CPU (${formatValue(mine.cpuMsPer1k)} vs ${formatValue(floor.cpuMsPer1k)} ms/1k), p50 ${formatValue(mine.p50Ms)} vs ${formatValue(floor.p50Ms)} ms`,
      met,
      explanation: met
        ? ""
        : `Per message userhub took ${formatValue(mine.cpuMsPer1k / 1000)} CPU ms against the floor's ${formatValue(floor.cpuMsPer1k / 1000)}; the floor writes one row and makes one send, userhub two of each.`,
    },
  ];
}

/** The report's section on direct messages. */
export function directSection(direct: DirectResults, rounds: number): string[] {
  const rows = direct.pairs.flatMap((p) =>
    (["userhub", "floor-direct"] as const).map((side) => {
      const s = direct.summary[side][String(p)];
      const r = direct.ratios[String(p)];
      return [
        `${side}`,
        String(p),
        s ? `${formatValue(s.perSecond)}${side === "userhub" && r ? ` (${formatRatio(r.perSecond)})` : ""}` : "n/a",
        s ? `${formatValue(s.p50Ms)}${side === "userhub" && r ? ` (${formatRatio(r.p50Ms)})` : ""} / ${formatValue(s.p99Ms)}` : "n/a",
        s ? `${formatValue(s.cpuMsPer1k)}${side === "userhub" && r ? ` (${formatRatio(r.cpuMsPer1k)})` : ""}` : "n/a",
      ];
    }),
  );
  return [
    `### Direct messages between users`,
    "",
    `Pairs of users, each a socket of the sender (alice) and one of the recipient (bob), each pair a closed loop: alice's socket sends, the next message goes when bob's socket got it. ` +
      `userhub: the demo's \`{"type":"direct","to":…,"data":n}\` (no client message id), carried over Durable Object RPC into bob's log, then alice's copy logged in hers and sent to her socket. ` +
      `\`floor-direct\`: one RPC from alice's hand-written object to bob's, one INSERT there, then bob's socket (bench/targets/floor-direct). Medians of ${rounds} rounds; in parentheses, the median of the per-round ratios to the floor.`,
    "",
    markdownTable(["target", "pairs", "messages/s", "p50 / p99 ms (send → bob)", "CPU ms / 1k messages"], rows),
    "",
  ];
}
