import type { DeliveryLog } from "./delivery-log.ts";
import type { WritableSocket } from "./sender.ts";
import type { RevocationWatermark } from "./revocation.ts";
import type { TicketStore } from "./ticket.ts";
import type { PeerHubs } from "./user-delivery.ts";

/**
 * What the hub keeps with each socket. On Cloudflare it is the socket's
 * serialized attachment, so it survives hibernation; keep it small: no URL,
 * no query string, no token.
 */
export interface ConnectionAttachment {
  /** Assigned by the hub, never taken from the client. */
  readonly connectionId: string;
  readonly userId: string;
  readonly connectedAt: number;
  /** The last frame the hub itself received from this socket. */
  lastMessageAt: number;
  /** When the socket's token expires (epoch ms), or null. */
  expiresAt: number | null;
  /** When the socket's token was issued (epoch ms, `iat`), or null: compared with the revocation watermark. */
  issuedAt?: number | null;
  /** The socket's token's session (`sid`), or null: what a disconnect by session matches. */
  sessionId?: string | null;
  /** The client said it acknowledges deliveries (`?ack=1`): its unacknowledged bytes are bounded by `maxUnackedBytes`. */
  acks?: true;
  /** The application's `connection.state` as JSON (at most `MAX_CONNECTION_STATE_BYTES`), when it set one. */
  state?: string;
  /**
   * For an acknowledging socket, the last seq it acknowledged (at first, the
   * welcome's seq). Kept here, not only in memory, so that a hub woken from
   * hibernation can rebuild the socket's unacknowledged bytes from the log.
   */
  ackedSeq?: number;
  /**
   * The log's latest seq when the hub last wrote it here (after a delivery,
   * on one live socket): a hint that lets a hub woken from hibernation write
   * its next delivery without first reading where its log stands. Never
   * trusted: the log checks it as it writes (see `DeliveryLog.hint`).
   */
  logSeq?: number;
  /** Set once cleanup has run, so it never runs twice (close, error and timeout may all report one socket). */
  closing?: true;
}

/**
 * The world as the hub logic sees it. Each runtime implements it once: the
 * `UserHub` Durable Object over `DurableObjectState`, the Deno host in memory.
 * The host accepts sockets itself (that is runtime-specific) and then hands
 * them to the hub.
 */
export interface HubHost<S extends WritableSocket = WritableSocket> {
  /** The clock, epoch milliseconds. */
  now(): number;
  /** This user's sockets that are open: not closing, not closed. */
  openSockets(): S[];
  readAttachment(socket: S): ConnectionAttachment | null;
  writeAttachment(socket: S, attachment: ConnectionAttachment): void;
  /** When the runtime last answered this socket's heartbeat without waking the hub, or null. */
  lastAutoResponseAt(socket: S): number | null;
  /** Sets the hub's single wake-up to `at`, replacing any other; null clears it. */
  scheduleWake(at: number | null): void | Promise<void>;
  /** The hub's wake-up that is set (epoch ms), or null. Asked once per live instance of the hub, which then remembers what it sets. */
  scheduledWake(): number | null | Promise<number | null>;
  /** This user's delivery log. */
  readonly log: DeliveryLog;
  /** This user's unredeemed connect tickets. */
  readonly tickets: TicketStore;
  /** This user's revocation watermark (tokens issued before it are refused). */
  readonly revocation: RevocationWatermark;
  /** Other users' hubs, for `hub.users.deliver`. A host without it refuses such deliveries (`PeerHubsMissingError`). */
  readonly users?: PeerHubs;
}
