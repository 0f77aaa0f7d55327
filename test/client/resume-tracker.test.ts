import { describe, expect, it } from "vitest";
import { isSeq, ResumeTracker } from "../../src/client/resume-tracker.ts";

describe("isSeq", () => {
  it("accepts whole numbers >= 0 only", () => {
    expect([0, 1, 41, Number.MAX_SAFE_INTEGER].every(isSeq)).toBe(true);
    expect([-1, 1.5, Number.NaN, Infinity, 2 ** 53, "1", null, undefined].some(isSeq)).toBe(false);
  });
});

describe("ResumeTracker", () => {
  it("has nothing to resume from before the first welcome, then starts at the welcome's seq", () => {
    const tracker = new ResumeTracker();
    expect(tracker.resumePoint).toBeNull();
    expect([tracker.lastSeq, tracker.epoch]).toEqual([null, null]);
    tracker.welcomed({ seq: 7, epoch: "e1" });
    expect(tracker.resumePoint).toEqual({ seq: 7, epoch: "e1" });
    expect(tracker.replaying).toBe(false);
    expect(tracker.takePendingReset()).toBeNull();
  });

  it("resumes from resumeFrom, and refuses a malformed one", () => {
    expect(new ResumeTracker({ seq: 3, epoch: "e1" }).resumePoint).toEqual({ seq: 3, epoch: "e1" });
    expect(() => new ResumeTracker({ seq: -1, epoch: "e1" })).toThrow(TypeError);
    expect(() => new ResumeTracker({ seq: 1.5, epoch: "e1" })).toThrow(TypeError);
    expect(() => new ResumeTracker({ seq: 1, epoch: "" })).toThrow(TypeError);
    expect(() => new ResumeTracker({ seq: 1 } as never)).toThrow(TypeError);
  });

  it("drops deliveries at or below the last seq, and moves the resume point with the others", () => {
    const tracker = new ResumeTracker();
    tracker.welcomed({ seq: 5, epoch: "e1" });
    expect(tracker.accept(5)).toBe(false);
    expect(tracker.accept(4)).toBe(false);
    expect(tracker.accept(6)).toBe(true);
    expect(tracker.accept(6)).toBe(false);
    expect(tracker.accept(9)).toBe(true); // gaps are the hub's business; seq only moves forward
    expect(tracker.resumePoint).toEqual({ seq: 9, epoch: "e1" });
  });

  it("replays up to a same-epoch welcome's seq, and only the delivery that reaches it ends the replay", () => {
    const tracker = new ResumeTracker({ seq: 10, epoch: "e1" });
    tracker.welcomed({ seq: 13, epoch: "e1" });
    expect(tracker.replaying).toBe(true);
    expect(tracker.accept(11)).toBe(true);
    expect(tracker.finishReplayAt(11)).toBe(false);
    expect(tracker.replaying).toBe(true);
    expect(tracker.accept(13)).toBe(true);
    expect(tracker.finishReplayAt(13)).toBe(true);
    expect(tracker.replaying).toBe(false);
    expect(tracker.finishReplayAt(14)).toBe(false); // already over
  });

  it("has no replay when the same-epoch welcome brings nothing new", () => {
    const tracker = new ResumeTracker({ seq: 10, epoch: "e1" });
    tracker.welcomed({ seq: 10, epoch: "e1" });
    expect(tracker.replaying).toBe(false);
  });

  it("loses the replay with the connection, and a reset ends it too", () => {
    const tracker = new ResumeTracker({ seq: 10, epoch: "e1" });
    tracker.welcomed({ seq: 13, epoch: "e1" });
    tracker.connectionLost();
    expect(tracker.replaying).toBe(false);
    expect(tracker.resumePoint).toEqual({ seq: 10, epoch: "e1" });

    tracker.welcomed({ seq: 20, epoch: "e1" });
    tracker.reset({ epoch: "e1", latest: 20 });
    expect(tracker.replaying).toBe(false);
    expect(tracker.resumePoint).toEqual({ seq: 20, epoch: "e1" });
  });

  it("restarts at a new epoch's welcome and owes a reset (oldest = latest + 1) until the hub's own reset supersedes it", () => {
    const tracker = new ResumeTracker({ seq: 10, epoch: "e1" });
    tracker.welcomed({ seq: 3, epoch: "e2" });
    expect(tracker.resumePoint).toEqual({ seq: 3, epoch: "e2" });
    expect(tracker.replaying).toBe(false);
    expect(tracker.accept(4)).toBe(true); // not mistaken for a duplicate of the old log's 10

    tracker.reset({ epoch: "e2", latest: 4 });
    expect(tracker.takePendingReset()).toBeNull();
  });

  it("hands the owed reset over once, and keeps it across a lost connection", () => {
    const tracker = new ResumeTracker({ seq: 10, epoch: "e1" });
    tracker.welcomed({ seq: 3, epoch: "e2" });
    tracker.connectionLost();
    expect(tracker.takePendingReset()).toEqual({ type: "reset", epoch: "e2", oldest: 4, latest: 3 });
    expect(tracker.takePendingReset()).toBeNull();
  });

  it("can drop the owed reset unreported", () => {
    const tracker = new ResumeTracker({ seq: 10, epoch: "e1" });
    tracker.welcomed({ seq: 3, epoch: "e2" });
    tracker.discardPendingReset();
    expect(tracker.takePendingReset()).toBeNull();
  });
});
