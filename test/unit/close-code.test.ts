import { expect, test } from "vitest";
import { CloseCode } from "../../src/index.ts";
import { CloseReason } from "../../src/host.ts";

test("every close reason fits a close frame: at most 123 bytes of UTF-8 (RFC 6455 §5.5)", () => {
  for (const code of Object.values(CloseCode)) {
    const reason = CloseReason[code];
    expect(reason, `reason of ${code}`).toBeTypeOf("string");
    expect(new TextEncoder().encode(reason).length, `reason of ${code}: ${reason}`).toBeLessThanOrEqual(123);
  }
});

test("the heartbeat timeout's reason says what the hub expects: the text ping every interval, not protocol-level pings", () => {
  const reason = CloseReason[CloseCode.HeartbeatTimeout]!;
  expect(reason).toMatch(/^heartbeat timeout: /);
  expect(reason).toContain('the text "ping"');
  expect(reason).toContain("heartbeat.intervalMs");
  expect(reason).toContain("protocol-level pings never reach the hub");
});
