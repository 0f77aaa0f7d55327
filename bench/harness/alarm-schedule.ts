/**
 * How often userhub's heartbeat alarm fires when alarms fire on time, as in
 * production: userhub's own scheduling code (ZombieSweep in
 * src/hub/zombie-sweep.ts, used as src/hub/hub.ts uses it: on each alarm, the next
 * one no sooner than one sweep period on) driven by simulated sockets that
 * ping every interval, each device on its own phase. The bench's short
 * windows cannot wait out a sweep period of hours, and local workerd fires
 * alarms late; this is the rate the hub's schedule asks for.
 */
import type { Liveness } from "../../src/hub/heartbeat.ts";
import { DEFAULT_HEARTBEAT_SWEEP_MS, ZombieSweep } from "../../src/hub/zombie-sweep.ts";

export interface AlarmScheduleOptions {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Sockets per hub (a user's devices). */
  readonly sockets: number;
  /** The janitor's period. @default DEFAULT_HEARTBEAT_SWEEP_MS */
  readonly sweepMs?: number;
  /** Sweep periods simulated per trial. */
  readonly periods?: number;
  /** Trials, each with fresh random ping phases. */
  readonly trials?: number;
}

/** A small deterministic generator, so the same options always give the same answer. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** Alarm wakes per hub per timeout period, averaged over trials. */
export function alarmsPerTimeoutOnTime(options: AlarmScheduleOptions): number {
  const { intervalMs, timeoutMs, sockets } = options;
  const sweepMs = options.sweepMs ?? DEFAULT_HEARTBEAT_SWEEP_MS;
  const periods = options.periods ?? 40;
  const trials = options.trials ?? 20;
  const next = random(0x5eed);
  const horizon = periods * Math.max(sweepMs, timeoutMs);
  let total = 0;
  for (let trial = 0; trial < trials; trial++) {
    // Each socket pings every interval from its own phase, starting one interval after it connects (at 0).
    const phases = Array.from({ length: sockets }, () => intervalMs * (1 + next()));
    const livenessAt = (t: number): Liveness[] =>
      phases.map((phase) => ({
        connectedAt: 0,
        lastMessageAt: 0,
        lastAutoResponseAt: t >= phase ? phase + Math.floor((t - phase) / intervalMs) * intervalMs : null,
        expiresAt: null,
      }));
    let alarms = 0;
    // As Hub#wake uses it: the alarm fired (none is set), then the plan for the live sockets.
    const sweep = new ZombieSweep({ intervalMs, timeoutMs }, sweepMs);
    const wake = (t: number) => {
      sweep.alarmIs(null);
      return sweep.plan(sweep.earliestStale(livenessAt(t)), t)!;
    };
    for (let t = wake(0); t < horizon; t = wake(t)) alarms++;
    total += alarms / (horizon / timeoutMs);
  }
  return total / trials;
}
