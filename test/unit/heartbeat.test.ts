import { describe, expect, it, test } from "vitest";
import {
  DEFAULT_HEARTBEAT,
  DEFAULT_HEARTBEAT_SWEEP_MS,
  heartbeatDeadline,
  lastSignOfLife,
  type Liveness,
  staleAt,
  staleReason,
  ZombieSweep,
} from "../../src/host.ts";

const T0 = 1_900_000_000_000;
const TIMEOUT = 3000;

/** A socket connected at T0 that has said nothing since, with `changes` on top. */
function liveness(changes: Partial<Liveness> = {}): Liveness {
  return { connectedAt: T0, lastMessageAt: T0, lastAutoResponseAt: null, expiresAt: null, ...changes };
}

it("defaults to a 30 s interval and a 75 s timeout", () => {
  expect(DEFAULT_HEARTBEAT).toEqual({ intervalMs: 30_000, timeoutMs: 75_000 });
});

describe("lastSignOfLife", () => {
  test.each<[string, Partial<Liveness>, number]>([
    ["just connected", {}, T0],
    ["a message since", { lastMessageAt: T0 + 500 }, T0 + 500],
    ["an auto-answered ping after the last message", { lastMessageAt: T0 + 500, lastAutoResponseAt: T0 + 900 }, T0 + 900],
    ["a message after the last auto-answered ping", { lastMessageAt: T0 + 900, lastAutoResponseAt: T0 + 500 }, T0 + 900],
    ["a connection newer than both", { connectedAt: T0 + 100, lastMessageAt: T0, lastAutoResponseAt: T0 + 50 }, T0 + 100],
  ])("%s", (_name, changes, expected) => {
    expect(lastSignOfLife(liveness(changes))).toBe(expected);
  });
});

describe("heartbeatDeadline", () => {
  it("is the last sign of life plus the timeout", () => {
    expect(heartbeatDeadline(liveness(), TIMEOUT)).toBe(T0 + TIMEOUT);
    expect(heartbeatDeadline(liveness({ lastAutoResponseAt: T0 + 1000 }), TIMEOUT)).toBe(T0 + 1000 + TIMEOUT);
  });

  it("ignores the credential expiry", () => {
    expect(heartbeatDeadline(liveness({ expiresAt: T0 + 1 }), TIMEOUT)).toBe(T0 + TIMEOUT);
  });
});

describe("staleReason", () => {
  test.each<[string, Partial<Liveness>, number, "token-expired" | "heartbeat-timeout" | null]>([
    ["alive, before the deadline", {}, T0 + TIMEOUT - 1, null],
    ["silent until the deadline", {}, T0 + TIMEOUT, "heartbeat-timeout"],
    ["silent past the deadline", {}, T0 + TIMEOUT + 5000, "heartbeat-timeout"],
    ["a ping moved the deadline", { lastAutoResponseAt: T0 + 2000 }, T0 + TIMEOUT + 1000, null],
    ["credentials expire exactly now", { expiresAt: T0 + 1000 }, T0 + 1000, "token-expired"],
    ["credentials not yet expired", { expiresAt: T0 + 1000 }, T0 + 999, null],
    // Both apply: the client must learn to fetch a fresh token, not just reconnect.
    ["expired and silent", { expiresAt: T0 + 1000 }, T0 + TIMEOUT + 1, "token-expired"],
  ])("%s", (_name, changes, now, reason) => {
    expect(staleReason(liveness(changes), TIMEOUT, now)).toBe(reason);
  });
});

describe("the recorded frame's lag", () => {
  it("judges a recorded frame from the latest the socket's true last frame may be: one interval later", () => {
    expect(lastSignOfLife(liveness({ lastMessageAt: T0 + 500 }), 1000)).toBe(T0 + 1500);
    expect(heartbeatDeadline(liveness({ lastMessageAt: T0 + 500 }), TIMEOUT, 1000)).toBe(T0 + 1500 + TIMEOUT);
    expect(staleReason(liveness({ lastMessageAt: T0 + 500 }), TIMEOUT, T0 + 500 + TIMEOUT, 1000)).toBeNull();
    expect(staleReason(liveness({ lastMessageAt: T0 + 500 }), TIMEOUT, T0 + 1500 + TIMEOUT, 1000)).toBe("heartbeat-timeout");
  });

  it("staleAt is the credential expiry when it comes first, else the heartbeat deadline", () => {
    expect(staleAt(liveness({ expiresAt: T0 + 10 }), TIMEOUT)).toBe(T0 + 10);
    expect(staleAt(liveness({ expiresAt: T0 + TIMEOUT * 9 }), TIMEOUT, 1000)).toBe(T0 + 1000 + TIMEOUT);
  });
});

describe("ZombieSweep", () => {
  const heartbeat = { intervalMs: 1000, timeoutMs: TIMEOUT };

  it("defaults to a twelve-hour janitor", () => {
    expect(DEFAULT_HEARTBEAT_SWEEP_MS).toBe(12 * 60 * 60 * 1000);
  });

  it("scans on an instance's first wake, then skips until the earliest moment a socket may turn stale", () => {
    const sweep = new ZombieSweep(heartbeat, 60_000);
    expect(sweep.mayBeStale(T0)).toBe(true);
    sweep.scanned(sweep.earliestStale([liveness(), liveness({ lastAutoResponseAt: T0 + 2000 })]));
    expect(sweep.mayBeStale(T0 + 1000 + TIMEOUT - 1)).toBe(false);
    expect(sweep.mayBeStale(T0 + 1000 + TIMEOUT)).toBe(true);
    // A newcomer whose token expires sooner brings the moment forward.
    sweep.mayTurnStaleAt(T0 + 10);
    expect(sweep.mayBeStale(T0 + 10)).toBe(true);
    sweep.scanned(null);
    expect(sweep.mayBeStale(Number.MAX_SAFE_INTEGER)).toBe(false);
  });

  it("at the defaults, arms the janitor one sweep period away, not at a heartbeat deadline or a token's expiry", () => {
    const sweep = new ZombieSweep(heartbeat);
    sweep.alarmIs(null);
    expect(sweep.plan(T0 + 10, T0)).toBe(T0 + DEFAULT_HEARTBEAT_SWEEP_MS);
  });

  it("keeps an alarm that comes at or before the moment wanted: a connect, a refresh or a message writes no alarm", () => {
    const sweep = new ZombieSweep(heartbeat, 60_000);
    sweep.alarmIs(T0 + 60_000);
    expect(sweep.plan(T0 + TIMEOUT, T0 + 5000)).toBeUndefined();
    expect(sweep.plan(T0 + 90_000, T0 + 50_000)).toBeUndefined();
  });

  it("moves an alarm earlier only when a socket turns stale before it and after a sweep period", () => {
    const sweep = new ZombieSweep(heartbeat, TIMEOUT);
    sweep.alarmIs(T0 + 20_000);
    expect(sweep.plan(T0 + 5000, T0)).toBe(T0 + 5000);
  });

  it("clears the alarm when no socket is left, and leaves none alone", () => {
    const sweep = new ZombieSweep(heartbeat, 60_000);
    sweep.alarmIs(T0 + 60_000);
    expect(sweep.plan(null, T0)).toBeNull();
    sweep.alarmIs(null);
    expect(sweep.plan(null, T0)).toBeUndefined();
  });

  it("eager (sweep period = timeout): pinging sockets cost one alarm per timeout; a silent one closes within one timeout and one interval", () => {
    const sweep = new ZombieSweep(heartbeat, TIMEOUT);
    const phases = [0, 333, 700];
    const pingsAt = (t: number) => phases.map((p) => liveness({ lastAutoResponseAt: T0 + p + Math.floor((t - T0 - p) / 1000) * 1000 }));
    sweep.alarmIs(null);
    let wake = sweep.plan(sweep.earliestStale(pingsAt(T0)), T0)!;
    for (let i = 0; i < 20; i++) {
      for (const socket of pingsAt(wake)) expect(sweep.staleReason(socket, wake)).toBeNull();
      sweep.alarmIs(null);
      const next = sweep.plan(sweep.earliestStale(pingsAt(wake)), wake)!;
      expect(next - wake).toBeGreaterThanOrEqual(TIMEOUT);
      wake = next;
    }
    // A socket silent since T0, beside the pinging ones: the alarm set at its connect comes when it turns stale.
    sweep.alarmIs(null);
    const at = sweep.plan(sweep.earliestStale([...pingsAt(T0), liveness()]), T0)!;
    expect(at).toBe(T0 + 1000 + TIMEOUT);
    expect(sweep.staleReason(liveness(), at)).toBe("heartbeat-timeout");
  });
});
