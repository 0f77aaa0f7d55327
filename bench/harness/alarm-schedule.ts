/**
 * How often userhub's heartbeat alarm fires when alarms fire on time, as in
 * production: userhub's own scheduling code (nextWake in src/heartbeat.ts,
 * called as the hub calls it in src/hub.ts: the timeout, and one ping
 * interval of grace) driven by simulated sockets that ping every interval,
 * each device on its own phase. Local workerd fires alarms late (by up to about a second on
 * this machine: gaps of 3–4 s against a 3 s timeout, which on-time alarms
 * cannot produce), so the count of fired alarms in the wakes phase is too
 * low; this is the rate the hub's schedule asks for.
 */
import { type Liveness, nextWake } from "../../src/heartbeat.ts";

export interface AlarmScheduleOptions {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Sockets per hub (a user's devices). */
  readonly sockets: number;
  /** Timeout periods simulated per trial. */
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
  const periods = options.periods ?? 400;
  const trials = options.trials ?? 100;
  const next = random(0x5eed);
  const horizon = periods * timeoutMs;
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
    // As Hub#reschedule calls it: nextWake(sockets, heartbeat.timeoutMs, heartbeat.intervalMs).
    const wake = (t: number) => nextWake(livenessAt(t), timeoutMs, intervalMs)!;
    for (let t = wake(0); t < horizon; t = wake(t)) alarms++;
    total += alarms / periods;
  }
  return total / trials;
}
