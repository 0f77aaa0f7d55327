import { TokenBucket } from "./token-bucket.ts";

/** A socket's frame rates, from the hub's configuration. */
export interface SocketRateSettings {
  /** Frames per second a socket may send, sustained. */
  readonly framesPerSecond: number;
  /** Frames a socket may send at once after being quiet. */
  readonly frameBurst: number;
  /** Bytes per second a socket may send, sustained. */
  readonly bytesPerSecond: number;
  /** Bytes a socket may send at once after being quiet (at least one largest frame). */
  readonly byteBurst: number;
  /** A socket whose frames keep being refused this long is closed with 1008. */
  readonly closeAfterMs: number;
  /** After a socket was closed for its rate, its user's new connections are refused (429) this long. */
  readonly penaltyMs: number;
}

/** Which of a socket's limits refused a frame. */
export type RateLimitName = "frames" | "bytes";

/** Whose budget refused a frame: the socket's own, or the one all of its user's sockets share. */
export type RateLimitScope = "socket" | "user";

/**
 * The frame and byte budgets all of one user's sockets share: twice one
 * socket's rates, one socket's bursts. Each frame is taken from its socket's
 * budgets and from these, so a user's many sockets together cannot make the
 * hub do more than about two sockets' worth of work (every frame a user sends
 * may be fanned out to all of its sockets, and a hub shares its runtime's
 * thread with other users' hubs).
 */
export class UserFrameBudget {
  readonly frames: TokenBucket;
  readonly bytes: TokenBucket;

  constructor(settings: SocketRateSettings, now: number) {
    this.frames = new TokenBucket(USER_RATE_FACTOR * settings.framesPerSecond, settings.frameBurst, now);
    this.bytes = new TokenBucket(USER_RATE_FACTOR * settings.bytesPerSecond, settings.byteBurst, now);
  }
}

/** A user's sockets together may send this many times one socket's rates (see {@link UserFrameBudget}). */
export const USER_RATE_FACTOR = 2;

/** What to do with one frame. */
export type RateVerdict =
  | { readonly kind: "pass" }
  /** Drop the frame; `notify` says whether to send a `rate_limited` error frame for it (at most one per notice interval). */
  | { readonly kind: "refuse"; readonly limit: RateLimitName; readonly scope: RateLimitScope; readonly retryAfterMs: number; readonly notify: boolean }
  /** The socket stayed over a limit for `closeAfterMs`, or had more frames refused in a row than its burst: close it with 1008. */
  | { readonly kind: "close"; readonly limit: RateLimitName; readonly scope: RateLimitScope };

/** The verdict of almost every frame: one object, not one per frame. */
const PASS: RateVerdict = Object.freeze({ kind: "pass" });

/** A refusal streak ends after this long with no frame refused: a burst that stopped is forgiven. */
export const STREAK_GAP_MS = 1000;
/**
 * At most one `rate_limited` error frame per socket in this long (or in the
 * retry window it announced, when that is longer): answering every dropped
 * frame of a flood would make the hub write as fast as the flood arrives.
 */
export const NOTICE_INTERVAL_MS = 1000;

/**
 * The frame and byte budgets of one socket: two token buckets, and the
 * streak of refusals that ends in a close. In memory only; a hub that wakes
 * from hibernation starts each socket with full buckets.
 *
 * @example
 * ```ts
 * const limit = new SocketRateLimit(settings, Date.now());
 * const verdict = limit.check(frameBytes(text), Date.now());
 * if (verdict.kind !== "pass") // drop the frame (and maybe tell the client, or close)
 * ```
 */
export class SocketRateLimit {
  readonly #settings: SocketRateSettings;
  readonly #frames: TokenBucket;
  readonly #bytes: TokenBucket;
  /** When the current streak of refusals began, or null outside one. */
  #streakSince: number | null = null;
  #lastRefusedAt = 0;
  /** Frames refused in the current streak. */
  #refused = 0;
  /** Until when error frames stay quiet. */
  #quietUntil = 0;

  readonly #user: UserFrameBudget | undefined;

  /** `user`: the budgets this socket's user's sockets share, taken from too (none: the socket's alone). */
  constructor(settings: SocketRateSettings, now: number, user?: UserFrameBudget) {
    this.#settings = settings;
    this.#frames = new TokenBucket(settings.framesPerSecond, settings.frameBurst, now);
    this.#bytes = new TokenBucket(settings.bytesPerSecond, settings.byteBurst, now);
    this.#user = user;
  }

  /** Counts one frame of `bytes` and says what to do with it. */
  check(bytes: number, now: number): RateVerdict {
    if (this.#streakSince !== null && now - this.#lastRefusedAt > STREAK_GAP_MS) {
      this.#streakSince = null;
      this.#refused = 0;
    }
    let limit: RateLimitName | null = null;
    let scope: RateLimitScope = "socket";
    // The frame token stays spent when the bytes refuse it: a refused frame still cost the hub a wake.
    let wait = this.#frames.take(1, now);
    if (wait > 0) limit = "frames";
    else if ((wait = this.#bytes.take(bytes, now)) > 0) limit = "bytes";
    else if (this.#user !== undefined) {
      scope = "user";
      if ((wait = this.#user.frames.take(1, now)) > 0) limit = "frames";
      else if ((wait = this.#user.bytes.take(bytes, now)) > 0) limit = "bytes";
    }
    if (limit === null) return PASS;
    this.#lastRefusedAt = now;
    this.#streakSince ??= now;
    // A flood passes a whole burst's worth of refusals in milliseconds: every frame of it still costs the
    // runtime a dispatch, so it is closed then rather than after closeAfterMs.
    if (now - this.#streakSince >= this.#settings.closeAfterMs || ++this.#refused > this.#settings.frameBurst) return { kind: "close", limit, scope };
    const retryAfterMs = Number.isFinite(wait) ? wait : this.#settings.closeAfterMs;
    const notify = now >= this.#quietUntil;
    if (notify) this.#quietUntil = now + Math.max(NOTICE_INTERVAL_MS, retryAfterMs);
    return { kind: "refuse", limit, scope, retryAfterMs, notify };
  }
}
