import type { HeartbeatSettings } from "./protocol.ts";

/**
 * Heartbeat defaults. The client pings every 30 s, as in the gorilla/websocket
 * article this project began from; a socket is dead after 75 s of silence,
 * which lets two pings go missing before the hub gives up on it.
 */
export const DEFAULT_HEARTBEAT: HeartbeatSettings = { intervalMs: 30_000, timeoutMs: 75_000 };

/** What the hub knows of a socket's liveness, all in epoch milliseconds. */
export interface Liveness {
  readonly connectedAt: number;
  /** The last frame the hub itself received (a heartbeat it had to answer counts). */
  readonly lastMessageAt: number;
  /** The last heartbeat the runtime answered without waking the hub, if any. */
  readonly lastAutoResponseAt: number | null;
  /** When the socket's credentials expire, if they do. */
  readonly expiresAt: number | null;
}

/** The last time a socket showed it was alive. */
export function lastSignOfLife(liveness: Liveness): number {
  return Math.max(liveness.connectedAt, liveness.lastMessageAt, liveness.lastAutoResponseAt ?? 0);
}

/** When a socket that stays silent from now on counts as dead. */
export function heartbeatDeadline(liveness: Liveness, timeoutMs: number): number {
  return lastSignOfLife(liveness) + timeoutMs;
}

/** Why a socket must be closed at `now`, or null if it may stay. Expired credentials win over a missed heartbeat. */
export function staleReason(liveness: Liveness, timeoutMs: number, now: number): "token-expired" | "heartbeat-timeout" | null {
  if (liveness.expiresAt !== null && now >= liveness.expiresAt) return "token-expired";
  if (now >= heartbeatDeadline(liveness, timeoutMs)) return "heartbeat-timeout";
  return null;
}

/**
 * The moment the hub must next wake: the earliest heartbeat deadline plus
 * `graceMs`, or credential expiry (exact), over all sockets; null when there
 * are none (no alarm is set for an empty hub).
 *
 * The hub passes one ping interval as the grace. Every live socket pinged
 * within the last interval, so a wake that finds them all alive sets the next
 * one at least a full timeout away: a hub whose sockets ping wakes at most
 * once per timeout period, and a silent socket is closed between one timeout
 * and one timeout plus one interval after its last sign of life. Without the
 * grace, each wake would land up to an interval short of a period, and pinging
 * sockets would cost up to timeout / (timeout − interval) wakes a period.
 */
export function nextWake(sockets: Iterable<Liveness>, timeoutMs: number, graceMs = 0): number | null {
  let earliest: number | null = null;
  for (const liveness of sockets) {
    let at = heartbeatDeadline(liveness, timeoutMs) + graceMs;
    if (liveness.expiresAt !== null && liveness.expiresAt < at) at = liveness.expiresAt;
    if (earliest === null || at < earliest) earliest = at;
  }
  return earliest;
}
