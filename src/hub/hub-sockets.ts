import type { ClosingFrame } from "../protocol/frames.ts";
import type { HubConfig } from "./config.ts";
import type { Liveness } from "./heartbeat.ts";
import type { ConnectionAttachment, HubHost } from "./hub-host.ts";
import { logFailure } from "./log-failure.ts";
import { Sender, type WritableSocket } from "./sender.ts";

/** The protocol's `closing` frame, written before each close the hub starts. */
function closingNotice(code: number, reason: string): string {
  const frame: ClosingFrame = { type: "closing", code, reason };
  return JSON.stringify(frame);
}

/**
 * What one live hub instance knows of its user's sockets: each one's
 * attachment (read from the host once, then kept: the hub is its only
 * writer, so its copy is the stored one), each one's single {@link Sender},
 * and which sockets are live (open, and not being closed by the hub).
 *
 * Nothing here outlives the instance; everything that must is in the
 * attachment, which {@link write} hands to the host at once.
 */
export class HubSockets<S extends WritableSocket> {
  readonly #host: HubHost<S>;
  readonly #maxQueuedBytes: number;
  readonly #onOverflow: (socket: S, attachment: ConnectionAttachment) => void;
  readonly #attachments = new WeakMap<S, ConnectionAttachment>();
  readonly #senders = new WeakMap<S, Sender>();

  /** `onOverflow` runs when a socket's sender gave up on it for its queued bytes (`maxQueuedBytes`). */
  constructor(host: HubHost<S>, config: Pick<HubConfig, "maxQueuedBytes">, onOverflow: (socket: S, attachment: ConnectionAttachment) => void) {
    this.#host = host;
    this.#maxQueuedBytes = config.maxQueuedBytes;
    this.#onOverflow = onOverflow;
  }

  /** The socket's attachment, or null for a socket the hub never accepted. */
  attachment(socket: S): ConnectionAttachment | null {
    const cached = this.#attachments.get(socket);
    if (cached) return cached;
    const attachment = this.#host.readAttachment(socket);
    if (attachment) this.#attachments.set(socket, attachment);
    return attachment;
  }

  /** The attachment of a socket the hub still serves (accepted, and not being closed by the hub); null otherwise. */
  openAttachment(socket: S): ConnectionAttachment | null {
    const attachment = this.attachment(socket);
    return attachment && !attachment.closing ? attachment : null;
  }

  /** Stores `attachment` with the socket, in this instance and in the host (so it survives hibernation). */
  write(socket: S, attachment: ConnectionAttachment): void {
    this.#attachments.set(socket, attachment);
    this.#host.writeAttachment(socket, attachment);
  }

  /** Sockets that are open and not being closed by the hub. */
  live(): S[] {
    const open = this.#host.openSockets();
    // Most of the time every open socket is live: then the host's array is the answer, with no second one built.
    for (let i = 0; i < open.length; i++) {
      if (this.openAttachment(open[i]!) === null) return open.filter((socket) => this.openAttachment(socket) !== null);
    }
    return open;
  }

  /** What the heartbeat judges the socket by: its attachment and the runtime's last auto-response. */
  liveness(socket: S, attachment: ConnectionAttachment): Liveness {
    return { ...attachment, lastAutoResponseAt: this.#host.lastAutoResponseAt(socket) };
  }

  /** The socket's one writer: every frame to it goes through here, in order. */
  sender(socket: S): Sender {
    let sender = this.#senders.get(socket);
    if (!sender) {
      sender = new Sender(socket, {
        maxQueuedBytes: this.#maxQueuedBytes,
        onGone: (reason) => {
          if (reason !== "overflow") return;
          const attachment = this.attachment(socket);
          if (attachment) this.#onOverflow(socket, attachment);
        },
        onError: (error) => logFailure("send", error),
        closingNotice,
      });
      this.#senders.set(socket, sender);
    }
    return sender;
  }

  /** Marks the socket as being closed by the hub (no longer live); false when it already was. */
  markClosing(socket: S, attachment: ConnectionAttachment): boolean {
    if (attachment.closing) return false;
    attachment.closing = true;
    try {
      this.write(socket, attachment);
    } catch {
      // A closed socket may refuse a new attachment; the flag still holds for this instance.
    }
    return true;
  }
}
