/**
 * Whether the device has a network, as the page's `online`/`offline` events
 * tell it. Only browsers fire them; elsewhere the device counts as online.
 */

/** Something that fires `online` and `offline`: a browser's `window` (the default), or a fake in tests. */
export interface NetworkEvents {
  addEventListener(type: "online" | "offline", listener: () => void): void;
  removeEventListener(type: "online" | "offline", listener: () => void): void;
}

/**
 * The default source: `globalThis` where it can dispatch events (browsers,
 * Deno), else null (Node, where there are no such events).
 */
export function globalNetworkEvents(): NetworkEvents | null {
  const global = globalThis as { addEventListener?: unknown; removeEventListener?: unknown };
  return typeof global.addEventListener === "function" && typeof global.removeEventListener === "function"
    ? (globalThis as unknown as NetworkEvents)
    : null;
}

/**
 * Watches `online`/`offline` and reports changes. It starts offline only
 * when `navigator.onLine` is `false` *and* there is a source of events to
 * say when the network is back; without one, waiting for `online` would be
 * waiting forever. `navigator.onLine === true` only means "some network
 * interface is up", so the watcher never claims more than that: the client
 * still relies on its heartbeat to find a dead connection.
 *
 * @example
 * ```ts
 * const status = new NetworkStatus(globalNetworkEvents(), (online) => console.log(online ? "back" : "gone"));
 * status.online; // false while the browser is offline
 * status.stop();  // removes the listeners
 * ```
 */
export class NetworkStatus {
  readonly #events: NetworkEvents | null;
  readonly #onOnline: () => void;
  readonly #onOffline: () => void;
  #online: boolean;

  constructor(events: NetworkEvents | null, onChange: (online: boolean) => void) {
    this.#events = events;
    const navigatorOnline = (globalThis as { navigator?: { onLine?: unknown } }).navigator?.onLine;
    this.#online = !(events !== null && events === globalThis && navigatorOnline === false);
    this.#onOnline = () => {
      this.#online = true;
      onChange(true);
    };
    this.#onOffline = () => {
      this.#online = false;
      onChange(false);
    };
    events?.addEventListener("online", this.#onOnline);
    events?.addEventListener("offline", this.#onOffline);
  }

  /** False between an `offline` event (or an offline start) and the next `online`. */
  get online(): boolean {
    return this.#online;
  }

  /** Stops listening. */
  stop(): void {
    this.#events?.removeEventListener("online", this.#onOnline);
    this.#events?.removeEventListener("offline", this.#onOffline);
  }
}
