/**
 * Where the client stands in the user's delivery log: the highest `seq` it
 * saw and the epoch of that log. A reconnect resumes from there, a delivery
 * seen before is dropped, and a log the hub no longer has becomes a "reset".
 */
import type { ResetFrame, WelcomeFrame } from "../protocol/frames.ts";
import type { ResumePoint } from "./connect-url.ts";

/** A sequence number as the hub sends it: a whole number >= 0. */
export function isSeq(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Follows one user's delivery log across connections: what `seq` to resume
 * from, which deliveries are duplicates, whether the hub is still replaying
 * what was missed (sends wait for that), and the reset owed when a welcome
 * names a new epoch. It validates nothing the hub sends: give it frames
 * already checked with {@link isSeq}.
 *
 * @example
 * ```ts
 * const tracker = new ResumeTracker({ seq: 40, epoch: "e1" }); // saved before a reload
 * tracker.welcomed({ seq: 42, epoch: "e1" }); // the hub replays 41 and 42
 * tracker.replaying;          // true: hold queued sends back
 * tracker.accept(41);         // true: new, deliver it
 * tracker.accept(41);         // false: a duplicate, drop it
 * tracker.accept(42);         // true
 * tracker.finishReplayAt(42); // true: the replay is in, sends may go
 * tracker.resumePoint;        // { seq: 42, epoch: "e1" }, for the next reconnect
 * ```
 */
export class ResumeTracker {
  #lastSeq: number | null;
  #epoch: string | null;
  /** While the hub replays what this client missed, the `seq` that ends the replay. */
  #replayUntil: number | null = null;
  /** A welcome announced a new epoch: the reset to report if the hub's own reset frame does not follow. */
  #pendingReset: ResetFrame | null = null;

  /**
   * @param resumeFrom where to resume from (e.g. a `lastSeq`/`epoch` saved before a page reload); without it, the first welcome's `seq`.
   * @throws {TypeError} when `resumeFrom` has no whole `seq` >= 0 or no non-empty `epoch`.
   */
  constructor(resumeFrom?: ResumePoint) {
    if (resumeFrom !== undefined && (!isSeq(resumeFrom.seq) || typeof resumeFrom.epoch !== "string" || resumeFrom.epoch.length === 0)) {
      throw new TypeError("userhub client: resumeFrom needs a seq (a whole number >= 0) and the epoch it came with");
    }
    this.#lastSeq = resumeFrom?.seq ?? null;
    this.#epoch = resumeFrom?.epoch ?? null;
  }

  /** The highest `seq` seen (or taken from the first welcome), or null before any. */
  get lastSeq(): number | null {
    return this.#lastSeq;
  }

  /** The epoch of the log `lastSeq` belongs to, or null before the first welcome. */
  get epoch(): string | null {
    return this.#epoch;
  }

  /** What a reconnect asks the hub to resume from, or null when there is nothing to resume yet. */
  get resumePoint(): ResumePoint | null {
    return this.#lastSeq !== null && this.#epoch !== null ? { seq: this.#lastSeq, epoch: this.#epoch } : null;
  }

  /** True while the hub is still replaying what this client missed. */
  get replaying(): boolean {
    return this.#replayUntil !== null;
  }

  /**
   * A connection's welcome: a fresh start takes its `seq` as the starting
   * point, a new epoch restarts tracking there and owes a reset, and the same
   * epoch with a higher `seq` means a replay up to that `seq` is coming.
   */
  welcomed(welcome: Pick<WelcomeFrame, "seq" | "epoch">): void {
    if (this.#lastSeq === null || this.#epoch === null) {
      // A fresh start: what came before this welcome is the application's to fetch; deliveries from here on are ours.
      this.#lastSeq = welcome.seq;
      this.#epoch = welcome.epoch;
      this.#replayUntil = null;
    } else if (welcome.epoch !== this.#epoch) {
      // The log this client followed is gone. Tracking restarts now, so no new delivery is mistaken for a duplicate.
      // The hub follows such a welcome with its own reset frame, which is what "reset" carries; this one
      // (oldest = latest + 1: nothing before the welcome will come) stands in only if it does not.
      this.#lastSeq = welcome.seq;
      this.#epoch = welcome.epoch;
      this.#replayUntil = null;
      this.#pendingReset = { type: "reset", epoch: welcome.epoch, oldest: welcome.seq + 1, latest: welcome.seq };
    } else {
      this.#replayUntil = welcome.seq > this.#lastSeq ? welcome.seq : null;
    }
  }

  /** Records a delivery's `seq`. False when it was seen before: at-least-once over a reconnect, so the caller drops it. */
  accept(seq: number): boolean {
    if (this.#lastSeq !== null && seq <= this.#lastSeq) return false;
    this.#lastSeq = seq;
    return true;
  }

  /**
   * Ends the replay if `seq` reaches its end. True only when this call ended
   * it; a separate step from {@link accept} so that the delivery is reported
   * before the sends it held back go out.
   */
  finishReplayAt(seq: number): boolean {
    if (this.#replayUntil === null || seq < this.#replayUntil) return false;
    this.#replayUntil = null;
    return true;
  }

  /** The hub's reset frame: tracking moves to its epoch and `latest`, any replay and any pending reset are superseded. */
  reset(reset: Pick<ResetFrame, "epoch" | "latest">): void {
    this.#pendingReset = null;
    this.#epoch = reset.epoch;
    this.#lastSeq = reset.latest;
    // A reset replaces the replay: nothing more is coming before live deliveries.
    this.#replayUntil = null;
  }

  /** The reset a new-epoch welcome left owed, now due because another frame or the close came instead of the hub's; null when none is. */
  takePendingReset(): ResetFrame | null {
    const reset = this.#pendingReset;
    this.#pendingReset = null;
    return reset;
  }

  /** Forgets an owed reset without reporting it: nobody is listening any more. */
  discardPendingReset(): void {
    this.#pendingReset = null;
  }

  /** The connection is gone, and with it the rest of its replay. An owed reset stays, still to be reported. */
  connectionLost(): void {
    this.#replayUntil = null;
  }
}
