import { CloseCode, CloseReason } from "../protocol/close-code.ts";
import type { HubConfig } from "./config.ts";
import type { Liveness } from "./heartbeat.ts";
import type { ConnectionAttachment, HubHost } from "./hub-host.ts";
import type { HubSockets } from "./hub-sockets.ts";
import type { WritableSocket } from "./sender.ts";
import { ZombieSweep } from "./zombie-sweep.ts";

/**
 * A hub's stale sockets, closed where the {@link ZombieSweep} plan says:
 * on every wake (so nothing anyone can observe counts a zombie) and at the
 * one alarm, which this re-arms only when the one set no longer serves.
 */
export class StaleSockets<S extends WritableSocket> {
  readonly #host: HubHost<S>;
  readonly #sockets: HubSockets<S>;
  readonly #plan: ZombieSweep;
  readonly #closed: (socket: S, attachment: ConnectionAttachment, code: CloseCode, reason: string) => Promise<void>;

  /** `closed` is the hub's cleanup of a socket this closed (already marked closing, its close frame sent): `onClose` and the rest. */
  constructor(
    host: HubHost<S>,
    sockets: HubSockets<S>,
    config: Pick<HubConfig, "heartbeat" | "heartbeatSweepMs">,
    closed: (socket: S, attachment: ConnectionAttachment, code: CloseCode, reason: string) => Promise<void>,
  ) {
    this.#host = host;
    this.#sockets = sockets;
    this.#plan = new ZombieSweep(config.heartbeat, config.heartbeatSweepMs);
    this.#closed = closed;
  }

  /** Whether any socket may be stale at `now`: when not, a wake need not scan (the hot path's one check). */
  mayBeStale(now: number): boolean {
    return this.#plan.mayBeStale(now);
  }

  /**
   * Closes every socket that is stale at `now` (heartbeat timeout: 4000;
   * token expired: 4001), unless none can be yet. All of them are marked
   * closing before any `onClose` runs, so none counts another.
   */
  async sweep(now: number = this.#host.now()): Promise<void> {
    if (!this.#plan.mayBeStale(now)) return;
    const stale: [S, ConnectionAttachment, CloseCode][] = [];
    const live: Liveness[] = [];
    for (const socket of this.#sockets.live()) {
      const attachment = this.#sockets.attachment(socket)!;
      const liveness = this.#sockets.liveness(socket, attachment);
      const reason = this.#plan.staleReason(liveness, now);
      if (reason === null) live.push(liveness);
      else stale.push([socket, attachment, reason === "token-expired" ? CloseCode.TokenExpired : CloseCode.HeartbeatTimeout]);
    }
    this.#plan.scanned(this.#plan.earliestStale(live));
    for (const [socket, attachment, code] of stale) {
      this.#sockets.markClosing(socket, attachment);
      this.#sockets.sender(socket).abort(code, CloseReason[code] ?? "");
    }
    for (const [socket, attachment, code] of stale) await this.#closed(socket, attachment, code, CloseReason[code] ?? "");
  }

  /** The alarm fired: it is no longer set; sweep, then plan the next. */
  async alarmFired(): Promise<void> {
    this.#plan.alarmIs(null);
    await this.sweep();
    await this.reschedule();
  }

  /** Sets, moves or clears the one alarm when the one set no longer serves (see ZombieSweep); most calls write nothing. */
  async reschedule(): Promise<void> {
    const earliest = this.#plan.earliestStale(this.#sockets.live().map((socket) => this.#sockets.liveness(socket, this.#sockets.attachment(socket)!)));
    if (earliest !== null) this.#plan.mayTurnStaleAt(earliest);
    if (this.#plan.alarmUnknown) this.#plan.alarmIs(await this.#host.scheduledWake());
    const at = this.#plan.plan(earliest, this.#host.now());
    if (at === undefined) return;
    this.#plan.alarmIs(at);
    await this.#host.scheduleWake(at);
  }
}
