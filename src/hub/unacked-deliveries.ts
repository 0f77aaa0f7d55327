/**
 * The deliveries a hub sent to one socket that its client has not yet
 * acknowledged, and their bytes. It bounds a slow reader where the runtime
 * cannot: workerd's `bufferedAmount` does not count the bytes it holds for a
 * client that stopped reading, so only the client's own acknowledgments say
 * how far behind it is. Only sockets whose client said it acknowledges
 * (`?ack=1` in the connect URL) are tracked.
 *
 * In memory, per live instance; the socket's attachment keeps its last
 * acknowledged seq, and a hub woken from hibernation rebuilds the count from
 * the deliveries its log holds after that seq (once per socket and instance),
 * so the bound holds across hibernation without a storage write per delivery.
 *
 * @example
 * ```ts
 * const unacked = new UnackedDeliveries();
 * unacked.sent(41, 120);
 * unacked.sent(42, 80);
 * unacked.acknowledged(41);
 * unacked.bytes; // 80
 * ```
 */
export class UnackedDeliveries {
  /** Sequence numbers and sizes, oldest first. */
  readonly #seqs: number[] = [];
  readonly #sizes: number[] = [];
  #head = 0;
  #bytes = 0;
  #last = -1;

  /** Bytes sent and not yet acknowledged. */
  get bytes(): number {
    return this.#bytes;
  }

  /** A delivery of `bytes` (its frame's UTF-8 size) went to the socket. A seq at or before the last one counted is already counted (a rebuild from the log may have read it). */
  sent(seq: number, bytes: number): void {
    if (seq <= this.#last) return;
    this.#last = seq;
    this.#seqs.push(seq);
    this.#sizes.push(bytes);
    this.#bytes += bytes;
  }

  /** Bytes unacknowledged of the deliveries before `seq` (those at or after it are the latest counted). */
  bytesBefore(seq: number): number {
    let bytes = this.#bytes;
    for (let i = this.#seqs.length - 1; i >= this.#head && this.#seqs[i]! >= seq; i--) bytes -= this.#sizes[i]!;
    return bytes;
  }

  /** The client processed everything up to `seq`. */
  acknowledged(seq: number): void {
    while (this.#head < this.#seqs.length && this.#seqs[this.#head]! <= seq) {
      this.#bytes -= this.#sizes[this.#head]!;
      this.#head++;
    }
    if (this.#head > 64 && this.#head * 2 > this.#seqs.length) {
      this.#seqs.splice(0, this.#head);
      this.#sizes.splice(0, this.#head);
      this.#head = 0;
    }
  }
}
