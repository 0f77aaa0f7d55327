/**
 * The full run's in-process phase: the hot-path goals' parts measured once
 * more in one workerd process with no network (in-process-echo.ts), where a
 * part's cost is not spread over separate server processes. The goals'
 * explanations cite it in microseconds: what the work a goal allows beyond
 * its floor (the parse and reply; userhub's row in its ring) costs a round
 * trip here, against what the goal leaves over the network floor's own time
 * (or CPU) per message. Microseconds, not ratios: a ratio here has this
 * process's round trip under it (the client's loop in it, no socket work),
 * not the network server's, so it is not the goal's ratio; the extra work a
 * part does is the same JavaScript and SQLite either way.
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
  /** The quartiles of the per-round differences, µs. */
  readonly differenceQ1Us: number;
  readonly differenceQ3Us: number;
}

export interface InProcessPhase extends InProcessPhaseOptions {
  readonly results: readonly InProcessResult[];
  readonly pairs: readonly InProcessPair[];
}

/** Runs the phase's targets in interleaved rounds in one workerd process, and compares each pair. */
export async function runInProcessPhase(options: InProcessPhaseOptions, progress: (line: string) => void): Promise<InProcessPhase> {
  const results = await runInProcessEcho({ targets: IN_PROCESS_PHASE_TARGETS, rounds: options.rounds, roundTrips: options.roundTrips, progress: (line) => progress(`in one process · ${line}`) });
  const pairs = IN_PROCESS_PAIRS.map(({ of, to, step }) => {
    const { median: ratio, ...spread } = pairSpread(results, of, to);
    return { of, to, step, ratio, ...spread };
  });
  return { ...options, results, pairs };
}

const x = (ratio: number) => (Number.isFinite(ratio) ? `${ratio.toFixed(3)}×` : "n/a");
const us = (value: number) => (Number.isFinite(value) ? `${value >= 0 ? "+" : "−"}${Math.abs(value).toFixed(2)} µs` : "n/a");

/** What a goal leaves a part: `marginUs` more than the network floor's `baseUs` a message, and how that was reckoned. */
export interface GoalMargin {
  readonly marginUs: number;
  /** E.g. "5% of the floor's 38.9 µs a message at 10 connections (1 / its throughput)". */
  readonly reckoning: string;
}

/**
 * What the phase says of a goal: what the hand-written part costs a round
 * trip over its floor, and userhub over the part, in µs, and whether the
 * part alone stays within the goal's margin over the network floor. A
 * verdict only where three rounds of four agree: the part's lower quartile
 * of per-round differences past the margin, or its upper one within it.
 */
export function inProcessStory(phase: InProcessPhase | undefined, part: "floor-json" | "row-slot", margin: GoalMargin | null): string {
  if (!phase || !margin || !Number.isFinite(margin.marginUs)) return "";
  const first = phase.pairs.find((p) => p.of === part);
  const rest = phase.pairs.find((p) => p.to === part);
  if (!first || !rest || !Number.isFinite(first.differenceUs) || !Number.isFinite(rest.differenceUs)) return "";
  const quartiles = `quartiles ${us(first.differenceQ1Us)} to ${us(first.differenceQ3Us)}`;
  const leaves = `the ${us(margin.marginUs)} the goal leaves (${margin.reckoning})`;
  const verdict =
    first.differenceQ1Us > margin.marginUs
      ? `That is past ${leaves} in three rounds of four at least (${quartiles}): the part by hand costs more than the margin, before anything else of userhub's.`
      : first.differenceQ3Us <= margin.marginUs
        ? `That is within ${leaves} in three rounds of four at least (${quartiles}): userhub's own work around it is what overran the margin.`
        : `That straddles ${leaves} (${quartiles}): this run cannot tell whether the part alone is past it.`;
  return (
    `In one workerd process with no network (${rounds(phase)}; "In one process" below), \`${first.of}\` cost ${us(first.differenceUs)} a round trip over \`${first.to}\` and \`${rest.of}\` ${us(rest.differenceUs)} over \`${rest.to}\` (medians of per-round differences). ${verdict}`
  );
}

const rounds = (phase: InProcessPhaseOptions) =>
  `${phase.rounds} round${phase.rounds === 1 ? "" : "s"} of ${phase.roundTrips.toLocaleString("en-US")} round trips`;

/** The phase's section of latest.md. */
export function inProcessSection(phase: InProcessPhase): string[] {
  const rows = phase.results.map((r) => [`\`${r.target}\``, r.medianUs.toFixed(2), r.fastUs.toFixed(2)]);
  const pairs = phase.pairs.map((p) => [`\`${p.of}\` − \`${p.to}\``, p.step, us(p.differenceUs), `${us(p.differenceQ1Us)} to ${us(p.differenceQ3Us)}`, x(p.ratio)]);
  return [
    `### In one process`,
    "",
    `The hot path's parts once more, in one workerd process (bench/harness/in-process-echo.ts): a Worker sends each frame over a WebSocketPair to the target's Durable Object and waits for its delivery; ${rounds(phase)} per target, interleaved, each round's CPU (the whole process's, the client's loop included) read between two marks around its round trips. With no network, no client process and no second server process, what a part adds is not spread over processes; the quartiles say how far the rounds agreed in this run, and a goal's line draws a conclusion only where three rounds of four agree. The client's loop is in every target's figure and no socket work is, so a ratio here is not the network goals' ratio: the goals' lines compare what a part adds, in µs, with what the goal leaves over the network floor's own time per message. \`floor-json\` and \`floor-log\` are the floor with its switches; \`row-slot\` the floor's loop writing userhub's row into a ring keyed by slot with the log's statements; \`userhub-signal\` and \`userhub\` the demo's UserHub.`,
    "",
    markdownTable(["target", "CPU µs per round trip (median)", "fast rounds (10th percentile)"], rows, ["l", "r", "r"]),
    "",
    markdownTable(["pair", "the step", "median of per-round differences", "quartiles", "median of per-round ratios"], pairs, ["l", "l", "r", "r", "r"]),
    "",
  ];
}
