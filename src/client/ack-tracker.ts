/**
 * When the client acknowledges deliveries. A hub that bounds a client's
 * unacknowledged bytes (its welcome carries `maxUnackedBytes`) closes it
 * with 4002 past the bound; a client that keeps up acknowledges, in one
 * `{"type":"ack","seq":N}` frame, once per eighth of that bound received.
 * Nothing else is acknowledged, and never on a timer, so a quiet connection
 * costs no extra frame (and no wake of a hibernating hub), and the text
 * `ping` stays exactly `ping` for the runtime's auto-response.
 *
 * Counted in UTF-16 code units of the received frames (at most 3 UTF-8
 * bytes each), so the client acknowledges before the hub's byte count
 * reaches 3/8 of its bound.
 *
 * @example
 * ```ts
 * const acks = new AckTracker();
 * acks.welcomed(welcome.maxUnackedBytes); // e.g. 524288; absent: the hub does not track, never acknowledge
 * const seq = acks.delivered(frame.seq, text.length);
 * if (seq !== null) socket.send(JSON.stringify({ type: "ack", seq }));
 * ```
 */
export class AckTracker {
  /** Code units received unacknowledged that trigger an acknowledgment; null when the hub does not track. */
  #threshold: number | null = null;
  #pending = 0;

  /** A connection's welcome: the hub's bound (or its absence) for this connection. */
  welcomed(maxUnackedBytes: unknown): void {
    this.#pending = 0;
    this.#threshold =
      typeof maxUnackedBytes === "number" && Number.isFinite(maxUnackedBytes) && maxUnackedBytes > 0 ? Math.max(1, Math.floor(maxUnackedBytes / 8)) : null;
  }

  /** A delivery of `length` code units was processed: the seq to acknowledge now, or null. */
  delivered(seq: number, length: number): number | null {
    if (this.#threshold === null) return null;
    this.#pending += length;
    if (this.#pending < this.#threshold) return null;
    this.#pending = 0;
    return seq;
  }
}
