/**
 * The headline metrics: what the table, the chart, the ratios to the floor
 * and the "ahead of the peers" goal all compare, each with its unit and
 * which direction is better.
 */
import type { TargetSummary } from "./bench-results.ts";

export interface Metric {
  readonly id: string;
  readonly label: string;
  readonly unit: string;
  readonly better: "higher" | "lower";
  readonly value: (summary: TargetSummary) => number | null;
}

/** The connection count whose echo gives "CPU per message": 10 when it was run, else the largest. */
export function cpuConnections(echoConnections: readonly number[]): number {
  return echoConnections.includes(10) ? 10 : Math.max(...echoConnections);
}

export function metricsFor(echoConnections: readonly number[], fanOutSockets: number): Metric[] {
  const cpuAt = cpuConnections(echoConnections);
  return [
    ...echoConnections.map(
      (c): Metric => ({
        id: `echo${c}`,
        label: `echo, ${c} conn`,
        unit: "round trips/s",
        better: "higher",
        value: (s) => s.echo[String(c)]?.perSecond ?? null,
      }),
    ),
    { id: "echoP50", label: `echo p50, ${echoConnections[0]} conn`, unit: "ms", better: "lower", value: (s) => s.echo[String(echoConnections[0])]?.p50Ms ?? null },
    { id: "fanOut", label: `fan-out to ${fanOutSockets}, p50`, unit: "ms", better: "lower", value: (s) => s.fanOut?.p50Ms ?? null },
    { id: "push", label: "push via durable log", unit: "pushes/s", better: "higher", value: (s) => s.push?.perSecond ?? null },
    { id: "cpu", label: `CPU per 1k msgs (${cpuAt} conn)`, unit: "CPU ms", better: "lower", value: (s) => s.echo[String(cpuAt)]?.cpuMsPer1k ?? null },
    { id: "memory", label: "memory per idle conn", unit: "KB", better: "lower", value: (s) => s.idle?.kbPerConnection ?? null },
    { id: "wakes", label: "wakes per conn-hour (default heartbeat)", unit: "wakes", better: "lower", value: (s) => s.wakes?.wakesPerConnectionHourAtDefaults ?? null },
  ];
}

/** Whether `a` is at least as good as `b` on `metric` (null when either is missing). */
export function atLeastAsGood(metric: Metric, a: number | null, b: number | null): boolean | null {
  if (a === null || b === null || !Number.isFinite(a) || !Number.isFinite(b)) return null;
  return metric.better === "higher" ? a >= b : a <= b;
}
