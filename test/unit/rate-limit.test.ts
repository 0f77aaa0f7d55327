import { describe, expect, it } from "vitest";
import { ConfigError, DEFAULT_CONFIG, readHubConfig } from "../../src/index.ts";
import {
  DirectSenderLimits,
  messageFrameText,
  NOTICE_INTERVAL_MS,
  PerMinuteLimit,
  serializeDelivery,
  signalFrameText,
  SocketRateLimit,
  type SocketRateSettings,
  STREAK_GAP_MS,
  TokenBucket,
  USER_RATE_FACTOR,
  UserFrameBudget,
  UnackedDeliveries,
  UnserializablePayloadError,
  isUnserializablePayload,
  UNSERIALIZABLE_PAYLOAD_PREFIX,
} from "../../src/host.ts";

const SETTINGS: SocketRateSettings = { framesPerSecond: 10, frameBurst: 20, bytesPerSecond: 1000, byteBurst: 2000, closeAfterMs: 3000, penaltyMs: 30_000 };

describe("TokenBucket", () => {
  it("starts full, takes up to its burst, then says how long until the next token", () => {
    const bucket = new TokenBucket(10, 5, 0);
    for (let i = 0; i < 5; i++) expect(bucket.take(1, 0)).toBe(0);
    expect(bucket.take(1, 0)).toBe(100);
    expect(bucket.take(1, 100)).toBe(0);
  });

  it("refills at its rate and never past its burst", () => {
    const bucket = new TokenBucket(10, 5, 0);
    for (let i = 0; i < 5; i++) bucket.take(1, 0);
    expect(bucket.take(5, 10_000)).toBe(0);
    expect(bucket.take(1, 10_000)).toBe(100);
  });

  it("answers Infinity for a cost past its burst, and takes nothing", () => {
    const bucket = new TokenBucket(10, 5, 0);
    expect(bucket.take(6, 0)).toBe(Number.POSITIVE_INFINITY);
    expect(bucket.take(5, 0)).toBe(0);
  });

  it("does not go backwards when the clock does", () => {
    const bucket = new TokenBucket(10, 1, 1000);
    expect(bucket.take(1, 1000)).toBe(0);
    expect(bucket.take(1, 500)).toBeGreaterThan(0);
  });
});

describe("PerMinuteLimit", () => {
  it("allows its count in a minute, then the wait until one more", () => {
    const limit = new PerMinuteLimit(3, 0);
    expect([limit.take(0), limit.take(0), limit.take(0)]).toEqual([0, 0, 0]);
    expect(limit.take(0)).toBe(20_000);
    expect(limit.take(20_000)).toBe(0);
  });
});

describe("SocketRateLimit", () => {
  it("passes frames within both budgets", () => {
    const limit = new SocketRateLimit(SETTINGS, 0);
    for (let i = 0; i < 20; i++) expect(limit.check(10, 0)).toEqual({ kind: "pass" });
  });

  it("refuses past the frame burst with retryAfterMs, and tells the client at most once per notice interval", () => {
    const limit = new SocketRateLimit(SETTINGS, 0);
    for (let i = 0; i < 20; i++) limit.check(1, 0);
    const first = limit.check(1, 0);
    expect(first).toEqual({ kind: "refuse", limit: "frames", scope: "socket", retryAfterMs: 100, notify: true });
    const verdicts = Array.from({ length: 10 }, (_, i) => limit.check(1, 1 + i * 10));
    const notified = verdicts.filter((v) => v.kind === "refuse" && v.notify);
    expect(notified).toEqual([]);
    // Passes (the bucket refilled) and refusals interleave; the next notice comes a notice interval later.
    let later = limit.check(1, NOTICE_INTERVAL_MS);
    while (later.kind === "pass") later = limit.check(1, NOTICE_INTERVAL_MS);
    expect(later).toMatchObject({ kind: "refuse", notify: true });
  });

  it("refuses past the byte burst, naming the byte limit", () => {
    const limit = new SocketRateLimit(SETTINGS, 0);
    expect(limit.check(2000, 0)).toEqual({ kind: "pass" });
    expect(limit.check(500, 0)).toEqual({ kind: "refuse", limit: "bytes", scope: "socket", retryAfterMs: 500, notify: true });
  });

  it("closes a socket a little over its rate once its frames have kept being refused for closeAfterMs", () => {
    const limit = new SocketRateLimit(SETTINGS, 0);
    for (let i = 0; i < 20; i++) limit.check(1, 0);
    // 12.5 frames a second against 10: a few refusals a second, never more than the burst in a streak.
    let verdict = limit.check(1, 0);
    let t = 0;
    while (verdict.kind !== "close" && t < 10_000) verdict = limit.check(1, (t += 80));
    expect(verdict).toEqual({ kind: "close", limit: "frames", scope: "socket" });
    expect(t).toBeGreaterThanOrEqual(SETTINGS.closeAfterMs);
    expect(t).toBeLessThan(SETTINGS.closeAfterMs + 500);
  });

  it("closes a flood at once: more frames refused in a streak than the burst", () => {
    const limit = new SocketRateLimit(SETTINGS, 0);
    const verdicts = Array.from({ length: 41 }, () => limit.check(1, 0));
    expect(verdicts.slice(0, 20).every((v) => v.kind === "pass")).toBe(true);
    expect(verdicts.slice(20, 40).every((v) => v.kind === "refuse")).toBe(true);
    expect(verdicts[40]).toEqual({ kind: "close", limit: "frames", scope: "socket" });
  });

  it("forgives a burst that stopped: a streak ends after a quiet gap", () => {
    const limit = new SocketRateLimit(SETTINGS, 0);
    for (let i = 0; i < 25; i++) limit.check(1, 0);
    // Quiet for longer than the gap, then over again, repeatedly: never closed.
    let t = 0;
    for (let round = 0; round < 10; round++) {
      t += STREAK_GAP_MS + 1;
      // 10 pass (refilled), 15 are refused: fewer than the burst, and the quiet gap ends each streak.
      for (let i = 0; i < 25; i++) expect(limit.check(1, t).kind).not.toBe("close");
    }
  });
});

describe("a user's sockets share one budget (UserFrameBudget)", () => {
  it("refuses a frame past the user's burst though its own socket is within its own, naming the user's budget", () => {
    const user = new UserFrameBudget(SETTINGS, 0);
    const sockets = [1, 2, 3].map(() => new SocketRateLimit(SETTINGS, 0, user));
    // 3 sockets × 7 frames: each within its own burst of 20, together past the user's 20.
    const verdicts = sockets.flatMap((socket) => Array.from({ length: 7 }, () => socket.check(1, 0)));
    expect(verdicts.filter((v) => v.kind === "pass")).toHaveLength(SETTINGS.frameBurst);
    expect(verdicts.at(-1)).toEqual({ kind: "refuse", limit: "frames", scope: "user", retryAfterMs: 1000 / (USER_RATE_FACTOR * SETTINGS.framesPerSecond), notify: true });
    // Another user's sockets have their own budget.
    expect(new SocketRateLimit(SETTINGS, 0, new UserFrameBudget(SETTINGS, 0)).check(1, 0)).toEqual({ kind: "pass" });
  });

  it("refills at twice one socket's rates, so two sockets at their full rate both pass and a third is refused", () => {
    const user = new UserFrameBudget(SETTINGS, 0);
    const sockets = [1, 2, 3].map(() => new SocketRateLimit(SETTINGS, 0, user));
    // Empty the user's burst first, then every socket sends at its own rate (one frame per 100 ms) for 10 s.
    for (let i = 0; i < SETTINGS.frameBurst; i++) sockets[0]!.check(1, 0);
    const passed = [0, 0, 0];
    for (let t = 100; t <= 10_000; t += 100) sockets.forEach((socket, i) => void (socket.check(1, t).kind === "pass" && passed[i]!++));
    const total = passed.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThanOrEqual(USER_RATE_FACTOR * SETTINGS.framesPerSecond * 10 - 2);
    expect(total).toBeLessThanOrEqual(USER_RATE_FACTOR * SETTINGS.framesPerSecond * 10 + 1);
  });

  it("counts bytes across the user's sockets too", () => {
    const user = new UserFrameBudget(SETTINGS, 0);
    const [a, b] = [1, 2].map(() => new SocketRateLimit(SETTINGS, 0, user));
    expect(a!.check(1500, 0)).toEqual({ kind: "pass" });
    expect(b!.check(1000, 0)).toMatchObject({ kind: "refuse", limit: "bytes", scope: "user" });
  });

  it("closes a socket that keeps pushing past the user's budget, as past its own", () => {
    const user = new UserFrameBudget(SETTINGS, 0);
    const quiet = new SocketRateLimit(SETTINGS, 0, user);
    for (let i = 0; i < SETTINGS.frameBurst; i++) quiet.check(1, 0);
    const flooder = new SocketRateLimit(SETTINGS, 0, user);
    // Its own burst passes its own buckets, but the user's is empty: refused from the first frame, closed past a burst of refusals.
    const verdicts = Array.from({ length: SETTINGS.frameBurst + 1 }, () => flooder.check(1, 0));
    expect(verdicts.slice(0, SETTINGS.frameBurst).every((v) => v.kind === "refuse" && v.scope === "user")).toBe(true);
    // By then its own burst is spent as well (a refused frame keeps its socket's token spent).
    expect(verdicts.at(-1)).toMatchObject({ kind: "close", limit: "frames" });
  });
});

describe("DirectSenderLimits", () => {
  it("counts each sender apart: one past its minute waits, another goes in", () => {
    const senders = new DirectSenderLimits(3);
    for (let i = 0; i < 3; i++) expect(senders.take("mallory", 0)).toBe(0);
    expect(senders.take("mallory", 0)).toBe(20_000);
    expect(senders.take("carol", 0)).toBe(0);
    expect(senders.take("mallory", 20_000)).toBe(0);
  });

  it("starts a sender it has no count of from the seed (what the log kept of it), and takes back a count put back", () => {
    const senders = new DirectSenderLimits(3);
    expect(senders.take("mallory", 0, () => 2)).toBe(0);
    expect(senders.take("mallory", 0, () => 99)).toBeGreaterThan(0); // counted already: the seed is not asked again
    senders.putBack("mallory");
    expect(senders.take("mallory", 0)).toBe(0);
    expect(new DirectSenderLimits(3).take("eve", 0, () => 99)).toBeGreaterThan(0); // a seed past the minute's count
  });

  it("keeps at most its bound of senders, forgetting the one unused longest (full again anyway a minute after)", () => {
    const senders = new DirectSenderLimits(1, 2);
    senders.take("a", 0);
    senders.take("b", 0);
    senders.take("a", 0); // a used again: b is now the oldest
    senders.take("c", 0); // b forgotten; a and c kept
    expect(senders.take("a", 0)).toBeGreaterThan(0);
    expect(senders.take("b", 0)).toBe(0);
  });
});

describe("UnackedDeliveries", () => {
  it("sums what was sent and drops what was acknowledged, in order", () => {
    const unacked = new UnackedDeliveries();
    unacked.sent(1, 100);
    unacked.sent(2, 50);
    unacked.sent(3, 25);
    expect(unacked.bytes).toBe(175);
    unacked.acknowledged(2);
    expect(unacked.bytes).toBe(25);
    unacked.acknowledged(1); // stale: nothing changes
    expect(unacked.bytes).toBe(25);
    unacked.acknowledged(99);
    expect(unacked.bytes).toBe(0);
  });

  it("says how many bytes wait of the deliveries before a seq, acknowledged ones left out", () => {
    const unacked = new UnackedDeliveries();
    for (const [seq, bytes] of [[1, 100], [2, 50], [3, 25], [4, 10]] as const) unacked.sent(seq, bytes);
    expect(unacked.bytesBefore(3)).toBe(150);
    expect(unacked.bytesBefore(1)).toBe(0);
    expect(unacked.bytesBefore(9)).toBe(185);
    unacked.acknowledged(1);
    expect(unacked.bytesBefore(4)).toBe(75);
    unacked.acknowledged(4);
    expect(unacked.bytesBefore(5)).toBe(0);
  });

  it("stays correct over many deliveries and acknowledgments", () => {
    const unacked = new UnackedDeliveries();
    for (let seq = 1; seq <= 10_000; seq++) {
      unacked.sent(seq, 10);
      if (seq % 7 === 0) unacked.acknowledged(seq - 3);
    }
    // The last acknowledgment in the loop was 9993 (at 9996); 9990 is stale.
    unacked.acknowledged(9_990);
    expect(unacked.bytes).toBe(70);
    unacked.acknowledged(9_995);
    expect(unacked.bytes).toBe(50);
  });
});

describe("serializeDelivery and messageFrameText", () => {
  it("builds the same text JSON.stringify of the frame would", () => {
    for (const [data, from] of [[{ a: [1, "x"] }, undefined], ["hi", "conn-1"], [null, undefined], [undefined, 'we"ird']] as const) {
      const { json } = serializeDelivery({ data, ...(from ? { from } : {}) });
      const delivery = { seq: 7, at: 1234, data, ...(from ? { from } : {}) };
      expect(messageFrameText(delivery, json)).toBe(JSON.stringify({ type: "message", seq: 7, data: data ?? null, at: 1234, ...(from ? { from } : {}) }));
    }
  });

  it("builds the signal frame JSON.stringify of it would", () => {
    for (const [data, from] of [[{ a: [1, "x"] }, undefined], ["hi", "conn-1"], [undefined, 'we"ird']] as const) {
      const { json } = serializeDelivery({ data });
      expect(signalFrameText(json, from)).toBe(JSON.stringify({ type: "signal", data: data ?? null, ...(from ? { from } : {}) }));
    }
  });

  // Deep nesting is not among these: workerd's and Deno's JSON.stringify follow 200,000 levels (Node's does not).
  it.each([
    ["a BigInt", 1n],
    ["a cycle", (() => { const o: Record<string, unknown> = {}; o.self = o; return o; })()],
    ["a function", () => 1],
  ])("refuses %s with an UnserializablePayloadError (a TypeError that keeps its cause)", (_what, data) => {
    let caught: unknown;
    try {
      serializeDelivery({ data });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(UnserializablePayloadError);
    expect(caught).toBeInstanceOf(TypeError);
    expect((caught as Error).message.startsWith(UNSERIALIZABLE_PAYLOAD_PREFIX)).toBe(true);
    expect(isUnserializablePayload(caught)).toBe(true);
    // As Workers RPC hands it back: a plain TypeError with the same message.
    expect(isUnserializablePayload(new TypeError((caught as Error).message))).toBe(true);
    expect(isUnserializablePayload(new TypeError("something else"))).toBe(false);
  });
});

describe("rate limit configuration", () => {
  it("reads the per-socket rates, with the defaults when unset", () => {
    expect(readHubConfig({}).rate).toEqual(DEFAULT_CONFIG.rate);
    const config = readHubConfig({
      RATE_LIMIT_FRAMES_PER_SECOND: "5",
      RATE_LIMIT_FRAME_BURST: "6",
      RATE_LIMIT_BYTES_PER_SECOND: "70000",
      RATE_LIMIT_BYTE_BURST: "80000",
      RATE_LIMIT_CLOSE_AFTER_MS: "900",
      RATE_LIMIT_PENALTY_MS: "5000",
    });
    expect(config.rate).toEqual({ framesPerSecond: 5, frameBurst: 6, bytesPerSecond: 70000, byteBurst: 80000, closeAfterMs: 900, penaltyMs: 5000 });
  });

  it("raises the default byte burst to MAX_MESSAGE_BYTES, and refuses a set one below it, naming it", () => {
    expect(readHubConfig({ MAX_MESSAGE_BYTES: String(8 * 1024 * 1024) }).rate.byteBurst).toBe(8 * 1024 * 1024);
    let caught: unknown;
    try {
      readHubConfig({ MAX_MESSAGE_BYTES: "4096", RATE_LIMIT_BYTE_BURST: "1000" });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).variable).toBe("RATE_LIMIT_BYTE_BURST");
  });

  it.each(["RATE_LIMIT_FRAMES_PER_SECOND", "RATE_LIMIT_FRAME_BURST", "RATE_LIMIT_BYTES_PER_SECOND", "RATE_LIMIT_CLOSE_AFTER_MS", "RATE_LIMIT_PENALTY_MS"])(
    "refuses %s that is not a positive whole number",
    (name) => {
      expect(() => readHubConfig({ [name]: "0" })).toThrow(ConfigError);
      expect(() => readHubConfig({ [name]: "1e3" })).toThrow(name);
    },
  );
});
