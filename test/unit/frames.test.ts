import { describe, expect, it, test } from "vitest";
import { ErrorCode } from "../../src/index.ts";
import { frameBytes, isLargerThan, parseClientFrame } from "../../src/host.ts";

/** The error code parsing `text` yields; fails if it parsed. */
function errorCodeOf(text: string): string {
  const parsed = parseClientFrame(text);
  if (parsed.ok) throw new Error(`expected ${JSON.stringify(text)} to be refused`);
  expect(parsed.error.type).toBe("error");
  expect(parsed.error.message.length).toBeGreaterThan(0);
  return parsed.error.code;
}

describe("parseClientFrame", () => {
  test.each(["", "{", "ping", "{type:'send'}", "{\"type\":\"send\",}", "undefined", "NaN", "\u0000"])(
    "%j is not JSON → malformed_json",
    (text) => {
      expect(errorCodeOf(text)).toBe(ErrorCode.MalformedJson);
      expect(errorCodeOf(text)).toBe("malformed_json");
    },
  );

  test.each(["[]", '[{"type":"send"}]', "1", "-0.5", "null", "true", '"send"'])("%s is JSON but not an object → invalid_frame", (text) => {
    expect(errorCodeOf(text)).toBe(ErrorCode.InvalidFrame);
    expect(errorCodeOf(text)).toBe("invalid_frame");
  });

  test.each(["{}", '{"data":"hi"}', '{"type":""}', '{"type":1}', '{"type":null}', '{"type":["send"]}', '{"type":{"name":"send"}}', '{"type":true}'])(
    "%s has no non-empty string type → invalid_frame",
    (text) => {
      expect(errorCodeOf(text)).toBe(ErrorCode.InvalidFrame);
    },
  );

  it("returns a good frame with every field as sent", () => {
    expect(parseClientFrame('{"type":"send","data":{"n":[1,2]},"id":"x"}')).toEqual({
      ok: true,
      frame: { type: "send", data: { n: [1, 2] }, id: "x" },
    });
  });

  it("accepts any non-empty type (unknown types are the hub's call)", () => {
    expect(parseClientFrame(' { "type" : "whatever" } ')).toEqual({ ok: true, frame: { type: "whatever" } });
  });

  it("never throws, even on deeply nested input", () => {
    const deep = "[".repeat(100_000) + "]".repeat(100_000);
    expect(() => parseClientFrame(deep)).not.toThrow();
    expect(parseClientFrame(deep).ok).toBe(false);
  });
});

describe("frameBytes", () => {
  test.each<[string, number]>([
    ["", 0],
    ["abc", 3],
    ["é", 2],
    ["€", 3],
    ["😀", 4],
    ["a€😀", 8],
  ])("%j is %i bytes", (text, bytes) => {
    expect(frameBytes(text)).toBe(bytes);
  });

  it("counts text as TextEncoder encodes it, lone surrogates (U+FFFD, 3 bytes) and every code unit included", () => {
    const encoder = new TextEncoder();
    const texts = ["\ud800", "\udc00", "a\ud800b", "\ud83d\ude00\ud83d", "\u007f\u0080\u07ff\u0800\uffff", "x".repeat(5000) + "ü"];
    // Around the short-text check's bound (128 units), and text counted in several chunks (past 16 KiB encoded), a
    // surrogate pair or a lone surrogate on every possible chunk edge.
    for (const length of [127, 128, 129]) texts.push("a".repeat(length), "é".repeat(length), "a".repeat(length - 1) + "\u0000", "\u007f".repeat(length));
    for (let shift = 0; shift < 4; shift++) {
      texts.push("x".repeat(shift) + "😀".repeat(20_000), "x".repeat(shift) + "€".repeat(12_000) + "\ud800", "y".repeat(40_000 + shift) + "😀", "€".repeat(5461 + shift) + "😀\udc00".repeat(3));
    }
    // Every UTF-16 code unit, in strings of 64 (surrogates among them unpaired; the pairs are above).
    for (let start = 0; start < 0x10000; start += 64) texts.push(String.fromCharCode(...Array.from({ length: 64 }, (_, i) => start + ((i * 7919) % 64))));
    for (const text of texts) expect(frameBytes(text)).toBe(encoder.encode(text).byteLength);
  });

  it("counts binary frames by byteLength", () => {
    expect(frameBytes(new ArrayBuffer(10))).toBe(10);
    expect(frameBytes(new Uint8Array(new ArrayBuffer(10), 2, 5))).toBe(5);
  });
});

describe("isLargerThan", () => {
  // Each row sits on the limit or one step past it, where a wrong shortcut would show.
  test.each<[string, string, number, boolean]>([
    ["10 ASCII", "a".repeat(10), 10, false],
    ["11 ASCII", "a".repeat(11), 10, true],
    ["5 × é (10 bytes)", "é".repeat(5), 10, false],
    ["6 × é (12 bytes, 6 code units)", "é".repeat(6), 10, true],
    ["3 × € (9 bytes)", "€".repeat(3), 9, false],
    ["3 × € (9 bytes) under 8", "€".repeat(3), 8, true],
    ["3 × € + a (10 bytes)", "€€€a", 9, true],
    ["2 × 😀 (8 bytes, 4 code units)", "😀".repeat(2), 8, false],
    ["2 × 😀 (8 bytes) under 7", "😀".repeat(2), 7, true],
    ["empty", "", 0, false],
    ["one ASCII under 0", "a", 0, true],
  ])("%s against %i → %s", (_name, text, limit, larger) => {
    expect(isLargerThan(text, limit)).toBe(larger);
    expect(isLargerThan(text, limit)).toBe(frameBytes(text) > limit);
  });

  it("agrees with frameBytes for mixed text at every limit near its size", () => {
    const samples = ["a", "é", "€", "😀", "aé€😀", "€".repeat(7) + "ab", "😀é".repeat(5)];
    for (const text of samples) {
      const bytes = frameBytes(text);
      for (let limit = Math.max(0, bytes - 4); limit <= bytes * 3 + 1; limit++) {
        expect(isLargerThan(text, limit), `${JSON.stringify(text)} against ${limit}`).toBe(bytes > limit);
      }
    }
  });

  it("compares binary frames by byteLength", () => {
    expect(isLargerThan(new ArrayBuffer(10), 10)).toBe(false);
    expect(isLargerThan(new ArrayBuffer(10), 9)).toBe(true);
    expect(isLargerThan(new Uint8Array(4), 3)).toBe(true);
    expect(isLargerThan(new Uint8Array(4), 4)).toBe(false);
  });
});
