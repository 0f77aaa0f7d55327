import type { HeartbeatSettings } from "../protocol/frames.ts";

/**
 * Heartbeat defaults. The client pings every 30 s, as in the gorilla/websocket
 * article this project began from; a socket is dead after 75 s of silence,
 * which lets two pings go missing before the hub gives up on it.
 */
export const DEFAULT_HEARTBEAT: HeartbeatSettings = { intervalMs: 30_000, timeoutMs: 75_000 };

/** What the hub knows of a socket's liveness, all in epoch milliseconds. */
export interface Liveness {
  readonly connectedAt: number;
  /**
   * The last frame the hub recorded (a heartbeat it had to answer counts). The
   * hub records it at most once per ping interval, so the socket's true last
   * frame may be up to one interval later: see `recordLagMs` below.
   */
  readonly lastMessageAt: number;
  /** The last heartbeat the runtime answered without waking the hub, if any. */
  readonly lastAutoResponseAt: number | null;
  /** When the socket's credentials expire, if they do. */
  readonly expiresAt: number | null;
}

/**
 * The last time a socket may have shown it was alive. `recordLagMs` is how
 * far the socket's true last frame may lie past the recorded `lastMessageAt`
 * (the hub passes one ping interval, since it records a frame only when the
 * recorded one is an interval old): judged from the latest it may be, a
 * socket is never closed before a full timeout of silence.
 */
export function lastSignOfLife(liveness: Liveness, recordLagMs = 0): number {
  return Math.max(liveness.connectedAt, liveness.lastMessageAt + recordLagMs, liveness.lastAutoResponseAt ?? 0);
}

/** When a socket that stays silent from now on counts as dead. */
export function heartbeatDeadline(liveness: Liveness, timeoutMs: number, recordLagMs = 0): number {
  return lastSignOfLife(liveness, recordLagMs) + timeoutMs;
}

/** When a socket becomes stale: its credential expiry or its heartbeat deadline, whichever comes first. */
export function staleAt(liveness: Liveness, timeoutMs: number, recordLagMs = 0): number {
  const deadline = heartbeatDeadline(liveness, timeoutMs, recordLagMs);
  return liveness.expiresAt !== null && liveness.expiresAt < deadline ? liveness.expiresAt : deadline;
}

/** Why a socket must be closed at `now`, or null if it may stay. Expired credentials win over a missed heartbeat. */
export function staleReason(liveness: Liveness, timeoutMs: number, now: number, recordLagMs = 0): "token-expired" | "heartbeat-timeout" | null {
  if (liveness.expiresAt !== null && now >= liveness.expiresAt) return "token-expired";
  if (now >= heartbeatDeadline(liveness, timeoutMs, recordLagMs)) return "heartbeat-timeout";
  return null;
}
