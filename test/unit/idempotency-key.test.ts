// The form each source's idempotency key is kept under in a user's log
// (logKey): a push's key as given unless it begins like another source's,
// a push to many users' behind "fan-out:", a direct message's behind
// "direct <from|to> <user>". No key of one source may equal another's.
// And the one rule every caller's key follows.
import { describe, expect, it } from "vitest";
import { checkPush, checkUserDelivery, directKey, InvalidIdempotencyKeyError, isIdempotencyKey, isIdempotencyKeyString, type KeySource, logKey, MAX_IDEMPOTENCY_KEY_CHARS } from "../../src/host.ts";

const PUSH: KeySource = { kind: "push" };
const FAN_OUT: KeySource = { kind: "fan-out" };
const direct = (direction: "from" | "to", otherUser: string): KeySource => ({ kind: "direct", direction, otherUser });

describe("logKey", () => {
  it("keeps a push's ordinary key as it was always kept, so a push retried across an upgrade is still recognised", () => {
    for (const key of ["order-42", "a", "k".repeat(200), "fan-out", "direct", "push", "Push x", " direct from bob m1", "fan-out-D1"]) {
      expect(logKey(PUSH, key)).toBe(key);
    }
  });

  it("keeps the fan-out's and direct messages' keys in the forms they always had", () => {
    expect(logKey(FAN_OUT, "digest-2026-11-30")).toBe("fan-out:digest-2026-11-30");
    expect(logKey(direct("from", "alice"), "m1")).toBe("direct from alice m1");
    expect(directKey("to", "bob", "m 1")).toBe("direct to bob m 1");
  });

  it("moves a push's key that begins like another source's (or like the move itself) behind \"push \"", () => {
    expect(logKey(PUSH, "fan-out:D1")).toBe("push fan-out:D1");
    expect(logKey(PUSH, "direct from bob m1")).toBe("push direct from bob m1");
    expect(logKey(PUSH, "push x")).toBe("push push x");
  });

  it("never gives two different (source, key) pairs the same log key", () => {
    const keys = ["D1", "m1", "fan-out:D1", "fan-out:", "direct from bob m1", "direct to bob m1", "direct from bob", "bob m1", "from bob m1", "push D1", "push fan-out:D1", "push push D1", "push ", "x y z"];
    const sources: KeySource[] = [PUSH, FAN_OUT, direct("from", "bob"), direct("to", "bob"), direct("from", "alice"), direct("from", "bob.m1")];
    const seen = new Map<string, string>();
    for (const source of sources) {
      for (const key of keys) {
        const kept = logKey(source, key);
        const who = `${JSON.stringify(source)} ${JSON.stringify(key)}`;
        expect(seen.get(kept), `${who} and ${seen.get(kept)} both kept as ${JSON.stringify(kept)}`).toBeUndefined();
        seen.set(kept, who);
      }
    }
  });
});

describe("the one rule for a key", () => {
  it("is a string of 1 to MAX_IDEMPOTENCY_KEY_CHARS characters, for every caller", () => {
    expect(MAX_IDEMPOTENCY_KEY_CHARS).toBe(200);
    for (const key of ["k", "k".repeat(200), "order 42", "é", "m\ud83d\ude00"]) expect(isIdempotencyKeyString(key)).toBe(true);
    for (const key of ["", "k".repeat(201), 5, { a: 1 }, null, ["k"]]) expect(isIdempotencyKeyString(key)).toBe(false);
    // A lone surrogate is not a character: Deno KV kept "m\ud801" and "m\udc01" as one key (both U+FFFD), SQLite as two.
    for (const key of ["m\ud801", "m\udc01", "\ude00m", "m\ud83d"]) expect(isIdempotencyKeyString(key)).toBe(false);
  });

  it("the HTTP routes take the same keys in printable ASCII without spaces, as a header carries them", () => {
    expect(isIdempotencyKey("k".repeat(200))).toBe(true);
    for (const key of ["", "k".repeat(201), "order 42", "é"]) expect(isIdempotencyKey(key)).toBe(false);
  });

  it("hub.users.deliver and a push refuse any other key with InvalidIdempotencyKeyError, a RangeError that says what it got", () => {
    expect(() => checkUserDelivery("bob", { idempotencyKey: "" })).toThrow(InvalidIdempotencyKeyError);
    expect(() => checkUserDelivery("bob", { idempotencyKey: 5 as unknown as string })).toThrow(/^idempotencyKey must be a string of 1 to 200 characters of well-formed Unicode, not a number$/);
    expect(() => checkPush(["x"], { idempotencyKey: "k".repeat(201) })).toThrow(/not 201 characters$/);
    expect(() => checkPush(["x"], { idempotencyKey: "m\ud801" })).toThrow(/not one with a lone surrogate/);
    expect(new InvalidIdempotencyKeyError(null)).toBeInstanceOf(RangeError);
    expect(() => checkUserDelivery("bob", { idempotencyKey: "m1" })).not.toThrow();
  });
});
