/**
 * When to refresh a connection's token in band: early enough before its
 * credentials expire that the hub's answer is back before the hub's 4001.
 */
import { MAX_TIMER_DELAY_MS } from "../protocol/frames.ts";

/** The in-band refresh goes out after this share of the time left on the token… */
const REFRESH_AT_SHARE = 0.8;
/** …and at least this long before it expires, so the answer can come back before the hub's 4001. */
const REFRESH_MIN_LEAD_MS = 1_000;

type Timer = ReturnType<typeof setTimeout>;

/**
 * How long to wait, in ms, before refreshing credentials that expire in
 * `remainingMs`: 80% of that, but at least 1 s before expiry, and never
 * below 0 (a token about to expire, or expired, is refreshed at once).
 *
 * @example
 * ```ts
 * refreshDelay(100_000); // 80 000
 * refreshDelay(3_000);   // 2 000: 80% (2 400) would leave less than 1 s
 * refreshDelay(500);     // 0
 * ```
 */
export function refreshDelay(remainingMs: number): number {
  return Math.max(0, Math.min(remainingMs * REFRESH_AT_SHARE, remainingMs - REFRESH_MIN_LEAD_MS));
}

/**
 * The one timer that says when a connection's token is due for an in-band
 * refresh. `start` with the welcome's `expiresAt`, `refreshed` with each
 * accepted refresh's, `stop` when the connection ends. A refresh that brings
 * back the same (or an earlier) expiry schedules nothing more: the provider
 * evidently has no fresher token, and asking it again and again as expiry
 * nears would change nothing. The hub then closes with 4001 and the
 * reconnect asks for a fresh one.
 *
 * @example
 * ```ts
 * const timer = new TokenRefreshTimer(() => socket.send(JSON.stringify({ type: "auth", token: getToken() })));
 * timer.start(Date.now() + 100_000);    // due in 80 s
 * // … the hub accepts the refresh:
 * timer.refreshed(Date.now() + 50_000); // due again in 40 s
 * timer.stop();                         // the connection ended
 * ```
 */
export class TokenRefreshTimer {
  readonly #due: () => void;
  /** The current credentials' expiry (epoch ms), or null when they have none or no connection is being refreshed. */
  #expiresAt: number | null = null;
  #timer: Timer | undefined;

  /** @param due called when a refresh should go out. */
  constructor(due: () => void) {
    this.#due = due;
  }

  /** A connection opened whose credentials expire at `expiresAt` (epoch ms), or never (null): schedule its refresh. */
  start(expiresAt: number | null): void {
    this.#expiresAt = expiresAt;
    this.#schedule();
  }

  /** The hub accepted a refresh; the credentials now expire at `expiresAt`. Schedules the next refresh only if that moved later (or to never). */
  refreshed(expiresAt: number | null): void {
    const previous = this.#expiresAt;
    this.#expiresAt = expiresAt;
    // A provider that handed back the same (cached) token would otherwise be asked again and again as expiry nears.
    if (expiresAt === null || previous === null || expiresAt > previous) this.#schedule();
    else this.#clear();
  }

  /** The connection ended: no refresh is due any more. */
  stop(): void {
    this.#clear();
    this.#expiresAt = null;
  }

  #schedule(): void {
    this.#clear();
    const expiresAt = this.#expiresAt;
    if (expiresAt === null) return;
    const delay = refreshDelay(expiresAt - Date.now());
    // setTimeout fires at once past its range: a longer wait is taken in steps, not with setLongTimeout, because
    // each step re-reckons 80% of what is left by the clock (expiresAt is wall-clock time).
    if (delay > MAX_TIMER_DELAY_MS) {
      this.#timer = setTimeout(() => this.#schedule(), MAX_TIMER_DELAY_MS);
      return;
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#due();
    }, delay);
  }

  #clear(): void {
    // Guarded: the Workers typing of clearTimeout does not accept undefined.
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
