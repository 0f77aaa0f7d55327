import {
  type ConnectionAttachment,
  type DeliveryLog,
  type HubHost,
  MAX_TIMER_DELAY_MS,
  MemoryRevocationWatermarks,
  type PeerHubs,
  type RevocationWatermark,
  type TicketStore,
  type WritableSocket,
} from "../host.ts";

/** Options of a {@link LocalHubHost}. */
export interface LocalHubHostOptions {
  /** This user's delivery log (in memory by default; any {@link DeliveryLog} plugs in). */
  readonly log: DeliveryLog;
  /** Where connect tickets wait to be redeemed. */
  readonly tickets: TicketStore;
  /** The user's revocation watermark. Default: one of this host's own, in memory (it goes with the host). */
  readonly revocation?: RevocationWatermark;
  /** Called when the scheduled wake-up is due: the host's twin of a Durable Object's `alarm()`. */
  readonly onWake: () => void;
  /** The clock, epoch milliseconds. Default `Date.now`. */
  readonly now?: () => number;
  /** Other users' hubs, for `hub.users.deliver` (the namespace). Default: none (such deliveries are refused). */
  readonly users?: PeerHubs;
}

const CONNECTING = 0;
const OPEN = 1;

/**
 * A {@link HubHost} in memory, for one user's hub in one process: the
 * user's sockets in a set, their attachments beside them, and one timer set
 * for the hub's single wake-up (the twin of a Durable Object's alarm). There
 * is no runtime heartbeat auto-response on Deno, so every `ping` reaches the
 * hub, which answers it and counts it as a sign of life.
 *
 * A socket counts from the upgrade on, while it is still connecting: on
 * Cloudflare the hub accepts a socket before the client sees the 101, so a
 * connecting socket is the user's socket there too (it counts against the
 * connection limit and its heartbeat deadline runs).
 *
 * @example
 * ```ts
 * const host = new LocalHubHost({ log: new MemoryDeliveryLog(), tickets: new MemoryTicketStore(), onWake: () => void hub.wake() });
 * const hub = new Hub(host, app, readHubConfig({}));
 * await hub.accept(handoff, () => (host.accept(socket), socket), { whenOpen: (greet) => socket.addEventListener("open", greet) });
 * ```
 */
export class LocalHubHost<S extends WritableSocket = WebSocket> implements HubHost<S> {
  readonly log: DeliveryLog;
  readonly tickets: TicketStore;
  readonly revocation: RevocationWatermark;
  readonly users?: PeerHubs;
  readonly #sockets = new Set<S>();
  readonly #attachments = new WeakMap<S, ConnectionAttachment>();
  readonly #onWake: () => void;
  readonly #now: () => number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #wakeAt: number | null = null;
  #disposed = false;

  constructor(options: LocalHubHostOptions) {
    this.log = options.log;
    this.tickets = options.tickets;
    this.revocation = options.revocation ?? new MemoryRevocationWatermarks().forUser("");
    this.#onWake = options.onWake;
    this.#now = options.now ?? Date.now;
    if (options.users) this.users = options.users;
  }

  now(): number {
    return this.#now();
  }

  /** Takes `socket` as this user's; the hub then writes its attachment (see `Hub.accept`). */
  accept(socket: S, attachment?: ConnectionAttachment): void {
    if (this.#disposed) throw new Error("LocalHubHost: accept after dispose");
    this.#sockets.add(socket);
    if (attachment) this.#attachments.set(socket, attachment);
  }

  /** Lets go of `socket` (its close or error event arrived). */
  forget(socket: S): void {
    this.#sockets.delete(socket);
  }

  /** Sockets held, whatever their state: the hub may go only when this is 0. */
  get socketCount(): number {
    return this.#sockets.size;
  }

  openSockets(): S[] {
    return [...this.#sockets].filter((socket) => socket.readyState === OPEN || socket.readyState === CONNECTING);
  }

  readAttachment(socket: S): ConnectionAttachment | null {
    return this.#attachments.get(socket) ?? null;
  }

  writeAttachment(socket: S, attachment: ConnectionAttachment): void {
    this.#attachments.set(socket, attachment);
  }

  /** Always null: Deno has no runtime auto-response, so the hub sees every heartbeat itself. */
  lastAutoResponseAt(_socket: S): number | null {
    return null;
  }

  scheduleWake(at: number | null): void {
    if (this.#disposed) return;
    if (at === this.#wakeAt && (at === null || this.#timer !== undefined)) return;
    this.#clearTimer();
    this.#wakeAt = at;
    if (at === null) return;
    // A later wake-up fires early, finds nothing due, and reschedules.
    const delay = Math.min(Math.max(0, at - this.#now()), MAX_TIMER_DELAY_MS);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#wakeAt = null;
      this.#onWake();
    }, delay);
  }

  scheduledWake(): number | null {
    return this.#wakeAt;
  }

  /** When the hub's wake-up is due (epoch ms), or null when none is set. */
  get wakeAt(): number | null {
    return this.#wakeAt;
  }

  /** Whether a wake-up timer is pending: at most one, and none for an idle hub. */
  get hasTimer(): boolean {
    return this.#timer !== undefined;
  }

  /** Clears the timer and refuses any later wake-up: the hub is gone. */
  dispose(): void {
    this.#disposed = true;
    this.#clearTimer();
    this.#wakeAt = null;
    this.#sockets.clear();
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
