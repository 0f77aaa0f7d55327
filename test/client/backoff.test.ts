import { describe, expect, it } from "vitest";
import { Backoff, DEFAULT_BACKOFF, delayCeiling, fullJitterDelay } from "../../src/client/backoff.ts";

/** mulberry32: a small seeded PRNG, so every run checks the same many thousands of draws. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("delayCeiling", () => {
  it("doubles from the base and stops at the cap", () => {
    const options = { baseMs: 500, maxMs: 30_000 };
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((n) => delayCeiling(n, options))).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
  });

  it("stays finite and at the cap for huge attempts, even with a base of 0", () => {
    expect(delayCeiling(10_000, { baseMs: 500, maxMs: 30_000 })).toBe(30_000);
    expect(delayCeiling(10_000, { baseMs: 0, maxMs: 30_000 })).toBe(0);
  });
});

describe("fullJitterDelay", () => {
  it("is always a whole number within [0, min(max, base·2^n)] for 100 attempts × 200 seeded draws", () => {
    const random = seededRandom(42);
    const options = { baseMs: 500, maxMs: 30_000 };
    const outside: string[] = [];
    for (let attempt = 0; attempt < 100; attempt++) {
      const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** attempt);
      for (let draw = 0; draw < 200; draw++) {
        const delay = fullJitterDelay(attempt, options, random);
        if (!(Number.isInteger(delay) && delay >= 0 && delay <= ceiling && delay <= options.maxMs)) outside.push(`attempt ${attempt}: ${delay}`);
      }
    }
    expect(outside).toEqual([]);
  });

  it("spreads over the whole range (full jitter, not a fringe): mean near half the ceiling, some draws near 0", () => {
    const random = seededRandom(7);
    const draws = Array.from({ length: 10_000 }, () => fullJitterDelay(3, { baseMs: 500, maxMs: 30_000 }, random));
    const mean = draws.reduce((sum, d) => sum + d, 0) / draws.length;
    expect(mean).toBeGreaterThan(2000 * 0.95);
    expect(mean).toBeLessThan(2000 * 1.05);
    expect(Math.min(...draws)).toBeLessThan(4000 * 0.01);
    expect(Math.max(...draws)).toBeGreaterThan(4000 * 0.99);
  });

  it("maps the random source's extremes to the ends of the range and clamps a source that strays out of [0, 1]", () => {
    const options = { baseMs: 500, maxMs: 30_000 };
    expect(fullJitterDelay(2, options, () => 0)).toBe(0);
    expect(fullJitterDelay(2, options, () => 1)).toBe(2000);
    expect(fullJitterDelay(2, options, () => 1.5)).toBe(2000);
    expect(fullJitterDelay(2, options, () => -1)).toBe(0);
    expect(fullJitterDelay(50, options, () => 0.999)).toBeLessThanOrEqual(30_000);
  });
});

describe("Backoff", () => {
  it("counts attempts and uses base 500 ms and cap 30 s by default", () => {
    expect(DEFAULT_BACKOFF).toEqual({ baseMs: 500, maxMs: 30_000, stableAfterMs: 10_000 });
    const backoff = new Backoff({ random: () => 1 });
    expect(backoff.attempt).toBe(0);
    const delays = Array.from({ length: 9 }, () => backoff.next());
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
    expect(backoff.attempt).toBe(9);
  });

  it("keeps every delay within its ceiling with an injected seeded random", () => {
    const backoff = new Backoff({ baseMs: 100, maxMs: 5_000, random: seededRandom(1) });
    for (let attempt = 0; attempt < 1000; attempt++) {
      const delay = backoff.next();
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThanOrEqual(Math.min(5_000, 100 * 2 ** attempt));
    }
  });

  it("resets the counter when a connection stayed open for stableAfterMs", () => {
    let now = 1_000_000;
    const backoff = new Backoff({ random: () => 1, stableAfterMs: 10_000, now: () => now });
    backoff.next();
    backoff.next();
    backoff.next();
    backoff.opened();
    now += 10_000;
    expect(backoff.closed()).toBe(true);
    expect(backoff.attempt).toBe(0);
    expect(backoff.next()).toBe(500);
  });

  it("keeps counting when a connection dropped before it was stable", () => {
    let now = 0;
    const backoff = new Backoff({ random: () => 1, now: () => now });
    backoff.next();
    backoff.next();
    backoff.opened();
    now += 9_999;
    expect(backoff.closed()).toBe(false);
    expect(backoff.attempt).toBe(2);
    expect(backoff.next()).toBe(2000);
  });

  it("ignores closed() without opened() (a connection that never opened proves nothing)", () => {
    let now = 0;
    const backoff = new Backoff({ random: () => 1, now: () => now });
    backoff.next();
    now += 60_000;
    expect(backoff.closed()).toBe(false);
    expect(backoff.attempt).toBe(1);
    backoff.reset();
    expect(backoff.attempt).toBe(0);
  });

  it("refuses negative or non-finite options", () => {
    expect(() => new Backoff({ baseMs: -1 })).toThrow(RangeError);
    expect(() => new Backoff({ maxMs: Number.POSITIVE_INFINITY })).toThrow(RangeError);
    expect(() => new Backoff({ stableAfterMs: Number.NaN })).toThrow(RangeError);
  });
});
