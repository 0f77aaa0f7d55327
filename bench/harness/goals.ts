/**
 * The goals the issue sets for userhub, checked against the same run's floor
 * and peers, each with what was measured and, where it falls short, what
 * else the run measured about it (the floor + log attribution target, the
 * hub's SQLite counters, the profile, the alarm rate). Every sentence is
 * built from measured fields: no claim about how the code works, which a
 * later change could make untrue while the report is re-rendered.
 */
import type { BenchOptions, BenchResults, GoalCheck, TargetSummary } from "./bench-results.ts";
import { median } from "./latency-summary.ts";
import { perRoundRatios } from "./summarize-rounds.ts";
import { atLeastAsGood, cpuConnections, metricsFor } from "./metrics.ts";
import { formatValue } from "./results-table.ts";
import type { TargetName } from "./targets.ts";
import type { HotPathProfile } from "./workloads/hot-path-profile.ts";
import { type GoalMargin, type InProcessPhase, inProcessStory } from "./in-process-phase.ts";
import { USERHUB_DEFAULTS, type UserhubDefaults } from "./userhub-defaults.ts";
import { floorPlusOneRow, tokenRefreshUsd } from "./cost-inputs.ts";
import { type CostInputs, monthlyCost } from "./cost-model.ts";

type Summaries = Partial<Record<TargetName, TargetSummary>>;


const x = (ratio: number) => (Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : "n/a");
const n = (value: number | null | undefined, digits = 0) =>
  value === null || value === undefined || !Number.isFinite(value) ? "n/a" : value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

/**
 * Where userhub's extra cost per message goes, split with the floor + log
 * target: time per message (1 / throughput) and CPU per message add up, so
 * (floor + log − floor) is what one durable write costs and (userhub −
 * floor + log) what the framework adds on top of it.
 */
function costStory(summary: Summaries, connections: number, field: "perSecond" | "cpuMsPer1k", profile: HotPathProfile | null): string {
  const hub = summary.userhub;
  const perMessage = (value: number | undefined) => (value === undefined ? Number.NaN : field === "perSecond" ? 1000 / value : value / 1000);
  const floor = perMessage(summary.floor?.echo[String(connections)]?.[field]);
  const logged = perMessage(summary["floor-log"]?.echo[String(connections)]?.[field]);
  const mine = perMessage(hub?.echo[String(connections)]?.[field]);
  const unit = field === "perSecond" ? "ms of server time" : "CPU ms";
  const storage = hub?.storagePerMessage;
  const parts = storage
    ? [
        `Per message userhub ran ${n(storage.statements, 1)} SQL statements, wrote ${n(storage.rowsWritten, 1)} rows and read ${n(storage.rowsRead, 1)} (hubs in memory whose log held ${n(hub?.coldWake?.logFill)} deliveries).`,
      ]
    : [];
  if ([floor, logged, mine].every(Number.isFinite) && mine > floor) {
    const extra = mine - floor;
    const write = Math.max(0, logged - floor);
    parts.push(
      `Per message userhub spends ${n(extra, 3)} ${unit} more than the floor; the floor + log target (one INSERT per message) puts ${n(write, 3)} of it (${n((100 * write) / extra)}%) on a durable write as such, ` +
        `so ${n((100 * (extra - write)) / extra)}% is userhub's own work around it.`,
      topSelf(profile) ?? "",
      sqlShare(profile) ?? "",
    );
  }
  return parts.filter((part) => part !== "").join(" ");
}

/** What the run measured of the ephemeral echo beside the floor's. */
function signalStory(summary: Summaries, connections: number): string {
  const signal = summary["userhub-signal"]?.echo[String(connections)];
  const floor = summary.floor?.echo[String(connections)];
  if (!signal || !floor) return "";
  const storage = summary["userhub-signal"]?.storagePerMessage;
  return (
    `At ${connections} connection${connections === 1 ? "" : "s"}: ${n(signal.cpuMsPer1k)} vs ${n(floor.cpuMsPer1k)} CPU ms per 1,000 round trips, p50 ${n(signal.p50Ms, 2)} vs ${n(floor.p50Ms, 2)} ms` +
    (storage ? `; ${n(storage.rowsWritten, 2)} rows written per message.` : ".")
  );
}

/** What `floor-json` is, in a goal's explanation. */
const PARSE_PART = "the floor parsing each frame and building a signal frame around its data: the work the goal allows beyond the floor's";
/** What `floor-ring` is, in a goal's explanation. */
const ROW_PART =
  "the floor's own Worker, object and socket parsing each frame, writing userhub's row into a ring keyed by slot (one row per delivery rewritten in place, with the delivery log's statements) and sending the message frame";

/**
 * What a throughput goal of `goal`× leaves over the floor's time per message (1 / its throughput), in µs: a message's
 * extra work adds to that time whether the CPU bounds the echo (many connections) or the round trip does (one).
 */
function throughputMargin(name: TargetName, base: TargetSummary | undefined, connections: number, goal: number): GoalMargin | null {
  const perSecond = base?.echo[String(connections)]?.perSecond;
  if (!perSecond) return null;
  const timeUs = 1e6 / perSecond;
  const share = 1 / goal - 1;
  return {
    marginUs: timeUs * share,
    reckoning: `${(share * 100).toFixed(1)}% of \`${name}\`'s ${timeUs.toFixed(1)} µs a message at ${connections} connection${connections === 1 ? "" : "s"}, 1 / its throughput: ${goal}× the throughput takes 1/${goal} of the time`,
  };
}

/** What a CPU goal of `goal`× leaves over the floor's CPU per message, in µs. */
function cpuMargin(name: TargetName, base: TargetSummary | undefined, connections: number, goal: number): GoalMargin | null {
  const cpuMsPer1k = base?.echo[String(connections)]?.cpuMsPer1k;
  if (!cpuMsPer1k) return null;
  // CPU ms per 1,000 messages is µs per message.
  return { marginUs: cpuMsPer1k * (goal - 1), reckoning: `${Math.round((goal - 1) * 100)}% of \`${name}\`'s ${cpuMsPer1k.toFixed(1)} µs of CPU a message at ${connections} connection${connections === 1 ? "" : "s"}` };
}

/** Sentences, the empty ones left out. */
function join(...sentences: string[]): string {
  return sentences.filter((sentence) => sentence !== "").join(" ");
}

/**
 * A message to a hibernated hub taken apart in the same rounds, one step at
 * a time, each against the step before: the floor + log keeping an alarm set
 * as userhub's janitor does (`floor-log-alarm`: the platform's own cost of a
 * stored alarm, nothing of userhub's); userhub's object waking, building its
 * hub and writing its row by INSERT (`wake-built`); the delivery written by
 * userhub's log instead (`wake-log`); its hub's `deliver`, the fan-out too
 * (`wake-deliver`); userhub whole, the frame path too. What each step adds is
 * what that part costs a woken hub. Whether `wake-built` alone meets the goal
 * says whether waking userhub's object already stands in the way; whether
 * userhub against `floor-log-alarm` does says whether the alarm is what takes
 * it past.
 */
function coldStory(summary: Summaries, roundRatio: (name: TargetName, base: TargetName, id: string) => number, goal: number): string {
  const steps: readonly (readonly [TargetName, string])[] = [
    ["floor-log-alarm", "the floor + log keeping an alarm set as userhub's janitor does"],
    ["wake-built", "userhub's object waking and building its hub, its row written by INSERT"],
    ["wake-log", "the delivery written by userhub's log instead"],
    ["wake-deliver", "its hub's `deliver` (the log, then the fan-out)"],
    ["userhub", "userhub whole (the frame path too)"],
  ];
  if (!steps.every(([name]) => summary[name]?.coldWake)) return "";
  let before: TargetName = "floor-log";
  const parts = steps.map(([name, what]) => {
    const part = `${what}, \`${name}\` ${x(roundRatio(name, before, "coldCpu"))} \`${before}\``;
    before = name;
    return part;
  });
  const built = roundRatio("wake-built", "floor-log", "coldCpu");
  const verdict = Number.isFinite(built)
    ? built <= goal
      ? `\`wake-built\` alone is within the goal (${x(built)} \`floor-log\`): the miss is in the steps after it.`
      : `\`wake-built\` alone misses the goal (${x(built)} \`floor-log\`): waking userhub's object, before its log writes anything, already stands in the way.`
    : "";
  const alarm = roundRatio("floor-log-alarm", "floor-log", "coldCpu");
  const beyondAlarm = roundRatio("userhub", "floor-log-alarm", "coldCpu");
  const alarmVerdict =
    Number.isFinite(alarm) && Number.isFinite(beyondAlarm)
      ? `The stored alarm alone costs the floor + log ${x(alarm)} (workerd reads an object's alarm, preparing the statements of its metadata table, each time the object wakes); ` +
        (beyondAlarm <= goal
          ? `userhub is ${x(beyondAlarm)} \`floor-log-alarm\`, within the goal: the platform's cost of the alarm the janitor needs is what takes it past.`
          : `userhub is ${x(beyondAlarm)} \`floor-log-alarm\`, past the goal without it too: userhub's own steps take it past.`)
      : "";
  return join(`Taken apart in the same rounds: ${parts.join("; ")} (each against the step before).`, verdict, alarmVerdict);
}

/** The profile's top functions by self time, as a sentence (or null without a profile). */
function topSelf(profile: HotPathProfile | null): string | null {
  if (!profile || profile.bySelf.length === 0) return null;
  return `The hub's CPU profile ("Where userhub's time goes"), most self time: ${profile.bySelf.slice(0, 4).map((e) => `\`${e.name}\` ${e.selfPercent.toFixed(0)}%`).join(", ")}.`;
}

/** What the hot-path profile says the delivery log took, as a sentence (or null without a profile). */
function sqlShare(profile: HotPathProfile | null): string | null {
  if (!profile) return null;
  // V8 counts SQLite's native time as the calling function's own, so the log's methods carry it.
  const log = ["append", "prune"].map((name) => profile.byTotal.find((e) => e.name === name) ?? profile.bySelf.find((e) => e.name === name));
  const share = log.reduce((sum, entry) => sum + (entry?.totalPercent ?? 0), 0);
  if (share === 0) return null;
  return `The hub's CPU profile ("Where userhub's time goes") puts ${share.toFixed(0)}% of its samples in the delivery log's \`append\` and \`prune\` (with what they call).`;
}

export function checkGoals(
  summary: Summaries,
  ratios: Partial<Record<TargetName, Record<string, number>>>,
  ratiosToLog: Partial<Record<TargetName, Record<string, number>>>,
  options: BenchOptions,
  profile: HotPathProfile | null,
  costInputs: readonly CostInputs[] = [],
  defaults: UserhubDefaults = USERHUB_DEFAULTS,
  samples?: BenchResults["samples"],
  inProcess?: InProcessPhase,
): GoalCheck[] {
  const hub = summary.userhub;
  const floor = summary.floor;
  if (!hub || !floor) return [];
  const goals: GoalCheck[] = [];
  /**
   * How far the per-round ratios behind a median ratio ranged, and how many
   * rounds met the goal: a reader can see whether a miss is the machine's
   * noise (rounds on both sides) or real (every round short).
   */
  const spread = (name: TargetName, base: TargetName, id: string, meets: (r: number) => boolean): string => {
    const byRound = samples ? perRoundRatios(samples, options, name, base, id) : null;
    if (!byRound || byRound.length < 2) return "";
    const finite = byRound.filter(Number.isFinite);
    return `; per round ${Math.min(...finite).toFixed(2)}–${Math.max(...finite).toFixed(2)}×, ${finite.filter(meets).length} of ${finite.length} rounds within the goal${noise(id)}`;
  };
  /** The median of per-round ratios of two targets of this run; NaN when either did not run the metric. */
  const roundRatio = (name: TargetName, base: TargetName, id: string): number => {
    const byRound = samples ? perRoundRatios(samples, options, name, base, id) : null;
    return byRound && byRound.length > 0 ? median(byRound) : Number.NaN;
  };
  /** The same ratio between two processes of the floor itself (`floor-again`): what the run's noise alone makes of it. */
  const noise = (id: string): string => {
    const r = roundRatio("floor-again", "floor", id);
    return Number.isFinite(r) ? `; the floor's second process: ${x(r)}` : "";
  };
  /**
   * What the targets that take userhub apart measured in the same rounds: `part` (work the goal allows beyond
   * `base`, or a piece of userhub's) against `base`, and userhub's `subject` against `part` — the share of a
   * miss the part alone takes, and the share left to the rest of userhub.
   */
  const partStory = (subject: TargetName, part: TargetName, base: TargetName, id: string, what: string, meets: (r: number) => boolean): string => {
    const partRatio = roundRatio(part, base, id);
    const rest = roundRatio(subject, part, id);
    if (!Number.isFinite(partRatio) || !Number.isFinite(rest)) return "";
    // The part is that work written by hand, with nothing of userhub's around it: when it misses the goal too, the
    // work itself costs more on this platform than the goal allows; when it meets it, the rest of the miss is userhub's own.
    const verdict = meets(partRatio)
      ? `\`${part}\` alone meets the goal: the miss is userhub's own work around it.`
      : `\`${part}\` alone misses the goal: that work, written by hand with nothing of userhub's, already costs more on this platform than the goal allows.`;
    return `Taken apart in the same rounds: \`${part}\` (${what}) ran at ${x(partRatio)} \`${base}\`, and \`${subject}\` at ${x(rest)} \`${part}\`. ${verdict}`;
  };
  /** The step between a hand-written part and userhub: `layout-slot`, the same loop in userhub's Worker and object. */
  const objectStep = (id: string): string => {
    const r = roundRatio("layout-slot", "floor-ring", id);
    return Number.isFinite(r) ? `The same loop in userhub's Worker and object (\`layout-slot\`, without userhub's frame path, log or fan-out) ran at ${x(r)} \`floor-ring\`.` : "";
  };
  const atLeast = (goal: number) => (r: number) => r >= goal;
  const atMost = (goal: number) => (r: number) => r <= goal;
  // The run's ratios: medians of per-round ratios to the floor (summarize-rounds.ts).
  const ratio = (id: string) => ratios.userhub?.[id] ?? Number.NaN;

  const cpuAt = cpuConnections(options.echoConnections);
  const signal = summary["userhub-signal"];
  const signalRatio = (id: string) => ratios["userhub-signal"]?.[id] ?? Number.NaN;
  if (signal) {
    for (const c of options.echoConnections) {
      const r = signalRatio(`echo${c}`);
      goals.push({
        id: `signal-echo-${c}`,
        goal: `ephemeral echo (\`signal\`) at ${c} connection${c === 1 ? "" : "s"} ≥ 0.95× the floor`,
        measured: `${x(r)} (${n(signal.echo[String(c)]?.perSecond)} vs ${n(floor.echo[String(c)]?.perSecond)} round trips/s${spread("userhub-signal", "floor", `echo${c}`, atLeast(0.95))})`,
        met: r >= 0.95,
        explanation:
          r >= 0.95 ? "" : join(signalStory(summary, c), partStory("userhub-signal", "floor-json", "floor", `echo${c}`, PARSE_PART, atLeast(0.95)), inProcessStory(inProcess, "floor-json", throughputMargin("floor", floor, c, 0.95))),
      });
    }
    const r = signalRatio("cpu");
    goals.push({
      id: "signal-cpu",
      goal: `ephemeral echo: CPU per message ≤ 1.1× the floor (${cpuAt} connections)`,
      measured: `${x(r)} (${n(signal.echo[String(cpuAt)]?.cpuMsPer1k)} vs ${n(floor.echo[String(cpuAt)]?.cpuMsPer1k)} CPU ms per 1,000 round trips, medians${spread("userhub-signal", "floor", "cpu", atMost(1.1))})`,
      met: r <= 1.1,
      explanation: r <= 1.1 ? "" : join(signalStory(summary, cpuAt), partStory("userhub-signal", "floor-json", "floor", "cpu", PARSE_PART, atMost(1.1)), inProcessStory(inProcess, "floor-json", cpuMargin("floor", floor, cpuAt, 1.1))),
    });
  }

  const logged = summary["floor-log"];
  const logRatio = (id: string) => ratiosToLog.userhub?.[id] ?? Number.NaN;
  if (logged) {
    for (const c of options.echoConnections) {
      const r = logRatio(`echo${c}`);
      goals.push({
        id: `echo-${c}`,
        goal: `durable echo (\`send\`) at ${c} connection${c === 1 ? "" : "s"} ≥ 0.95× floor + log`,
        measured: `${x(r)} (${n(hub.echo[String(c)]?.perSecond)} vs ${n(logged.echo[String(c)]?.perSecond)} round trips/s${spread("userhub", "floor-log", `echo${c}`, atLeast(0.95))}; ${x(ratio(`echo${c}`))} the floor)`,
        met: r >= 0.95,
        explanation:
          r >= 0.95
            ? ""
            : join(costStory(summary, c, "perSecond", profile), partStory("userhub", "floor-ring", "floor-log", `echo${c}`, ROW_PART, atLeast(0.95)), objectStep(`echo${c}`), inProcessStory(inProcess, "row-slot", throughputMargin("floor-log", logged, c, 0.95))),
      });
    }
    const cpu = logRatio("cpu");
    goals.push({
      id: "cpu",
      goal: `durable echo: CPU per message ≤ 1.1× floor + log (${cpuAt} connections)`,
      measured: `${x(cpu)} (${n(hub.echo[String(cpuAt)]?.cpuMsPer1k)} vs ${n(logged.echo[String(cpuAt)]?.cpuMsPer1k)} CPU ms per 1,000 round trips, medians${spread("userhub", "floor-log", "cpu", atMost(1.1))}; ${x(ratio("cpu"))} the floor)`,
      met: cpu <= 1.1,
      explanation:
        cpu <= 1.1 ? "" : join(costStory(summary, cpuAt, "cpuMsPer1k", profile), partStory("userhub", "floor-ring", "floor-log", "cpu", ROW_PART, atMost(1.1)), objectStep("cpu"), inProcessStory(inProcess, "row-slot", cpuMargin("floor-log", logged, cpuAt, 1.1))),
    });
    const fan = logRatio("fanOut");
    goals.push({
      id: "fan-out",
      goal: `fan-out time to ${options.fanOutSockets} sockets of one user ≤ 1.1× floor + log (p50)`,
      measured: `${x(fan)} (${n(hub.fanOut?.p50Ms, 2)} vs ${n(logged.fanOut?.p50Ms, 2)} ms${spread("userhub", "floor-log", "fanOut", atMost(1.1))}; ${x(ratio("fanOut"))} the floor)`,
      met: fan <= 1.1,
      explanation:
        fan <= 1.1
          ? ""
          : `Fan-out p99 ${n(hub.fanOut?.p99Ms, 2)} vs ${n(logged.fanOut?.p99Ms, 2)} ms (floor + log), ${n(hub.fanOut?.cpuMsPer1kDeliveries)} vs ${n(logged.fanOut?.cpuMsPer1kDeliveries)} CPU ms per 1,000 deliveries.`,
    });
    const hubCold = hub.coldWake?.cold;
    const logCold = logged.coldWake?.cold;
    if (hubCold && logCold) {
      // Rounds interleaved with the floor + log's: the median of per-round ratios, as for echo (a run before that had one total each).
      const byRound = samples ? perRoundRatios(samples, options, "userhub", "floor-log", "coldCpu") : null;
      const r = byRound ? median(byRound) : hubCold.cpuMsPerMessage / logCold.cpuMsPerMessage;
      const coldGoal = 1.2;
      const met = r <= coldGoal && hubCold.statementsPerMessage <= 2;
      goals.push({
        id: "cold-wake",
        goal: "a message to a hub woken from hibernation: CPU ≤ 1.2× floor + log's, at most 2 SQL statements",
        measured: `${x(r)} (${n(hubCold.cpuMsPerMessage, 2)} vs ${n(logCold.cpuMsPerMessage, 2)} CPU ms over ${n(hubCold.messages)} messages each${spread("userhub", "floor-log", "coldCpu", atMost(coldGoal))}), ${n(hubCold.statementsPerMessage, 2)} statements (floor + log: ${n(logCold.statementsPerMessage, 2)}), ${n(hubCold.rowsReadPerMessage, 1)} rows read`,
        met,
        explanation: met
          ? ""
          : join(
              `Per message to a hibernated hub: ${n(hubCold.constructedPerMessage, 2)} constructions, ${n(hubCold.statementsPerMessage, 2)} statements, ${n(hubCold.rowsReadPerMessage, 1)} rows read and ${n(hubCold.rowsWrittenPerMessage, 2)} written (floor + log: ${n(logCold.statementsPerMessage, 2)} statements, ${n(logCold.rowsReadPerMessage, 1)} read, ${n(logCold.rowsWrittenPerMessage, 2)} written); in memory userhub took ${n(hub.coldWake?.warm.cpuMsPerMessage, 2)} CPU ms.`,
              coldStory(summary, roundRatio, coldGoal),
            ),
      });
    }
  }
  const rows = hub.coldWake?.warm.rowsWrittenPerMessage;
  if (rows !== undefined) {
    goals.push({
      id: "rows-per-delivery",
      goal: "rows written per durable delivery ≤ 1.05 (prunes amortized)",
      measured: `${n(rows, 3)} rows written per message (a log full at ${n(hub.coldWake?.logFill)} deliveries, over ${n(hub.coldWake?.warm.messages)} messages)`,
      met: rows <= 1.05,
      explanation: rows <= 1.05 ? "" : `${n(rows - 1, 3)} rows per message were written besides the delivery's own.`,
    });
  }

  const metrics = metricsFor(options.echoConnections, options.fanOutSockets);
  for (const peer of ["partyserver", "hono-do"] as const) {
    const other = summary[peer];
    if (!other) continue;
    const behind = metrics.filter((metric) => atLeastAsGood(metric, metric.value(hub), metric.value(other)) === false);
    const detail = behind.map((metric) => {
      const mine = metric.value(hub);
      const theirs = metric.value(other);
      return `${metric.label} ${formatValue(mine)} vs ${formatValue(theirs)} ${metric.unit}`;
    });
    goals.push({
      id: `ahead-of-${peer}`,
      goal: `ahead of (or equal to) ${peer} on every workload`,
      measured: behind.length === 0 ? "ahead or equal on all" : `behind on ${behind.length} of ${metrics.length}: ${detail.join("; ")}`,
      met: behind.length === 0,
      explanation:
        behind.length === 0
          ? ""
          : `Rows written per message: userhub ${n(hub.storagePerMessage?.rowsWritten, 2)}, ${peer} ${n(other.storagePerMessage?.rowsWritten, 2)}; wakes per ping: userhub ${n(hub.wakes?.wakesPerPing, 2)}, ${peer} ${n(other.wakes?.wakesPerPing, 2)} (the cost section prices both).`,
    });
  }

  if (hub.wakes) {
    const w = hub.wakes;
    goals.push({
      id: "ping-wakes",
      goal: "pings cost 0 wakes",
      measured: `${n(w.wakesPerPing, 3)} wakes per ping`,
      met: w.wakesPerPing === 0,
      explanation: "",
    });
    const atDefaults = w.alarmsPerHubPerTimeoutAtDefaults;
    const devices = options.wakesDevices;
    const perSweep = atDefaults * (defaults.heartbeatSweepMs / defaults.heartbeat.timeoutMs);
    goals.push({
      id: "alarm-wakes",
      goal: "at the defaults, a hub whose sockets ping wakes at most once per HEARTBEAT_SWEEP_MS",
      measured: `${n(perSweep, 2)} alarms per ${defaults.heartbeatSweepMs / 3_600_000} h sweep period (${n(atDefaults, 4)} per ${defaults.heartbeat.timeoutMs / 1000} s timeout; ${defaults.heartbeat.intervalMs / 1000} s pings, ${devices} sockets per hub, alarms on time)`,
      met: perSweep <= 1,
      explanation:
        `The count runs userhub's own schedule (\`ZombieSweep\` from src/) over simulated pings: the bench's windows are seconds long. The wakes window measured the cost of an alarm with the eager sweep (HEARTBEAT_SWEEP_MS = its ${options.heartbeat.timeoutMs} ms timeout): ${n(w.alarmsPerHubPerTimeout, 2)} alarms per hub per timeout as local workerd fired them, ${n(w.rowsWrittenPerAlarm, 2)} rows written and ${n(w.rowsReadPerAlarm, 1)} read per alarm.`,
    });
    goals.push({
      id: "empty-wakes",
      goal: "no wakes with no sockets",
      measured: `${n(w.emptyWakes)} wakes in ${options.wakesEmptyMs} ms after every socket closed`,
      met: w.emptyWakes === 0,
      explanation: "",
    });
  }

  const hubInput = costInputs.find((input) => input.target === "userhub");
  const reference = floorPlusOneRow(costInputs);
  if (hubInput && reference !== null) {
    const atDefaults = monthlyCost(hubInput).totalUsd;
    const withTokens = atDefaults + tokenRefreshUsd(hubInput);
    const r = withTokens / reference;
    goals.push({
      id: "cost",
      goal: "the cost model's scenario at the defaults (tokens living an hour, refreshed in band) ≤ 1.1× the floor's bill plus one row written per durable delivery",
      measured: `${x(r)} ($${n(withTokens)} vs $${n(reference)} a month; $${n(atDefaults)} without the refreshes)`,
      met: r <= 1.1,
      explanation: r <= 1.1 ? "" : "The cost section itemizes both bills.",
    });
  }
  return goals;
}
