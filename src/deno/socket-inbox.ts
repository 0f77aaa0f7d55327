/**
 * One socket's frames, handled one at a time and in order, as workerd
 * delivers a Durable Object's socket events. Deno fires a `message` event
 * for every frame at once; without this, a flooding socket would start as
 * many handlers as it sends frames, and its work would pile up without
 * bound ahead of every other user's. The backlog is bounded: past `limit`
 * waiting frames, `push` refuses and the hub closes the socket.
 *
 * @example
 * ```ts
 * const inbox = new SocketInbox(256, (error) => console.error(error));
 * socket.addEventListener("message", (e) => {
 *   if (!inbox.push(() => hub.handleFrame(socket, e.data))) void hub.backlogFull(socket);
 * });
 * ```
 */
export class SocketInbox {
  readonly #limit: number;
  readonly #onError: (error: unknown) => void;
  #tail: Promise<void> = Promise.resolve();
  #waiting = 0;

  constructor(limit: number, onError: (error: unknown) => void) {
    this.#limit = limit;
    this.#onError = onError;
  }

  /** Frames queued or being handled. */
  get waiting(): number {
    return this.#waiting;
  }

  /** Runs `work` after every earlier one; false (and nothing queued) when `limit` are already waiting. */
  push(work: () => Promise<void>): boolean {
    if (this.#waiting >= this.#limit) return false;
    this.#waiting++;
    this.#tail = this.#tail
      .then(work)
      .catch(this.#onError)
      .finally(() => {
        this.#waiting--;
      });
    return true;
  }
}
