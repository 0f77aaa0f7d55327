/**
 * From what a run measured to what the cost model needs, per edge target,
 * and for userhub a few "what if" bills: the same scenario with the changes
 * this run's numbers point at (estimates, labelled as such in the report).
 */
import { DEFAULT_HEARTBEAT_SWEEP_MS } from "../../src/hub/zombie-sweep.ts";
import { alarmsPerTimeoutOnTime } from "./alarm-schedule.ts";
import type { BenchOptions, TargetSummary } from "./bench-results.ts";
import { type CostInputs, DEFAULT_SCENARIO, monthlyCost, type Scenario } from "./cost-model.ts";
import { DURABLE_OBJECTS } from "./pricing.ts";
import type { Target, TargetName } from "./targets.ts";

export function costInputsFor(targets: readonly Target[], summary: Partial<Record<TargetName, TargetSummary>>, options: BenchOptions): CostInputs[] {
  return targets
    .filter((t) => t.kind === "edge" && t.role !== "attribution")
    .map((t): CostInputs => {
      const s = summary[t.name]!;
      // In the scenario a hub sits idle far longer than ten seconds between events, so a hibernating
      // hub is found cold by its messages and its alarms: their cold costs are the ones billed.
      const perMessage = t.hibernates && s.coldWake ? s.coldWake.cold : null;
      return {
        target: t.name,
        hibernates: t.hibernates,
        wakesPerPing: s.wakes?.wakesPerPing ?? (t.hibernates ? 0 : 1),
        // Production fires alarms when they are due; local workerd fires them late, so the hub's own schedule is used.
        alarmsPerHubPerTimeout: s.wakes?.alarmsPerHubPerTimeoutAtDefaults ?? 0,
        rowsWrittenPerAlarm: s.wakes?.rowsWrittenPerAlarm ?? 0,
        rowsReadPerAlarm: s.wakes?.rowsReadPerAlarm ?? 0,
        // Rows written per message are the steady state's (the warm half spans a batched prune; the
        // cold half is too short to), whether or not the hub was hibernated: waking reads, it does not write.
        rowsWrittenPerMessage: s.coldWake?.warm.rowsWrittenPerMessage ?? 0,
        rowsReadPerMessage: perMessage?.rowsReadPerMessage ?? 0,
        rowsWrittenPerConnect: s.rowsWrittenPerConnect ?? 0,
        activeMsPerEvent: perMessage?.cpuMsPerMessage ?? (s.echo[String(options.echoConnections[0])]?.cpuMsPer1k ?? 0) / 1000,
        workerCpuMsPerConnect: s.idle?.cpuMsPerConnect ?? 0,
        // userhub keeps LOG_RETENTION (default 1,000) deliveries per user; the others keep none of their socket messages.
        retainedMessagesPerUser: t.name === "userhub" ? 1000 : 0,
        rowOverheadBytes: 100,
        basis: perMessage ? "cold" : "warm",
      };
    });
}

export interface WhatIf {
  readonly change: string;
  readonly totalUsd: number;
  readonly usdPerUser: number;
}

/** What the scenario's in-band token refreshes add: one frame per device per hour (a request at 20:1 and its active time); no row: a refresh re-arms no alarm. */
export function tokenRefreshUsd(input: CostInputs, s: Scenario = DEFAULT_SCENARIO): number {
  const refreshes = s.users * s.devicesPerUser * s.hoursPerMonth;
  const requests = refreshes / DURABLE_OBJECTS.incomingMessagesPerRequest;
  const gbSeconds = refreshes * (input.activeMsPerEvent / 1000) * DURABLE_OBJECTS.gbPerObject;
  return (requests / 1e6) * DURABLE_OBJECTS.usdPerMillionRequests + (gbSeconds / 1e6) * DURABLE_OBJECTS.usdPerMillionGbSeconds;
}

/** The goal's reference bill: the floor's, plus one row written per durable delivery. */
export function floorPlusOneRow(inputs: readonly CostInputs[]): number | null {
  const floor = inputs.find((input) => input.target === "floor");
  return floor ? monthlyCost({ ...floor, rowsWrittenPerMessage: 1 }).totalUsd : null;
}

/**
 * userhub's bill at its defaults (as measured: the janitor every
 * HEARTBEAT_SWEEP_MS), then each alternative on its own: the eager sweep, an
 * hourly janitor, and the defaults with tokens that live an hour and are
 * refreshed in band; the floor plus one row per delivery beside them.
 */
export function userhubWhatIf(inputs: readonly CostInputs[], options: BenchOptions): WhatIf[] {
  const measured = inputs.find((input) => input.target === "userhub");
  if (!measured) return [];
  const bill = (change: string, input: CostInputs, extraUsd = 0): WhatIf => {
    const cost = monthlyCost(input);
    const total = cost.totalUsd + extraUsd;
    return { change, totalUsd: total, usdPerUser: total / DEFAULT_SCENARIO.users };
  };
  const alarmsAt = (sweepMs: number) =>
    alarmsPerTimeoutOnTime({
      intervalMs: DEFAULT_SCENARIO.heartbeatIntervalSeconds * 1000,
      timeoutMs: DEFAULT_SCENARIO.heartbeatTimeoutSeconds * 1000,
      sockets: options.wakesDevices,
      sweepMs,
    });
  // An alarm writes at least its setAlarm row, whatever the short window measured.
  const perAlarm = { rowsWrittenPerAlarm: Math.max(1, measured.rowsWrittenPerAlarm) };
  const rows: WhatIf[] = [
    bill(`at the defaults: a janitor alarm every ${DEFAULT_HEARTBEAT_SWEEP_MS / 3_600_000} h (as measured)`, { ...measured, ...perAlarm }),
    bill("at the defaults, tokens living an hour refreshed in band (one frame per device per hour, no alarm row)", { ...measured, ...perAlarm }, tokenRefreshUsd(measured)),
    bill("an hourly janitor (HEARTBEAT_SWEEP_MS=3600000)", { ...measured, ...perAlarm, alarmsPerHubPerTimeout: alarmsAt(3_600_000) }),
    bill(`the eager sweep (HEARTBEAT_SWEEP_MS = the timeout, ${DEFAULT_SCENARIO.heartbeatTimeoutSeconds} s): a prompt onClose`, {
      ...measured,
      ...perAlarm,
      alarmsPerHubPerTimeout: alarmsAt(DEFAULT_SCENARIO.heartbeatTimeoutSeconds * 1000),
    }),
  ];
  const reference = floorPlusOneRow(inputs);
  if (reference !== null) rows.push({ change: "for reference: the floor plus one row written per durable delivery", totalUsd: reference, usdPerUser: reference / DEFAULT_SCENARIO.users });
  return rows;
}
