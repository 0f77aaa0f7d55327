import { CloseCode, UNACKED_BYTES_REASON } from "../protocol/close-code.ts";
import { messageFrameText, messageText, type SerializedDelivery, serializeDelivery } from "../protocol/delivery-frame.ts";
import { errorFrame, ErrorCode, frameBytes, type ResetFrame } from "../protocol/frames.ts";
import type { HubConfig } from "./config.ts";
import type { AppendResult, Delivery, NewDelivery } from "./delivery-log.ts";
import type { ResumeRequest } from "./hub-handoff.ts";
import type { ConnectionAttachment, HubHost } from "./hub-host.ts";
import type { HubSockets } from "./hub-sockets.ts";
import { SentTally, type SendOutcome, type WritableSocket } from "./sender.ts";
import { UnackedDeliveries } from "./unacked-deliveries.ts";

/**
 * How often a hub writes its log's latest seq into a socket's attachment (see
 * `ConnectionAttachment.logSeq`): on an instance's first delivery, then every
 * this many. An attachment write costs the hot path a copy of the attachment;
 * a stale seq costs a woken hub one check before it reads where the log stands.
 */
export const LOG_SEQ_EVERY = 16;

/** What {@link DeliveryFanOut.deliver} did: the log's answer, and how many sockets were sent the frames. */
export type FannedOut = AppendResult & { readonly delivered: number };

/** What {@link DeliveryFanOut.deliverOne} did: its one delivery, and how many sockets were sent it (what `hub.deliver` answers). */
export interface OneDelivered {
  readonly delivery: Delivery;
  readonly delivered: number;
}

function fannedOut(appended: AppendResult, delivered: number): FannedOut {
  return { seqs: appended.seqs, deliveries: appended.deliveries, duplicate: appended.duplicate, delivered };
}

function oneDelivered(appended: AppendResult, delivered: number): OneDelivered {
  return { delivery: appended.deliveries[0]!, delivered };
}

/** A delivery with its payload's JSON: as given when the caller made it, else made here. */
function serialized1(entry: NewDelivery): SerializedDelivery {
  return entry.json === undefined ? serializeDelivery(entry) : (entry as SerializedDelivery);
}

/**
 * The way every delivery goes: through the user's log (appends settle in
 * call order, so seqs reach the sockets in the order they were taken), then
 * out to every live socket as one frame text, with each acknowledging
 * socket's unacknowledged bytes bounded; and back out of the log to a
 * socket that resumes.
 */
export class DeliveryFanOut<S extends WritableSocket> {
  readonly #host: HubHost<S>;
  readonly #sockets: HubSockets<S>;
  readonly #maxUnackedBytes: number;
  readonly #endSlowConsumer: (socket: S, attachment: ConnectionAttachment) => Promise<void>;
  /** Per acknowledging socket, its unacknowledged deliveries; a promise while this instance rebuilds them from the log. */
  readonly #unacked = new WeakMap<S, Promise<UnackedDeliveries>>();
  /** The last append handed to the log: the next one starts after it, so appends settle in call order on every log (the one place that rule lives). */
  #appendTail: Promise<unknown> = Promise.resolve();
  /** Appends handed to the log and not settled yet. */
  #appending = 0;
  /** Whether this instance offered the log the latest seq its sockets remember (once: after that the log knows). */
  #hinted = false;
  /** Deliveries this instance sent since it last wrote the log's latest seq into an attachment. */
  #sinceRemembered = 0;
  /** Sockets being greeted, each with the seq its welcome carries (see {@link greeting}). */
  readonly #greeting = new Map<S, Promise<number>>();

  /** `endSlowConsumer` closes a socket past `maxUnackedBytes` (4002). */
  constructor(
    host: HubHost<S>,
    sockets: HubSockets<S>,
    config: Pick<HubConfig, "maxUnackedBytes">,
    endSlowConsumer: (socket: S, attachment: ConnectionAttachment, code: CloseCode, reason: string) => Promise<void>,
  ) {
    this.#host = host;
    this.#sockets = sockets;
    this.#maxUnackedBytes = config.maxUnackedBytes;
    this.#endSlowConsumer = (socket, attachment) => endSlowConsumer(socket, attachment, CloseCode.SlowConsumer, UNACKED_BYTES_REASON);
  }

  /**
   * Serializes each payload once, unless its caller already did (a payload
   * with no JSON form is refused here, before it can take a seq), logs the batch, then sends the same
   * frame text to every live socket. An acknowledging socket that would pass
   * `maxUnackedBytes` is closed with 4002 instead; it resumes from its last seq.
   *
   * @throws {UnserializablePayloadError} for a payload with no JSON form.
   */
  deliver(entries: readonly NewDelivery[], idempotencyKey?: string): Promise<FannedOut> {
    return this.#logAndSend(entries, idempotencyKey, fannedOut);
  }

  /**
   * {@link deliver} for one delivery with no idempotency key (`hub.deliver`), answered with that delivery.
   * `at` is its time when the caller has just read the clock (a frame's handler); the clock is read otherwise.
   */
  deliverOne(entry: NewDelivery, at?: number): Promise<OneDelivered> {
    return this.#logAndSend([entry], undefined, oneDelivered, at);
  }

  #logAndSend<T>(entries: readonly NewDelivery[], idempotencyKey: string | undefined, answer: (appended: AppendResult, delivered: number) => T, at?: number): Promise<T> {
    // Not an async function: with a log that writes at once (SQLite), the write, the sends and the prune
    // all happen in this call, and the one promise made is the answer.
    let serialized: SerializedDelivery[];
    let now: number;
    let appended: AppendResult | Promise<AppendResult>;
    try {
      serialized = entries.length === 1 ? [serialized1(entries[0]!)] : entries.map(serialized1);
      if (!this.#hinted) this.#offerHint();
      now = at ?? this.#host.now();
      appended = this.#append(serialized, now, idempotencyKey);
      if (!(appended instanceof Promise)) return this.#sendAndPrune(appended, serialized, now, answer);
    } catch (error) {
      return Promise.reject(error);
    }
    return appended.then((result) => this.#sendAndPrune(result, serialized, now, answer));
  }

  /** Sends what was appended to every live socket, then prunes the log. */
  #sendAndPrune<T>(appended: AppendResult, serialized: readonly SerializedDelivery[], now: number, answer: (appended: AppendResult, delivered: number) => T): Promise<T> {
    if (appended.duplicate || appended.deliveries.length === 0) return Promise.resolve(answer(appended, 0));
    const sent = this.#send(appended.deliveries, serialized);
    if (typeof sent === "number") {
      const pruned = this.#host.log.prune(now);
      if (!(pruned instanceof Promise)) return Promise.resolve(answer(appended, sent));
      return pruned.then(() => answer(appended, sent));
    }
    // The log is pruned after every write is handed over, so a count being rebuilt from it reads it unpruned.
    return sent.then(async (delivered) => {
      await this.#host.log.prune(now);
      return answer(appended, delivered);
    });
  }

  /** Sends `deliveries` to every live socket: how many were sent them, or a promise of it while some writes wait their turn. */
  #send(deliveries: readonly Delivery[], serialized: readonly SerializedDelivery[]): number | Promise<number> {
    const frames = deliveries.length === 1 ? messageFrameText(deliveries[0]!, serialized[0]!.json) : deliveries.map((delivery, i) => messageFrameText(delivery, serialized[i]!.json));
    // Each socket's frames are written now unless earlier writes wait on them, or it acknowledges (its count
    // may first be rebuilt from the log); only those are waited for.
    const live = this.#sockets.live();
    // The first delivery of an instance, and every LOG_SEQ_EVERY-th after it: a hub woken for one message (a mostly
    // idle user's) always finds its latest seq remembered; one that hibernates after a burst reads where its log stands once.
    if (live.length > 0 && this.#host.log.hint && this.#sinceRemembered++ % LOG_SEQ_EVERY === 0) this.#remember(live[0]!, deliveries[deliveries.length - 1]!.seq);
    const tally = new SentTally();
    // Each frame's size, counted once for every acknowledging socket (and not at all when none acknowledges).
    let sizes: readonly number[] | undefined;
    const greeting = this.#greeting.size > 0;
    for (const socket of live) {
      const attachment = this.#sockets.attachment(socket)!;
      const welcomeSeq = greeting ? this.#greeting.get(socket) : undefined;
      if (welcomeSeq) {
        tally.add(this.#sendAfterWelcome(socket, attachment, welcomeSeq, deliveries, frames));
        continue;
      }
      if (!attachment.acks) {
        tally.add(this.#sockets.sender(socket).sendNow(frames));
        continue;
      }
      sizes ??= typeof frames === "string" ? [frameBytes(frames)] : frames.map(frameBytes);
      tally.add(this.#sendCounted(socket, attachment, deliveries, frames, sizes));
    }
    return tally.total();
  }

  /** Sends a socket that is being greeted the deliveries after the seq its welcome carries, in their turn on its sender. */
  #sendAfterWelcome(socket: S, attachment: ConnectionAttachment, welcomeSeq: Promise<number>, deliveries: readonly Delivery[], frames: string | readonly string[]): Promise<SendOutcome> {
    const all = typeof frames === "string" ? [frames] : frames;
    const after = (seq: number) => deliveries.flatMap((delivery, i) => (delivery.seq > seq ? [{ delivery, frame: all[i]! }] : []));
    if (!attachment.acks) return this.#sockets.sender(socket).send(async () => after(await welcomeSeq).map((d) => d.frame));
    return welcomeSeq.then((seq) => {
      const newer = after(seq);
      if (newer.length === 0) return "sent";
      const newerFrames = newer.map((d) => d.frame);
      return this.#sendCounted(socket, attachment, newer.map((d) => d.delivery), newerFrames, newerFrames.map(frameBytes));
    });
  }

  /**
   * Sends to an acknowledging socket, unless its unacknowledged bytes would
   * pass `maxUnackedBytes` (then it is closed with 4002). A socket with
   * nothing unacknowledged takes any one delivery, however large.
   */
  async #sendCounted(socket: S, attachment: ConnectionAttachment, deliveries: readonly Delivery[], frames: string | readonly string[], sizes: readonly number[]): Promise<SendOutcome> {
    const unacked = await this.#unackedOf(socket, attachment);
    deliveries.forEach((delivery, i) => unacked.sent(delivery.seq, sizes[i]!));
    // A client that acknowledged everything before these is sent them whatever their size (a push may be larger than
    // the bound). Asked of the count, not read before adding: a count rebuilt from the log already holds them.
    if (unacked.bytes > this.#maxUnackedBytes && unacked.bytesBefore(deliveries[0]!.seq) > 0) {
      await this.#endSlowConsumer(socket, attachment);
      return "overflow";
    }
    return await this.#sockets.sender(socket).send(frames);
  }

  /**
   * Offers the log the latest seq any live socket remembers (the highest: a
   * socket that closed may have held a later one, and the log finds out).
   */
  #offerHint(): void {
    this.#hinted = true;
    const log = this.#host.log;
    if (!log.hint) return;
    let latest = 0;
    for (const socket of this.#sockets.live()) latest = Math.max(latest, this.#sockets.attachment(socket)?.logSeq ?? 0);
    if (latest > 0) log.hint(latest);
  }

  /**
   * Keeps `seq`, the log's latest, in `socket`'s attachment, so that a hub
   * woken from hibernation can write its next delivery without first reading
   * where the log stands. An attachment lives in the runtime's memory, not
   * storage: no row is written.
   */
  #remember(socket: S, seq: number): void {
    const attachment = this.#sockets.attachment(socket);
    if (!attachment || attachment.logSeq === seq) return;
    attachment.logSeq = seq;
    try {
      this.#sockets.write(socket, attachment);
    } catch {
      // A socket closing under us may refuse a new attachment: the hint is only a hint.
    }
  }

  /**
   * `socket` is being greeted: its welcome, queued on its sender, will carry
   * `welcomeSeq` (the log's latest when read), and `greeted` settles once the
   * welcome (and any replay) is written. Until then a live delivery at or
   * before that seq is not sent to it: the replay has it, or, for a socket
   * that does not resume, it is history. A log read asynchronously (Deno KV)
   * can take a delivery after the socket went live and before its latest seq
   * was read; without this the socket got that seq twice, replayed and live.
   * It stays marked until appends in flight when the greeting ended have
   * been sent, the last that can hold such a seq.
   */
  greeting(socket: S, welcomeSeq: Promise<number>, greeted: Promise<unknown>): void {
    welcomeSeq.catch(() => {});
    this.#greeting.set(socket, welcomeSeq);
    const greetedOut = (): void => void this.#appendTail.then(() => this.#greeting.delete(socket));
    greeted.then(greetedOut, greetedOut);
  }

  /**
   * An `ack` frame: the socket acknowledges every delivery up to `seq` (a
   * whole number; anything else is an `invalid_frame`). Kept in the
   * attachment (no storage write: this frame woke the hub anyway), so a
   * later instance can rebuild the count.
   */
  async acknowledge(socket: S, attachment: ConnectionAttachment, seq: unknown): Promise<void> {
    if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 0) {
      await this.#sockets.sender(socket).send(JSON.stringify(errorFrame(ErrorCode.InvalidFrame, 'an "ack" frame needs "seq", a whole number >= 0')));
      return;
    }
    if (attachment.acks && seq > (attachment.ackedSeq ?? -1)) {
      attachment.ackedSeq = seq;
      this.#sockets.write(socket, attachment);
    }
    (await this.#unacked.get(socket))?.acknowledged(seq);
  }

  /**
   * The frames that bring a resuming client up to `latest`: the deliveries it
   * missed, or a reset when they are gone. The log is read at the host's
   * time: nothing in this instance may have told it a later one (a hub whose
   * sockets send only signals logs nothing), and what is older than the
   * retention age must not be replayed.
   */
  async replay(resume: ResumeRequest, latest: number, epoch: string): Promise<string[]> {
    const log = this.#host.log;
    const now = this.#host.now();
    const reset = async (): Promise<string[]> => {
      const frame: ResetFrame = { type: "reset", epoch, oldest: await log.oldestSeq(now), latest };
      return [JSON.stringify(frame)];
    };
    if (resume.epoch !== null && resume.epoch !== epoch) return await reset();
    const replay = await log.since(resume.since, now);
    if (replay.kind === "gap") return await reset();
    // Deliveries after the welcome's seq go out live; replaying them too would send them twice.
    return replay.deliveries.filter((d) => d.seq <= latest).map(messageText);
  }

  /**
   * An acknowledging socket's unacknowledged deliveries. The first time this
   * instance needs them (after a wake from hibernation, say) they are rebuilt
   * from the log: every delivery after the attachment's `ackedSeq` was sent
   * to the socket and not acknowledged.
   */
  #unackedOf(socket: S, attachment: ConnectionAttachment): Promise<UnackedDeliveries> {
    let unacked = this.#unacked.get(socket);
    if (!unacked) {
      unacked = this.#rebuildUnacked(attachment.ackedSeq);
      this.#unacked.set(socket, unacked);
    }
    return unacked;
  }

  async #rebuildUnacked(ackedSeq: number | undefined): Promise<UnackedDeliveries> {
    const unacked = new UnackedDeliveries();
    if (ackedSeq === undefined) return unacked;
    const log = this.#host.log;
    // No `now`: only a send rebuilds, right after its append told the log the time.
    let replay = await log.since(ackedSeq);
    if (replay.kind === "gap") {
      // The log already dropped deliveries this socket never acknowledged: it cannot get them back, so it is
      // past any bound. Counted as one entry over the bound, so that it is closed (4002) and learns of the loss
      // from the reset its resume gets, unless an ack past them arrives first.
      if (ackedSeq >= replay.oldest - 1) return unacked;
      unacked.sent(replay.oldest - 1, this.#maxUnackedBytes + 1);
      replay = await log.since(replay.oldest - 1);
    }
    if (replay.kind === "replay") for (const delivery of replay.deliveries) unacked.sent(delivery.seq, frameBytes(messageText(delivery)));
    return unacked;
  }

  /**
   * Appends to the log after every earlier append has settled, so seqs reach
   * the sockets in the order they were taken. With none in flight (most
   * deliveries) the log is called at once: chaining on a settled tail would
   * still cost a promise adopting another, a few microtask turns per delivery.
   */
  #append(entries: readonly NewDelivery[], at: number, idempotencyKey?: string): AppendResult | Promise<AppendResult> {
    const log = this.#host.log;
    if (this.#appending === 0) {
      const appended = log.append(entries, at, idempotencyKey);
      // Written already: nothing is left to settle.
      if (!(appended instanceof Promise)) return appended;
      return this.#inFlight(appended);
    }
    return this.#inFlight(this.#appendTail.then(() => log.append(entries, at, idempotencyKey)));
  }

  #inFlight(appended: Promise<AppendResult>): Promise<AppendResult> {
    this.#appending++;
    this.#appendTail = appended.then(this.#appendSettled, this.#appendSettled);
    return appended;
  }

  readonly #appendSettled = (): void => {
    this.#appending--;
  };
}
