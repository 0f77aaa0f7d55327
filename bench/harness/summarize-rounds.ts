/**
 * From raw samples to one number per metric and target: the median over the
 * rounds (the machine is shared; a median shrugs off a round that a
 * neighbour's test run disturbed), and ratios to the floor of the same run.
 */
import type { BenchOptions, BenchResults, TargetSummary } from "./bench-results.ts";
import { alarmsPerTimeoutOnTime } from "./alarm-schedule.ts";
import { median } from "./latency-summary.ts";
import { cpuConnections, metricsFor } from "./metrics.ts";
import type { TargetName } from "./targets.ts";
import { wakesIn } from "./workloads/wakes.ts";
import { DEFAULT_HEARTBEAT } from "./userhub-defaults.ts";

/** The production heartbeat the wakes are extrapolated to (userhub's defaults). */
const DEFAULT_INTERVAL_S = DEFAULT_HEARTBEAT.intervalMs / 1000;
const DEFAULT_TIMEOUT_S = DEFAULT_HEARTBEAT.timeoutMs / 1000;

export function summarize(samples: BenchResults["samples"], options: BenchOptions, names: readonly TargetName[]): Partial<Record<TargetName, TargetSummary>> {
  const summary: Partial<Record<TargetName, TargetSummary>> = {};
  for (const name of names) {
    const echoRuns = samples.echo[name] ?? {};
    const echo = Object.fromEntries(
      Object.entries(echoRuns).map(([connections, runs]) => [
        connections,
        {
          perSecond: median(runs.map((r) => r.perSecond)),
          p50Ms: median(runs.map((r) => r.p50Ms)),
          p99Ms: median(runs.map((r) => r.p99Ms)),
          cpuMsPer1k: median(runs.map((r) => r.cpuMsPer1k)),
          clientCpuMsPer1k: median(runs.map((r) => (r.clientCpuMs * 1000) / Math.max(1, r.roundTrips))),
        },
      ]),
    );
    const fanOutRuns = samples.fanOut[name] ?? [];
    const pushRuns = samples.push[name] ?? [];
    const idle = samples.idle[name];
    const wakes = samples.wakes[name];
    const cold = samples.coldWakes[name];
    const perAlarm = (value: number) => (wakes && wakes.steady.alarm > 0 ? value / wakes.steady.alarm : 0);
    // Only a hub that set alarms has a schedule to follow; then it is userhub's (the only target with a heartbeat alarm).
    // userhub's at the defaults whether or not its alarms fired in the window (its janitor comes every few hours).
    const atDefaults =
      wakes && (wakes.steady.alarm > 0 || name === "userhub")
        ? alarmsPerTimeoutOnTime({ intervalMs: DEFAULT_INTERVAL_S * 1000, timeoutMs: DEFAULT_TIMEOUT_S * 1000, sockets: wakes.sockets / wakes.hubs })
        : 0;
    summary[name] = {
      echo,
      fanOut: fanOutRuns.length
        ? {
            p50Ms: median(fanOutRuns.map((r) => r.p50Ms)),
            p99Ms: median(fanOutRuns.map((r) => r.p99Ms)),
            deliveriesPerSecond: median(fanOutRuns.map((r) => r.deliveriesPerSecond)),
            cpuMsPer1kDeliveries: median(fanOutRuns.map((r) => r.cpuMsPer1kDeliveries)),
          }
        : null,
      push: pushRuns.length
        ? {
            perSecond: median(pushRuns.map((r) => r.perSecond)),
            p50Ms: median(pushRuns.map((r) => r.p50Ms)),
            p99Ms: median(pushRuns.map((r) => r.p99Ms)),
            cpuMsPer1k: median(pushRuns.map((r) => r.cpuMsPer1k)),
          }
        : null,
      idle: idle
        ? {
            kbPerConnection: idle.bytesPerConnection / 1024,
            cpuMsPerConnect: idle.cpuMsPerConnect,
            rssNoneMb: idle.rssNoneBytes / 2 ** 20,
            rssIdleMb: idle.rssIdleBytes / 2 ** 20,
          }
        : null,
      wakes: wakes
        ? {
            wakesPerConnectionHour: wakes.wakesPerConnectionHour,
            wakesPerPing: wakes.wakesPerPing,
            alarmsPerHubPerTimeout: wakes.alarmsPerHubPerTimeout,
            alarmsPerHubPerTimeoutAtDefaults: atDefaults,
            emptyWakes: wakesIn(wakes.empty),
            // setAlarm() is billed as a row written (pricing.ts); deleteAlarm() is not listed as billed.
            rowsWrittenPerAlarm: perAlarm(wakes.steady.storage.rowsWritten + wakes.steady.storage.setAlarm),
            rowsReadPerAlarm: perAlarm(wakes.steady.storage.rowsRead),
            constructedPerAlarm: perAlarm(wakes.steady.constructed),
            evicted: wakes.evicted,
            wakesPerConnectionHourAtDefaults:
              wakes.wakesPerPing * (3600 / DEFAULT_INTERVAL_S) +
              (atDefaults * (3600 / DEFAULT_TIMEOUT_S) * wakes.hubs) / wakes.sockets,
          }
        : null,
      storagePerMessage: cold
        ? {
            messages: cold.warm.messages,
            rowsWritten: cold.warm.rowsWrittenPerMessage,
            rowsRead: cold.warm.rowsReadPerMessage,
            statements: cold.warm.statementsPerMessage,
          }
        : null,
      coldWake: cold ? { warm: cold.warm, cold: cold.cold, logFill: cold.logFill, coldCpuMsPerRound: cold.coldCpuMsPerRound } : null,
      rowsWrittenPerConnect:
        idle?.counters && samples.reconnects[name] ? (idle.counters.storage.rowsWritten + idle.counters.storage.setAlarm) / samples.reconnects[name]! : null,
    };
  }
  return summary;
}

/**
 * Each target's ratio to the floor, metric by metric: for what every round
 * measured (echo, fan-out, push, CPU), the median over rounds of that round's
 * ratio, so that a round a neighbour's load slowed down counts as one round
 * for every target; for what was measured once (memory, wakes), the ratio of
 * the two values.
 */
export function ratiosToFloor(
  summary: Partial<Record<TargetName, TargetSummary>>,
  samples: BenchResults["samples"],
  options: BenchOptions,
): Partial<Record<TargetName, Record<string, number>>> {
  return ratiosTo(summary, samples, options, "floor");
}

/** {@link ratiosToFloor}, to another target of the same run (the floor + log, for userhub's durable path). */
export function ratiosTo(
  summary: Partial<Record<TargetName, TargetSummary>>,
  samples: BenchResults["samples"],
  options: BenchOptions,
  baseName: TargetName,
): Partial<Record<TargetName, Record<string, number>>> {
  const floor = summary[baseName];
  if (!floor) return {};
  const metrics = metricsFor(options.echoConnections, options.fanOutSockets);
  const ratios: Partial<Record<TargetName, Record<string, number>>> = {};
  for (const [name, target] of Object.entries(summary) as [TargetName, TargetSummary][]) {
    ratios[name] = Object.fromEntries(
      metrics.map((metric) => {
        const byRound = perRoundRatios(samples, options, name, baseName, metric.id);
        if (byRound) return [metric.id, median(byRound)];
        const value = metric.value(target);
        const baseValue = metric.value(floor);
        return [metric.id, value !== null && baseValue !== null && baseValue !== 0 ? value / baseValue : Number.NaN];
      }),
    );
  }
  return ratios;
}

/** Per-round values of a round-sampled metric, or null for metrics measured once. */
function perRound(samples: BenchResults["samples"], options: BenchOptions, name: TargetName, id: string): number[] | null {
  const echo = /^echo(\d+)$/.exec(id);
  if (echo) return (samples.echo[name]?.[echo[1]!] ?? []).map((s) => s.perSecond);
  if (id === "echoP50") return (samples.echo[name]?.[String(options.echoConnections[0])] ?? []).map((s) => s.p50Ms);
  if (id === "cpu") return (samples.echo[name]?.[String(cpuConnections(options.echoConnections))] ?? []).map((s) => s.cpuMsPer1k);
  if (id === "fanOut") return (samples.fanOut[name] ?? []).map((s) => s.p50Ms);
  if (id === "push") return (samples.push[name] ?? []).map((s) => s.perSecond);
  if (id === "coldCpu") return samples.coldWakes[name]?.coldCpuMsPerRound ? [...samples.coldWakes[name]!.coldCpuMsPerRound] : null;
  return null;
}

/**
 * Round by round, `name`'s value of metric `id` over `baseName`'s (both ran
 * in the same round, interleaved), or null for a metric measured once or
 * rounds that do not pair up. Its median is the run's ratio; its spread
 * says how much the machine moved it.
 */
export function perRoundRatios(samples: BenchResults["samples"], options: BenchOptions, name: TargetName, baseName: TargetName, id: string): number[] | null {
  const mine = perRound(samples, options, name, id);
  const base = perRound(samples, options, baseName, id);
  if (!mine || !base || mine.length !== base.length || mine.length === 0) return null;
  return mine.map((value, round) => value / base[round]!);
}
