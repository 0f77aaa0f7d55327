/**
 * From what a run measured to what the cost model needs, per edge target,
 * and for userhub a few "what if" bills: the same scenario with the changes
 * this run's numbers point at (estimates, labelled as such in the report).
 */
import type { BenchOptions, TargetSummary } from "./bench-results.ts";
import { type CostInputs, monthlyCost } from "./cost-model.ts";
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

/** userhub's bill as measured, then with each change applied on top of the previous ones. */
export function userhubWhatIf(inputs: readonly CostInputs[], summary: Partial<Record<TargetName, TargetSummary>>): WhatIf[] {
  const measured = inputs.find((input) => input.target === "userhub");
  const warm = summary.userhub?.coldWake?.warm;
  if (!measured || !warm) return [];
  const steps: [string, CostInputs][] = [["as measured", measured]];
  const add = (change: string, edit: (previous: CostInputs) => Partial<CostInputs>) => {
    const previous = steps.at(-1)![1];
    steps.push([change, { ...previous, ...edit(previous) }]);
  };
  // Only what this run's numbers say would change the bill.
  if (measured.alarmsPerHubPerTimeout > 1) {
    add("the heartbeat alarm at most once per timeout period (re-armed a full period ahead while every socket is alive)", () => ({ alarmsPerHubPerTimeout: 1 }));
  }
  if (measured.alarmsPerHubPerTimeout > 0) {
    add("no heartbeat alarm while the sockets idle: stale sockets closed on the hub's next wake instead (the client's own heartbeat still notices a dead connection)", () => ({
      alarmsPerHubPerTimeout: 0,
    }));
  }
  if (measured.rowsReadPerMessage > warm.rowsReadPerMessage + 10) {
    add("a hub woken from hibernation reading no more rows than one in memory", () => ({ rowsReadPerMessage: warm.rowsReadPerMessage }));
  }
  return steps.map(([change, input]) => {
    const cost = monthlyCost(input);
    return { change, totalUsd: cost.totalUsd, usdPerUser: cost.usdPerUser };
  });
}
