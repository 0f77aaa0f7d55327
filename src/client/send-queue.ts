/**
 * The bounded queue that holds what the application sends while the client
 * is not connected, until the next connection can take it.
 */
import { QueueFullError } from "./errors.ts";

/** Options of a {@link SendQueue}. */
export interface SendQueueOptions {
  /** At most this many messages wait. Default 1000. */
  maxMessages?: number;
  /** At most this many UTF-8 bytes wait, all messages together. Default 1 MiB. */
  maxBytes?: number;
}

/** The defaults of {@link SendQueueOptions}. */
export const DEFAULT_SEND_QUEUE = { maxMessages: 1000, maxBytes: 1024 * 1024 } as const;

const encoder = new TextEncoder();

/**
 * A FIFO of text frames bounded by count and by UTF-8 bytes (what the frames
 * weigh on the wire, so "é" counts 2 and "😀" 4). A push that would pass
 * either bound throws {@link QueueFullError} and changes nothing: the caller
 * learns at once that this message was not taken, instead of an older one
 * vanishing later.
 *
 * @example
 * ```ts
 * const queue = new SendQueue({ maxMessages: 2 });
 * queue.push('{"type":"send","data":1}');
 * queue.push('{"type":"send","data":2}');
 * queue.push('{"type":"send","data":3}'); // throws QueueFullError
 * queue.drain((text) => socket.send(text)); // sends 1 then 2
 * ```
 */
export class SendQueue {
  readonly #maxMessages: number;
  readonly #maxBytes: number;
  /** Items from `#head` on are waiting; a moving head keeps `shift` O(1), and the array is compacted when drained. */
  #items: { text: string; bytes: number }[] = [];
  #head = 0;
  #bytes = 0;

  constructor(options: SendQueueOptions = {}) {
    this.#maxMessages = positiveInteger("maxMessages", options.maxMessages ?? DEFAULT_SEND_QUEUE.maxMessages);
    this.#maxBytes = positiveInteger("maxBytes", options.maxBytes ?? DEFAULT_SEND_QUEUE.maxBytes);
  }

  /** Messages waiting. */
  get size(): number {
    return this.#items.length - this.#head;
  }

  /** UTF-8 bytes waiting. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The bound on messages. */
  get maxMessages(): number {
    return this.#maxMessages;
  }

  /** The bound on bytes. */
  get maxBytes(): number {
    return this.#maxBytes;
  }

  /** Adds `text` at the end, or throws {@link QueueFullError} and leaves the queue as it was. */
  push(text: string): void {
    const bytes = encoder.encode(text).byteLength;
    const limits = { messageBytes: bytes, maxMessages: this.#maxMessages, maxBytes: this.#maxBytes };
    if (this.size >= this.#maxMessages) throw new QueueFullError("messages", limits);
    if (this.#bytes + bytes > this.#maxBytes) throw new QueueFullError("bytes", limits);
    this.#items.push({ text, bytes });
    this.#bytes += bytes;
  }

  /** The oldest message, still queued; undefined when empty. */
  peek(): string | undefined {
    return this.#items[this.#head]?.text;
  }

  /** Removes and returns the oldest message; undefined when empty. */
  shift(): string | undefined {
    const item = this.#items[this.#head];
    if (item === undefined) return undefined;
    this.#head++;
    this.#bytes -= item.bytes;
    if (this.#head === this.#items.length) this.clear();
    return item.text;
  }

  /**
   * Hands every message to `write`, oldest first, removing each once `write`
   * returned. If `write` throws, that message and the ones after it stay
   * queued (in order) and the error propagates.
   */
  drain(write: (text: string) => void): void {
    for (let text = this.peek(); text !== undefined; text = this.peek()) {
      write(text);
      this.shift();
    }
  }

  /** Drops everything. */
  clear(): void {
    this.#items = [];
    this.#head = 0;
    this.#bytes = 0;
  }
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`send queue ${name} must be a whole number >= 1, got ${value}`);
  return value;
}
