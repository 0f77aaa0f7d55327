import { describe, expect, it } from "vitest";
import { AckTracker } from "../../src/client/ack-tracker.ts";

describe("AckTracker", () => {
  it("never acknowledges when the hub announced no bound", () => {
    const acks = new AckTracker();
    acks.welcomed(undefined);
    for (let seq = 1; seq <= 1000; seq++) expect(acks.delivered(seq, 10_000)).toBeNull();
  });

  it("acknowledges the latest seq once per eighth of the bound received, and not in between", () => {
    const acks = new AckTracker();
    acks.welcomed(8000); // threshold: 1000 code units
    const sent: number[] = [];
    for (let seq = 1; seq <= 40; seq++) {
      const ack = acks.delivered(seq, 100);
      if (ack !== null) sent.push(ack);
    }
    expect(sent).toEqual([10, 20, 30, 40]);
  });

  it("starts counting afresh with each welcome, and ignores a malformed bound", () => {
    const acks = new AckTracker();
    acks.welcomed(8000);
    expect(acks.delivered(1, 900)).toBeNull();
    acks.welcomed(8000);
    expect(acks.delivered(2, 900)).toBeNull();
    expect(acks.delivered(3, 100)).toBe(3);
    for (const bad of [-1, 0, Number.NaN, "8000", null]) {
      acks.welcomed(bad);
      expect(acks.delivered(4, 1e9)).toBeNull();
    }
  });
});
