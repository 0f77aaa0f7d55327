/**
 * The goals the issue sets for userhub, checked against the same run's floor
 * and peers, each with what was measured and, where it falls short, why
 * (from the run's own numbers: the floor + log attribution target, the
 * hub's SQLite counters, the alarm rate).
 */
import type { BenchOptions, GoalCheck, TargetSummary } from "./bench-results.ts";
import { atLeastAsGood, cpuConnections, metricsFor } from "./metrics.ts";
import { formatValue } from "./results-table.ts";
import type { TargetName } from "./targets.ts";
import type { HotPathProfile } from "./workloads/hot-path-profile.ts";
import { DEFAULT_HEARTBEAT_SWEEP_MS } from "../../src/hub/zombie-sweep.ts";
import { floorPlusOneRow, tokenRefreshUsd } from "./cost-inputs.ts";
import { type CostInputs, monthlyCost } from "./cost-model.ts";

type Summaries = Partial<Record<TargetName, TargetSummary>>;

/** userhub's heartbeat timeout default (src/heartbeat.ts), for the rate quoted at production settings. */
const DEFAULT_TIMEOUT_MS = 75_000;

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
  const parts = [
    `userhub logs every "send" in SQLite before it goes out (write, then send, with a seq)` +
      (storage ? `, which takes ${n(storage.statements, 1)} SQL statements, ${n(storage.rowsWritten, 1)} rows written and ${n(storage.rowsRead, 1)} rows read per message (measured on hubs in memory whose log holds ${n(hub?.coldWake?.logFill)} deliveries)` : "") +
      `; the floor writes nothing.`,
  ];
  if ([floor, logged, mine].every(Number.isFinite) && mine > floor) {
    const extra = mine - floor;
    const write = Math.max(0, logged - floor);
    parts.push(
      `Per message userhub spends ${n(extra, 3)} ${unit} more than the floor; the floor + log target (one INSERT per message) puts ${n(write, 3)} of it (${n((100 * write) / extra)}%) on a durable write as such, ` +
        `so ${n((100 * (extra - write)) / extra)}% is userhub's own work around it` +
        (storage ? ` (${n(storage.statements, 2)} SQL statements per message where floor + log runs 1)` : "") +
        `: parsing the client's frame, stringifying the delivery and its message frame, the Hub's dispatch to the app's handler, and the Sender's bookkeeping. `,
        (sqlShare(profile) ?? ""),
    );
  }
  return parts.join(" ");
}

/** Why the ephemeral echo is slower than the floor: what userhub does per frame that the floor does not. */
function signalStory(): string {
  return "A signal is not logged: per frame userhub parses the client's JSON, checks its size, builds the signal frame (the floor sends the client's text as it is) and writes it through the socket's Sender; the rest is the Hub's own dispatch (the app's handler, the HubContext).";
}

/** What the hot-path profile says the delivery log took, as a sentence (or null without a profile). */
function sqlShare(profile: HotPathProfile | null): string | null {
  if (!profile) return null;
  // V8 counts SQLite's native time as the calling function's own, so the log's methods carry it.
  const log = ["append", "prune"].map((name) => profile.byTotal.find((e) => e.name === name) ?? profile.bySelf.find((e) => e.name === name));
  const share = log.reduce((sum, entry) => sum + (entry?.totalPercent ?? 0), 0);
  if (share === 0) return null;
  return `The hub's CPU profile ("Where userhub's time goes") puts ${share.toFixed(0)}% of its samples in the delivery log's append and prune, where its SQLite statements run.`;
}

export function checkGoals(
  summary: Summaries,
  ratios: Partial<Record<TargetName, Record<string, number>>>,
  ratiosToLog: Partial<Record<TargetName, Record<string, number>>>,
  options: BenchOptions,
  profile: HotPathProfile | null,
  costInputs: readonly CostInputs[] = [],
): GoalCheck[] {
  const hub = summary.userhub;
  const floor = summary.floor;
  if (!hub || !floor) return [];
  const goals: GoalCheck[] = [];
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
        measured: `${x(r)} (${n(signal.echo[String(c)]?.perSecond)} vs ${n(floor.echo[String(c)]?.perSecond)} round trips/s)`,
        met: r >= 0.95,
        explanation: r >= 0.95 ? "" : signalStory(),
      });
    }
    const r = signalRatio("cpu");
    goals.push({
      id: "signal-cpu",
      goal: `ephemeral echo: CPU per message ≤ 1.1× the floor (${cpuAt} connections)`,
      measured: `${x(r)} (${n(signal.echo[String(cpuAt)]?.cpuMsPer1k)} vs ${n(floor.echo[String(cpuAt)]?.cpuMsPer1k)} CPU ms per 1,000 round trips)`,
      met: r <= 1.1,
      explanation: r <= 1.1 ? "" : signalStory(),
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
        measured: `${x(r)} (${n(hub.echo[String(c)]?.perSecond)} vs ${n(logged.echo[String(c)]?.perSecond)} round trips/s; ${x(ratio(`echo${c}`))} the floor)`,
        met: r >= 0.95,
        explanation: r >= 0.95 ? "" : costStory(summary, c, "perSecond", profile),
      });
    }
    const cpu = logRatio("cpu");
    goals.push({
      id: "cpu",
      goal: `durable echo: CPU per message ≤ 1.1× floor + log (${cpuAt} connections)`,
      measured: `${x(cpu)} (${n(hub.echo[String(cpuAt)]?.cpuMsPer1k)} vs ${n(logged.echo[String(cpuAt)]?.cpuMsPer1k)} CPU ms per 1,000 round trips; ${x(ratio("cpu"))} the floor)`,
      met: cpu <= 1.1,
      explanation: cpu <= 1.1 ? "" : costStory(summary, cpuAt, "cpuMsPer1k", profile),
    });
    const fan = logRatio("fanOut");
    goals.push({
      id: "fan-out",
      goal: `fan-out time to ${options.fanOutSockets} sockets of one user ≤ 1.1× floor + log (p50)`,
      measured: `${x(fan)} (${n(hub.fanOut?.p50Ms, 2)} vs ${n(logged.fanOut?.p50Ms, 2)} ms; ${x(ratio("fanOut"))} the floor)`,
      met: fan <= 1.1,
      explanation:
        fan <= 1.1
          ? ""
          : `Before the first of the ${options.fanOutSockets} sockets gets the frame, userhub parses the client's frame, logs it and builds the message frame (the floor sends the client's text as it is), then writes through each socket's Sender (bufferedAmount and readyState checks per socket).`,
    });
    const hubCold = hub.coldWake?.cold;
    const logCold = logged.coldWake?.cold;
    if (hubCold && logCold) {
      const r = hubCold.cpuMsPerMessage / logCold.cpuMsPerMessage;
      const met = r <= 1.2 && hubCold.statementsPerMessage <= 2;
      goals.push({
        id: "cold-wake",
        goal: "a message to a hub woken from hibernation: CPU ≤ 1.2× floor + log's, at most 2 SQL statements",
        measured: `${x(r)} (${n(hubCold.cpuMsPerMessage, 2)} vs ${n(logCold.cpuMsPerMessage, 2)} CPU ms), ${n(hubCold.statementsPerMessage, 2)} statements (floor + log: ${n(logCold.statementsPerMessage, 2)}), ${n(hubCold.rowsReadPerMessage, 1)} rows read`,
        met,
        explanation: met
          ? "The log learns where it stands in one statement (its epoch, last and first rows, the bytes kept from a running total), then the delivery is the second."
          : `userhub rebuilds its Hub and config, reads every socket's attachment once and runs ${n(hubCold.statementsPerMessage, 2)} statements where floor + log creates its table (if it must) and inserts.`,
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
      explanation:
        rows <= 1.05
          ? "The log is a ring of LOG_RETENTION rows: a delivery to a full log rewrites its oldest row in place (one UPDATE, one row), so the count bound deletes nothing; the age bound applies when the log is read."
          : "Something besides the delivery's own row was written: a prune's deletes or an alarm.",
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
          : `${peer} does the floor's work: nothing is logged per socket message, so the echo, fan-out and CPU gaps are the same per-message log and framework work explained above` +
            (peer === "hono-do"
              ? "; and it never hibernates: its wins are bought with duration billed for every connected second and a wake per ping (see the cost model)."
              : "; userhub's wakes are its heartbeat alarm, which closes dead sockets (partyserver, like the floor, never does), and its extra memory per connection is the hub's state: the Hub, its log and Sender objects, the attachment."),
    });
  }

  if (hub.wakes) {
    const w = hub.wakes;
    goals.push({
      id: "ping-wakes",
      goal: "pings cost 0 wakes",
      measured: `${n(w.wakesPerPing, 3)} wakes per ping`,
      met: w.wakesPerPing === 0,
      explanation: w.wakesPerPing === 0 ? "The runtime answers ping with pong (setWebSocketAutoResponse); webSocketMessage never ran." : "Some pings reached webSocketMessage.",
    });
    const atDefaults = w.alarmsPerHubPerTimeoutAtDefaults;
    const devices = options.wakesDevices;
    const perSweep = atDefaults * (DEFAULT_HEARTBEAT_SWEEP_MS / DEFAULT_TIMEOUT_MS);
    goals.push({
      id: "alarm-wakes",
      goal: "at the defaults, a hub whose sockets ping wakes at most once per HEARTBEAT_SWEEP_MS",
      measured: `${n(perSweep, 2)} alarms per ${DEFAULT_HEARTBEAT_SWEEP_MS / 3_600_000} h sweep period (${n(atDefaults, 4)} per 75 s timeout; 30 s pings, ${devices} sockets per hub, alarms on time)`,
      met: perSweep <= 1,
      explanation:
        (perSweep <= 1
          ? "The janitor is re-armed one sweep period after the alarm that runs it, and no message, ping, connect or token refresh moves it."
          : "Some wakes re-armed the alarm sooner than a sweep period.") +
        ` The count runs userhub's own schedule (ZombieSweep, src/zombie-sweep.ts, as src/hub.ts uses it) over simulated pings: the bench's windows are seconds long. The wakes window measured the cost of an alarm with the eager sweep (HEARTBEAT_SWEEP_MS = its ${options.heartbeat.timeoutMs} ms timeout): ${n(w.alarmsPerHubPerTimeout, 2)} alarms per hub per timeout as local workerd fired them, ${n(w.rowsWrittenPerAlarm, 2)} rows written and ${n(w.rowsReadPerAlarm, 1)} read per alarm.`,
    });
    goals.push({
      id: "empty-wakes",
      goal: "no wakes with no sockets",
      measured: `${n(w.emptyWakes)} wakes in ${options.wakesEmptyMs} ms after every socket closed`,
      met: w.emptyWakes === 0,
      explanation: w.emptyWakes === 0 ? "The last close deletes the alarm." : "Something ran after the last socket closed.",
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
      explanation:
        r <= 1.1
          ? "One row per delivery, a janitor alarm every few hours, no alarm row per refresh; the rest is the log's stored data and the CPU of a cold wake (see the cost section)."
          : "See the cost section for the items above the reference.",
    });
  }
  return goals;
}
