import { describe, expect, it, test } from "vitest";
import { DEFAULT_HEARTBEAT, heartbeatDeadline, lastSignOfLife, type Liveness, nextWake, staleReason } from "../../src/index.ts";

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

describe("nextWake", () => {
  it("is null with no sockets", () => {
    expect(nextWake([], TIMEOUT)).toBeNull();
    expect(nextWake(new Set<Liveness>(), TIMEOUT)).toBeNull();
  });

  it("is the one socket's heartbeat deadline", () => {
    expect(nextWake([liveness()], TIMEOUT)).toBe(T0 + TIMEOUT);
  });

  it("is the earliest deadline over all sockets, in any order", () => {
    const sockets = [liveness({ lastMessageAt: T0 + 2000 }), liveness({ lastMessageAt: T0 + 500 }), liveness({ lastAutoResponseAt: T0 + 1000 })];
    expect(nextWake(sockets, TIMEOUT)).toBe(T0 + 500 + TIMEOUT);
    expect(nextWake([...sockets].reverse(), TIMEOUT)).toBe(T0 + 500 + TIMEOUT);
  });

  it("takes a credential expiry that comes before the deadline", () => {
    expect(nextWake([liveness({ expiresAt: T0 + 1000 })], TIMEOUT)).toBe(T0 + 1000);
  });

  it("keeps the deadline when the expiry comes after it", () => {
    expect(nextWake([liveness({ expiresAt: T0 + 10_000 })], TIMEOUT)).toBe(T0 + TIMEOUT);
  });

  it("takes another socket's expiry when it is the earliest moment", () => {
    const sockets = [liveness({ lastMessageAt: T0 + 1000 }), liveness({ lastMessageAt: T0 + 2000, expiresAt: T0 + 1500 })];
    expect(nextWake(sockets, TIMEOUT)).toBe(T0 + 1500);
  });

  it("adds the grace to heartbeat deadlines but never to a credential expiry", () => {
    expect(nextWake([liveness()], TIMEOUT, 1000)).toBe(T0 + TIMEOUT + 1000);
    expect(nextWake([liveness({ expiresAt: T0 + TIMEOUT + 500 })], TIMEOUT, 1000)).toBe(T0 + TIMEOUT + 500);
  });

  it("with a grace of one interval, wakes at most once per timeout while every socket pings each interval", () => {
    const interval = 1000;
    // Three sockets pinging every interval, out of phase; each wake finds them all alive and sets the next.
    const phases = [0, 333, 700];
    let wake = nextWake(phases.map((p) => liveness({ lastAutoResponseAt: T0 + p })), TIMEOUT, interval)!;
    for (let i = 0; i < 20; i++) {
      const lastPings = phases.map((p) => T0 + p + Math.floor((wake - T0 - p) / interval) * interval);
      for (const at of lastPings) expect(staleReason(liveness({ lastAutoResponseAt: at }), TIMEOUT, wake)).toBeNull();
      const next = nextWake(lastPings.map((at) => liveness({ lastAutoResponseAt: at })), TIMEOUT, interval)!;
      expect(next - wake).toBeGreaterThanOrEqual(TIMEOUT);
      wake = next;
    }
  });

  it("accepts any iterable (a generator)", () => {
    function* sockets(): Generator<Liveness> {
      yield liveness({ lastMessageAt: T0 + 100 });
      yield liveness();
    }
    expect(nextWake(sockets(), TIMEOUT)).toBe(T0 + TIMEOUT);
  });
});
