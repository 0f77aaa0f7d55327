import { CloseCode, CloseReason, fitCloseReason, replyCloseCode } from "../protocol/close-code.ts";
import { frameBytes } from "../protocol/frames.ts";

/** The part of a WebSocket the {@link Sender} writes to. workerd's, Deno's and the browser's all fit. */
export interface WritableSocket {
  send(data: string | ArrayBuffer): void;
  close(code?: number, reason?: string): void;
  readonly readyState: number;
  /** Bytes the runtime has queued but not sent, where the runtime exposes it. */
  readonly bufferedAmount?: number;
}

/** What became of one write. */
export type SendOutcome =
  /** Handed to the socket. */
  | "sent"
  /** Not written: the socket was closing or closed (or this sender had closed it). */
  | "closed"
  /** Not written: the queue's bound was passed; the socket was closed with `CloseCode.SlowConsumer`. */
  | "overflow"
  /** Not written: the producer rejected or the socket threw; the error went to `onError`. */
  | "failed";

/** Why a socket stopped taking writes, reported once through `onGone`. */
export type GoneReason = "closed" | "overflow" | "error";

/** Options for a {@link Sender}. */
export interface SenderOptions {
  /** Writes that may wait behind an awaiting producer before the consumer counts as slow. Default 256. */
  maxQueuedMessages?: number;
  /** Bytes that may wait (in this queue plus the runtime's `bufferedAmount`) before the consumer counts as slow. Default 1 MiB. */
  maxQueuedBytes?: number;
  /** Called once, the first time a write finds the socket gone, so cleanup runs once. */
  onGone?: (reason: GoneReason) => void;
  /** Called when a producer rejects or the socket throws. Default: nothing. */
  onError?: (error: unknown) => void;
  /**
   * A text frame written just before each close frame this side starts
   * (`close`, `abort`, an overflow; not the answer to the peer's close), for
   * clients that learn of a close late. Default: none.
   */
  closingNotice?: (code: number, reason: string) => string;
}

type Payload = string | ArrayBuffer;
/** What a producer yields: one frame, or several written back to back (a replay). */
type Frames = Payload | readonly Payload[];
type Producer = Frames | Promise<Frames> | (() => Frames | Promise<Frames>);

const OPEN = 1;

/** A settled promise per outcome: a write that happened at once answers `send` with one of these, not a new promise. */
const SETTLED: Readonly<Record<SendOutcome, Promise<SendOutcome>>> = {
  sent: Promise.resolve("sent"),
  closed: Promise.resolve("closed"),
  overflow: Promise.resolve("overflow"),
  failed: Promise.resolve("failed"),
};

/**
 * The one writer of a socket. Every write goes through it, so writes keep
 * their order even when a producer awaits (storage, encoding, RPC); a
 * closing or closed socket is reported once instead of throwing; after a
 * close frame, nothing more is written; and a consumer that falls too far
 * behind is closed with `CloseCode.SlowConsumer` instead of growing memory.
 *
 * @example
 * ```ts
 * import { Sender } from "userhub/host";
 * const sender = new Sender(socket, { onGone: () => cleanup() });
 * sender.send(async () => JSON.stringify(await loadHistory())); // written first
 * sender.send('{"type":"note"}');                                // written second
 * ```
 */
export class Sender {
  readonly #socket: WritableSocket;
  readonly #maxMessages: number;
  readonly #maxBytes: number;
  readonly #onGone: ((reason: GoneReason) => void) | undefined;
  readonly #onError: ((error: unknown) => void) | undefined;
  readonly #closingNotice: ((code: number, reason: string) => string) | undefined;
  #tail: Promise<unknown> = Promise.resolve();
  #queuedMessages = 0;
  #queuedBytes = 0;
  #closeSent = false;
  #closeRequested = false;
  #goneReported = false;
  /** What the runtime held when last read; unknown (so read on the first write) for a socket this sender did not open. */
  #bufferedAtLastRead = Number.POSITIVE_INFINITY;
  #writtenSinceRead = 0;

  constructor(socket: WritableSocket, options: SenderOptions = {}) {
    this.#socket = socket;
    this.#maxMessages = options.maxQueuedMessages ?? 256;
    this.#maxBytes = options.maxQueuedBytes ?? 1024 * 1024;
    this.#onGone = options.onGone;
    this.#onError = options.onError;
    this.#closingNotice = options.closingNotice;
  }

  /** Whether this sender has sent, or been asked to send, a close frame. */
  get closed(): boolean {
    return this.#closeSent || this.#closeRequested;
  }

  /** Writes waiting behind an awaiting producer. */
  get queued(): number {
    return this.#queuedMessages;
  }

  /**
   * Writes `message` after every earlier write. A function or promise is
   * awaited in turn, so what it produces still lands in order; one that
   * yields an array writes each frame in turn, before any later write.
   */
  send(message: Producer): Promise<SendOutcome> {
    const outcome = this.sendNow(message);
    return typeof outcome === "string" ? SETTLED[outcome] : outcome;
  }

  /**
   * {@link send}, answering the outcome itself when the write happened (or
   * was refused) at once, and a promise only when it waits its turn. A
   * fan-out to many sockets writes this way, with no promise per socket
   * (see {@link SentTally}).
   */
  sendNow(message: Producer): SendOutcome | Promise<SendOutcome> {
    // A promise is awaited only when its turn comes, or never if the socket is gone by then: mark it handled now.
    if (message instanceof Promise) message.catch(() => {});
    if (this.closed) return this.#gone("closed");
    // Nothing is waiting: write now, without a turn of the event loop.
    if (this.#queuedMessages === 0 && typeof message === "string") return this.#write(message);
    const bytes = typeof message === "string" ? frameBytes(message) : 0;
    if (this.#queuedMessages + 1 > this.#maxMessages || this.#queuedBytes + bytes + this.#buffered() > this.#maxBytes) {
      return this.#overflow();
    }
    this.#queuedMessages++;
    this.#queuedBytes += bytes;
    const outcome = this.#tail.then(async (): Promise<SendOutcome> => {
      let payload: Frames;
      try {
        payload = await (typeof message === "function" ? message() : message);
      } catch (error) {
        this.#onError?.(error);
        return "failed";
      } finally {
        this.#queuedMessages--;
        this.#queuedBytes -= bytes;
      }
      if (!Array.isArray(payload)) return this.#write(payload as Payload);
      let outcome: SendOutcome = "sent";
      for (const frame of payload as readonly Payload[]) {
        outcome = this.#write(frame);
        if (outcome !== "sent") break;
      }
      return outcome;
    });
    this.#tail = outcome;
    return outcome;
  }

  /**
   * Sends a close frame after every earlier write, then refuses later ones.
   * Returns false when a close was already sent or requested.
   */
  close(code: number = CloseCode.Normal, reason: string = CloseReason[code] ?? ""): boolean {
    if (this.closed) return false;
    this.#closeRequested = true;
    if (this.#queuedMessages === 0) this.#sendClose(code, reason);
    else this.#tail = this.#tail.then(() => this.#sendClose(code, reason));
    return true;
  }

  /** Sends a close frame now, dropping queued writes (they resolve `"closed"`). */
  abort(code: number, reason: string = CloseReason[code] ?? ""): boolean {
    if (this.#closeSent) return false;
    this.#closeRequested = true;
    this.#sendClose(code, reason);
    return true;
  }

  /**
   * Answers the peer's close frame, once: echoes its code and reason where a close frame may carry them (else
   * 1000) unless this side already sent a close frame.
   */
  answerClose(code: number, reason = ""): void {
    if (!this.#closeSent) {
      this.#closeRequested = true;
      // The peer's reason may be longer than a close frame carries (its own frame was then too long to be valid).
      this.#sendClose(replyCloseCode(code), fitCloseReason(reason), false);
    }
    this.#gone("closed");
  }

  #sendClose(code: number, reason: string, notice = true): void {
    if (this.#closeSent) return;
    this.#closeSent = true;
    try {
      if (notice && this.#closingNotice && this.#socket.readyState === OPEN) this.#socket.send(this.#closingNotice(code, reason));
      this.#socket.close(code, reason);
    } catch {
      // Already closed by the runtime (e.g. an automatic close reply): nothing left to say.
    }
  }

  #write(payload: Payload): SendOutcome {
    // A socket the peer or the runtime closed: browsers and Deno may drop a write to it without a word, so it is asked.
    if (this.#closeSent || this.#socket.readyState !== OPEN) return this.#gone("closed");
    // What the runtime holds can only have grown by what was written since it was last read: read it (a call
    // into the runtime) only when that much could pass the bound, so a consumer that keeps up costs no read a frame.
    if (this.#bufferedAtLastRead + this.#writtenSinceRead > this.#maxBytes) {
      this.#bufferedAtLastRead = this.#buffered();
      this.#writtenSinceRead = 0;
      if (this.#bufferedAtLastRead > this.#maxBytes) return this.#overflow();
    }
    try {
      this.#socket.send(payload);
    } catch (error) {
      this.#onError?.(error);
      this.#gone("error");
      return "failed";
    }
    // A UTF-16 code unit is at most 3 UTF-8 bytes: an upper bound, with no pass over the text.
    this.#writtenSinceRead += typeof payload === "string" ? payload.length * 3 : payload.byteLength;
    return "sent";
  }

  #overflow(): SendOutcome {
    this.abort(CloseCode.SlowConsumer);
    this.#gone("overflow");
    return "overflow";
  }

  #buffered(): number {
    const amount = this.#socket.bufferedAmount;
    return typeof amount === "number" && Number.isFinite(amount) ? amount : 0;
  }

  #gone(reason: GoneReason): SendOutcome {
    if (!this.#goneReported) {
      this.#goneReported = true;
      this.#onGone?.(reason);
    }
    return reason === "overflow" ? "overflow" : "closed";
  }
}

/**
 * How many of a fan-out's writes ({@link Sender.sendNow}'s answers) were
 * handed to their sockets, counted as they are made: {@link total} is a
 * number when every one was settled at once, otherwise a promise of it,
 * once the waiting ones are. One object per fan-out, and no list of
 * outcomes unless some wait.
 *
 * @example
 * ```ts
 * const tally = new SentTally();
 * for (const sender of senders) tally.add(sender.sendNow(text));
 * const delivered = tally.total(); // a number, or a promise of one
 * ```
 */
export class SentTally {
  #sent = 0;
  #waiting: Promise<SendOutcome>[] | undefined;

  add(outcome: SendOutcome | Promise<SendOutcome>): void {
    if (outcome === "sent") this.#sent++;
    else if (typeof outcome !== "string") (this.#waiting ??= []).push(outcome);
  }

  total(): number | Promise<number> {
    const waiting = this.#waiting;
    if (!waiting) return this.#sent;
    const settledAtOnce = this.#sent;
    return Promise.all(waiting).then((late) => late.reduce((sent, outcome) => (outcome === "sent" ? sent + 1 : sent), settledAtOnce));
  }
}
