/** What a push did. */
export interface PushResult {
  /** The sequence numbers assigned, in order (the earlier ones for a repeated idempotency key). */
  readonly seqs: readonly number[];
  /** Sockets of the user that received the whole push live (0 for a repeated key). */
  readonly delivered: number;
  /** The idempotency key had been used: nothing new was delivered. */
  readonly duplicate: boolean;
}

/** Options of a push. */
export interface PushOptions {
  /** Makes a retried push harmless: a key seen within the log's retention age is not delivered again. */
  readonly idempotencyKey?: string;
  /**
   * Whose keys `idempotencyKey` is among. `"fan-out"` is one user's part of
   * a push to many users (what `POST /messages` and its queue consumer give
   * each user's hub, with the request's key): such keys never meet those of
   * pushes to one user (`"push"`), nor either those of direct messages.
   * @default "push"
   */
  readonly keyScope?: "push" | "fan-out";
}
