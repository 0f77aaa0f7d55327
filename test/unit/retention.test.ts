// The one retention rule every delivery log applies (memory, SQLite, Deno KV):
// a delivery is kept only if it is among the latest `count`, within `ageMs`,
// and among the newest whose payloads fit in `bytes` (the newest whatever its size).
import { describe, expect, it } from "vitest";
import { isKeyRemembered, isRetained, retentionFloor } from "../../src/host.ts";

describe("retentionFloor and isRetained", () => {
  const policy = { count: 3, ageMs: 1000, bytes: 100 };

  it("keeps the latest `count` deliveries and no more", () => {
    const floor = retentionFloor(policy, 0, 10, 0);
    expect(isRetained(floor, { seq: 8, at: 0, base: 0 })).toBe(true);
    expect(isRetained(floor, { seq: 7, at: 0, base: 0 })).toBe(false);
  });

  it("keeps what is at most `ageMs` old at `now`, the boundary included", () => {
    const floor = retentionFloor(policy, 5000, 1, 0);
    expect(isRetained(floor, { seq: 1, at: 4000, base: 0 })).toBe(true);
    expect(isRetained(floor, { seq: 1, at: 3999, base: 0 })).toBe(false);
  });

  it("keeps the newest deliveries whose payload bytes fit in `bytes`", () => {
    // 130 bytes given in all: a delivery after 30 bytes keeps 100 (fits), one after 29 would keep 101.
    const floor = retentionFloor(policy, 0, 10, 130);
    expect(isRetained(floor, { seq: 9, at: 0, base: 30 })).toBe(true);
    expect(isRetained(floor, { seq: 9, at: 0, base: 29 })).toBe(false);
  });

  it("keeps the newest delivery whatever its size, unless the age drops it", () => {
    // A 500-byte delivery after 30 bytes: past the 100-byte bound on its own.
    const floor = retentionFloor(policy, 5000, 10, 530);
    expect(isRetained(floor, { seq: 10, at: 4000, base: 30 })).toBe(true);
    expect(isRetained(floor, { seq: 9, at: 4000, base: 29 })).toBe(false);
    expect(isRetained(floor, { seq: 10, at: 3999, base: 30 })).toBe(false);
  });

  it("remembers an idempotency key for less than `ageMs`", () => {
    expect(isKeyRemembered(policy, 0, 999)).toBe(true);
    expect(isKeyRemembered(policy, 0, 1000)).toBe(false);
  });
});
