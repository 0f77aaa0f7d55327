/**
 * The full run's in-process phase: the hot-path goals' parts measured once
 * more in one workerd process with no network (in-process-echo.ts), where,
 * on a quiet machine, a round's figures agree to a few percent while the
 * network echo's separate processes differ by more than some goals'
 * margins. The goals' explanations cite it: whether the work a goal allows
 * beyond its floor (the parse and reply; userhub's row in its ring) already
 * costs more CPU per round trip than the goal leaves, before anything of
 * userhub's.
 *
 * The client's loop runs in the same process and is part of every target's
 * CPU per round trip: a ratio here is smaller than the hub's own work alone
 * would make it, so a part measured past a goal's margin is past it, and
 * one measured within it may not be.
 */
import { type InProcessResult, type InProcessTarget, pairSpread, runInProcessEcho } from "./in-process-echo.ts";
import { markdownTable } from "./results-table.ts";

/** The targets the phase runs: the floor and its two hand-written parts, and userhub's two echoes. */
export const IN_PROCESS_PHASE_TARGETS = ["floor", "floor-json", "userhub-signal", "floor-log", "row-slot", "userhub"] as const satisfies readonly InProcessTarget[];

/** Each pair the phase reports (`of` against `to`), and what the step between them is. */
export const IN_PROCESS_PAIRS: readonly { of: InProcessTarget; to: InProcessTarget; step: string }[] = [
  { of: "floor-json", to: "floor", step: "the parse and reply: each frame parsed, a signal frame built around its data" },
  { of: "userhub-signal", to: "floor-json", step: "userhub's `signal` around the same parse and reply" },
  { of: "row-slot", to: "floor-log", step: "userhub's row written into its ring by slot (the log's statements), by hand in the floor's loop" },
  { of: "userhub", to: "row-slot", step: "userhub's `send` around the same row" },
];

export interface InProcessPhaseOptions {
  readonly rounds: number;
  readonly roundTrips: number;
}

/** One pair's comparison: the median of per-round ratios, their quartiles, and the median per-round difference. */
export interface InProcessPair {
  readonly of: InProcessTarget;
  readonly to: InProcessTarget;
  readonly step: string;
  readonly ratio: number;
  readonly q1: number;
  readonly q3: number;
  readonly differenceUs: number;
}

export interface InProcessPhase extends InProcessPhaseOptions {
  readonly results: readonly InProcessResult[];
  readonly pairs: readonly InProcessPair[];
}

/** Runs the phase's targets in interleaved rounds in one workerd process, and compares each pair. */
export async function runInProcessPhase(options: InProcessPhaseOptions, progress: (line: string) => void): Promise<InProcessPhase> {
  const results = await runInProcessEcho({ targets: IN_PROCESS_PHASE_TARGETS, rounds: options.rounds, roundTrips: options.roundTrips, progress: (line) => progress(`in one process · ${line}`) });
  const pairs = IN_PROCESS_PAIRS.map(({ of, to, step }) => {
    const spread = pairSpread(results, of, to);
    return { of, to, step, ratio: spread.median, q1: spread.q1, q3: spread.q3, differenceUs: spread.differenceUs };
  });
  return { ...options, results, pairs };
}

const x = (ratio: number) => (Number.isFinite(ratio) ? `${ratio.toFixed(3)}×` : "n/a");
const us = (value: number) => (Number.isFinite(value) ? `${value >= 0 ? "+" : "−"}${Math.abs(value).toFixed(2)} µs` : "n/a");

/**
 * What the phase says of a goal: the hand-written part against its floor and
 * userhub against the part, and whether the part alone stays within `limit`,
 * the CPU per round trip the goal leaves (`limitWhy` says why that much).
 */
export function inProcessStory(phase: InProcessPhase | undefined, part: "floor-json" | "row-slot", limit: number, limitWhy: string): string {
  if (!phase) return "";
  const first = phase.pairs.find((p) => p.of === part);
  const rest = phase.pairs.find((p) => p.to === part);
  if (!first || !rest || !Number.isFinite(first.ratio) || !Number.isFinite(rest.ratio)) return "";
  // A verdict only where most rounds agree: the rounds' lower quartile past the limit, or their upper one within it.
  const verdict =
    first.q1 > limit
      ? `\`${part}\` alone is past the ${x(limit)} this goal leaves (${limitWhy}), in three rounds of four at least (quartiles ${x(first.q1)}–${x(first.q3)}): that work, by hand, costs more CPU than the goal allows, before anything of userhub's.`
      : first.q3 <= limit
        ? `\`${part}\` alone is within the ${x(limit)} this goal leaves (${limitWhy}), in three rounds of four at least (quartiles ${x(first.q1)}–${x(first.q3)}; the client's loop, counted in every figure here, makes the part's share look smaller than it is): the rest of the miss is userhub's own work, by this reading.`
        : `\`${part}\` alone straddles the ${x(limit)} this goal leaves (${limitWhy}; quartiles ${x(first.q1)}–${x(first.q3)}): this run cannot tell whether that work alone is past it.`;
  return (
    `In one workerd process with no network (${rounds(phase)}, CPU per round trip; "In one process" below): ` +
    `\`${first.of}\` ran at ${x(first.ratio)} \`${first.to}\` (${us(first.differenceUs)}), and \`${rest.of}\` at ${x(rest.ratio)} \`${rest.to}\` (${us(rest.differenceUs)}). ${verdict}`
  );
}

const rounds = (phase: InProcessPhaseOptions) =>
  `${phase.rounds} round${phase.rounds === 1 ? "" : "s"} of ${phase.roundTrips.toLocaleString("en-US")} round trips`;

/** The phase's section of latest.md. */
export function inProcessSection(phase: InProcessPhase): string[] {
  const rows = phase.results.map((r) => [`\`${r.target}\``, r.medianUs.toFixed(2), r.fastUs.toFixed(2)]);
  const pairs = phase.pairs.map((p) => [`\`${p.of}\` ÷ \`${p.to}\``, p.step, x(p.ratio), `${x(p.q1)}–${x(p.q3)}`, us(p.differenceUs)]);
  return [
    `### In one process`,
    "",
    `The hot path's parts once more, in one workerd process (bench/harness/in-process-echo.ts): a Worker sends each frame over a WebSocketPair to the target's Durable Object and waits for its delivery; ${rounds(phase)} per target, interleaved, each round's CPU (the whole process's, the client's loop included) read between two marks around its round trips. With no network, no client process and no second server process, a round's figures agree to a few percent on a quiet machine; the quartiles say how far they did in this run, and a goal's line draws a conclusion only where three rounds of four agree. The client's loop is in every target's figure, so each ratio here is smaller than the hubs' own work alone would make it. \`floor-json\` and \`floor-log\` are the floor with its switches; \`row-slot\` the floor's loop writing userhub's row into a ring keyed by slot with the log's statements; \`userhub-signal\` and \`userhub\` the demo's UserHub.`,
    "",
    markdownTable(["target", "CPU µs per round trip (median)", "fast rounds (10th percentile)"], rows, ["l", "r", "r"]),
    "",
    markdownTable(["pair", "the step", "median of per-round ratios", "quartiles", "median difference"], pairs, ["l", "l", "r", "r", "r"]),
    "",
  ];
}
