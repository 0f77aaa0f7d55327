/**
 * Keeping a connection honest: pings at the interval the hub announced, and
 * a liveness deadline that every frame pushes back, so that a half-open
 * connection (one that silently stopped carrying anything) is noticed.
 */
import type { HeartbeatSettings } from "../protocol/frames.ts";
import { type LongTimer, setLongInterval, setLongTimeout } from "./long-timer.ts";

/** What a {@link HeartbeatMonitor} does when its timers fire. */
export interface HeartbeatActions {
  /** Send a ping now. */
  ping(): void;
  /** Nothing arrived for `timeoutMs`: the connection is to be given up. */
  timedOut(): void;
}

/**
 * One connection's heartbeat: from `start` (with the welcome's settings) it
 * calls `ping` every `intervalMs`, and `timedOut` once when `timeoutMs`
 * passes without an `alive()` (any frame at all, a pong or otherwise).
 * Settings that are missing, not finite or not above 0 turn that half off:
 * an interval of 0 would make a busy loop of pings, and a hub that
 * announces none gets none. Any finite length is honoured, also one past
 * `setTimeout`'s 2^31 − 1 ms (which would otherwise fire at once). `stop`
 * ends both halves.
 *
 * @example
 * ```ts
 * const heartbeat = new HeartbeatMonitor({ ping: () => socket.send("ping"), timedOut: () => socket.close(4000) });
 * heartbeat.start({ intervalMs: 30_000, timeoutMs: 75_000 }); // after the welcome
 * socket.onmessage = () => heartbeat.alive();
 * socket.onclose = () => heartbeat.stop();
 * ```
 */
export class HeartbeatMonitor {
  readonly #actions: HeartbeatActions;
  /** The liveness deadline's length while started; null when stopped or when the hub announced none. */
  #timeoutMs: number | null = null;
  #ping: LongTimer | undefined;
  #liveness: LongTimer | undefined;

  constructor(actions: HeartbeatActions) {
    this.#actions = actions;
  }

  /** The connection was welcomed with these settings (as the hub sent them, unchecked): start pinging and watching. */
  start(settings: Partial<HeartbeatSettings> | undefined): void {
    this.stop(); // A second start replaces the first rather than leaving its interval running.
    const intervalMs = settings?.intervalMs;
    if (isPositive(intervalMs)) this.#ping = setLongInterval(() => this.#actions.ping(), intervalMs);
    const timeoutMs = settings?.timeoutMs;
    this.#timeoutMs = isPositive(timeoutMs) ? timeoutMs : null;
    this.alive();
  }

  /** A frame arrived: the connection is alive, so the liveness deadline starts over. Before `start`, nothing. */
  alive(): void {
    const timeoutMs = this.#timeoutMs;
    if (timeoutMs === null) return;
    this.#clearLiveness();
    this.#liveness = setLongTimeout(() => {
      this.#liveness = undefined;
      this.#actions.timedOut();
    }, timeoutMs);
  }

  /** The connection ended: no more pings, no more deadline. */
  stop(): void {
    this.#ping?.clear();
    this.#ping = undefined;
    this.#clearLiveness();
    this.#timeoutMs = null;
  }

  #clearLiveness(): void {
    this.#liveness?.clear();
    this.#liveness = undefined;
  }
}

function isPositive(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value > 0;
}
