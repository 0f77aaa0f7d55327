import { type Liveness, staleAt, staleReason } from "./heartbeat.ts";
import type { HeartbeatSettings } from "../protocol/frames.ts";

/**
 * How often the janitor alarm sweeps a hub that has sockets, by default:
 * twelve hours. Every wake of a hub (a message, a push, a connect, a close) closes
 * its stale sockets first anyway, so nothing anyone can observe ever counts
 * a zombie; the janitor only bounds how long a zombie of an otherwise silent
 * hub keeps its resources and waits for its `onClose`. Each alarm is a
 * billed request plus a `setAlarm` row ($1.15 per million): twelve hours is
 * ~61 alarms a month per connected user (~$70 a month per million users),
 * which keeps the bench's cost scenario within 1.1× the floor plus one row
 * per delivery (six hours did not, by a hair); an hourly janitor is ~730
 * (~$840), an alarm at every heartbeat timeout ~35,000 (~$40,000). Set it to
 * the heartbeat timeout for a prompt `onClose` (the eager sweep).
 */
export const DEFAULT_HEARTBEAT_SWEEP_MS = 12 * 60 * 60 * 1000;

/**
 * A hub's zombie sweep: which sockets are stale, whether any can be yet, and
 * when its one alarm must come. It holds what one live instance of the hub
 * learnt (nothing durable): the earliest moment any socket may turn stale,
 * so that a wake skips the scan until then, and the alarm it knows is set,
 * so that a wake re-arms nothing while that alarm still serves.
 *
 * The rules: every wake closes the sockets stale at that moment; the alarm
 * comes at the earliest moment a socket turns stale but no sooner than one
 * sweep period after the wake that sets it; and an alarm already set at or
 * before the moment wanted is kept (it fires, sweeps, and sets the next), so
 * a message, an in-band token refresh or a connect writes no `setAlarm` row.
 * There is no alarm at a token's exact expiry: every wake refuses an expired
 * socket before anything reaches it, so the alarm would only move its close
 * earlier, at the price of a row each time a refresh moves the expiry.
 *
 * @example
 * ```ts
 * const sweep = new ZombieSweep({ intervalMs: 30_000, timeoutMs: 75_000 }, DEFAULT_HEARTBEAT_SWEEP_MS);
 * if (sweep.mayBeStale(Date.now())) {
 *   // scan the sockets with sweep.staleReason(liveness, now), close the stale ones, then:
 *   sweep.scanned(sweep.earliestStale(livenessOfTheOthers));
 * }
 * ```
 */
export class ZombieSweep {
  readonly #heartbeat: HeartbeatSettings;
  readonly #sweepMs: number;
  /** No socket can be stale before this (a lower bound: signs of life only push it later). */
  #dueAt = Number.NEGATIVE_INFINITY;
  /** The alarm this instance knows is set: null for none, undefined when it has not asked yet. */
  #alarmAt: number | null | undefined = undefined;

  /**
   * @param heartbeat The ping interval (also how far a recorded `lastMessageAt` may lag) and the timeout.
   * @param sweepMs The janitor's period. @default DEFAULT_HEARTBEAT_SWEEP_MS
   */
  constructor(heartbeat: HeartbeatSettings, sweepMs: number = DEFAULT_HEARTBEAT_SWEEP_MS) {
    this.#heartbeat = heartbeat;
    this.#sweepMs = sweepMs;
  }

  /** Whether a scan could find a stale socket at `now`; false means skip it. */
  mayBeStale(now: number): boolean {
    return now >= this.#dueAt;
  }

  /** Why the socket must be closed at `now`, or null. */
  staleReason(liveness: Liveness, now: number): "token-expired" | "heartbeat-timeout" | null {
    return staleReason(liveness, this.#heartbeat.timeoutMs, now, this.#heartbeat.intervalMs);
  }

  /** The earliest moment any of `sockets` turns stale, or null for none. */
  earliestStale(sockets: Iterable<Liveness>): number | null {
    let earliest: number | null = null;
    for (const liveness of sockets) {
      const at = staleAt(liveness, this.#heartbeat.timeoutMs, this.#heartbeat.intervalMs);
      if (earliest === null || at < earliest) earliest = at;
    }
    return earliest;
  }

  /** A scan found every remaining socket live; `earliest` is when the first of them turns stale (null: none left). */
  scanned(earliest: number | null): void {
    this.#dueAt = earliest ?? Number.POSITIVE_INFINITY;
  }

  /** A socket joined, or its expiry moved: it may turn stale at `at`. */
  mayTurnStaleAt(at: number): void {
    if (at < this.#dueAt) this.#dueAt = at;
  }

  /** Whether this instance must ask the host which alarm is set before `plan`. */
  get alarmUnknown(): boolean {
    return this.#alarmAt === undefined;
  }

  /** The host told which alarm is set (null: none), or the alarm fired (null). */
  alarmIs(at: number | null): void {
    this.#alarmAt = at;
  }

  /**
   * The alarm to set now, or `undefined` when the one set serves. `earliest`
   * is when the first live socket turns stale (null when there is none: then
   * the alarm goes). Call after `alarmIs` when `alarmUnknown`.
   */
  plan(earliest: number | null, now: number): number | null | undefined {
    if (earliest === null) return this.#alarmAt === null ? undefined : null;
    const wanted = Math.max(earliest, now + this.#sweepMs);
    if (this.#alarmAt !== null && this.#alarmAt !== undefined && this.#alarmAt <= wanted) return undefined;
    return wanted;
  }
}
