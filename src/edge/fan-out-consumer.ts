import { ConfigError } from "../hub/config.ts";
import type { HubNamespace } from "../hub/hub-namespace.ts";
import { isUnserializablePayload } from "../protocol/delivery-frame.ts";
import { FAN_OUT_CONCURRENCY, type FanOutMessage, fanOutPushOptions, forEachBounded, readFanOutMessage } from "./fan-out.ts";

/** The part of a queued message the consumer uses (structurally Cloudflare's `Message`). */
export interface FanOutQueueMessage {
  readonly id: string;
  readonly body: unknown;
  readonly attempts: number;
  ack(): void;
  retry(): void;
}

/** The part of a queue batch the consumer uses (structurally Cloudflare's `MessageBatch`). */
export interface FanOutBatch {
  readonly queue: string;
  readonly messages: readonly FanOutQueueMessage[];
}

/** What one batch did. */
export interface FanOutBatchOutcome {
  /** Messages acknowledged: every user in them has the data (now, or from an earlier attempt). */
  readonly acked: number;
  /** Messages handed back for another attempt because a user in them could not be reached. */
  readonly retried: number;
  /** Messages acknowledged without delivering: not a push to many users, or data no hub can take (logged). */
  readonly dropped: number;
  /** Users whose log took the data in this batch. */
  readonly delivered: number;
  /** Users whose log already had it (an earlier attempt, or a retried request). */
  readonly duplicates: number;
}

/**
 * The queue consumer of `POST /messages`: pushes each message's data to each
 * of its users with the request's per-user idempotency key, at most
 * `concurrency` hub calls at a time across the batch. Each message is
 * acknowledged once all its users have the data, or handed back with
 * `retry()` if any could not be reached; only that message comes again, and
 * its users that already have the data answer "duplicate" and get nothing
 * twice. A message that is not a push to many users, or whose data no hub can
 * take, is acknowledged and logged (one line, no payload): no retry could
 * deliver it.
 *
 * @example
 * ```ts
 * export default {
 *   async queue(batch, env) {
 *     await consumeFanOut(durableObjectHubs(env.USER_HUB), batch);
 *   },
 * } satisfies ExportedHandler<Env>;
 * ```
 */
export async function consumeFanOut(hubs: HubNamespace, batch: FanOutBatch, concurrency: number = FAN_OUT_CONCURRENCY): Promise<FanOutBatchOutcome> {
  let acked = 0;
  let retried = 0;
  let dropped = 0;
  let delivered = 0;
  let duplicates = 0;
  const work: { message: FanOutMessage; tally: MessageTally; userId: string }[] = [];
  for (const queued of batch.messages) {
    const message = readFanOutMessage(queued.body);
    if (message === null || message.userIds.length === 0) {
      console.error(`userhub: queue ${batch.queue}: message ${queued.id} is not a push to many users; acknowledged without delivering`);
      queued.ack();
      dropped++;
      continue;
    }
    const tally: MessageTally = { queued, pending: message.userIds.length, failures: 0, unserializable: 0, misconfigured: null };
    for (const userId of message.userIds) work.push({ message, tally, userId });
  }
  await forEachBounded(work, concurrency, async ({ message, tally, userId }) => {
    try {
      const result = await hubs.push(userId, [message.data], fanOutPushOptions(message.key));
      if (result.duplicate) duplicates++;
      else delivered++;
    } catch (error) {
      tally.failures++;
      if (isUnserializablePayload(error)) tally.unserializable++;
      if (error instanceof ConfigError) tally.misconfigured = error;
    }
    if (--tally.pending > 0) return;
    // Settled as soon as its last user is, so that a batch cut short later keeps what was done.
    if (tally.failures === 0) {
      tally.queued.ack();
      acked++;
    } else if (tally.unserializable === tally.failures) {
      console.error(`userhub: queue ${batch.queue}: message ${tally.queued.id}: its data cannot reach a hub; acknowledged without delivering`);
      tally.queued.ack();
      dropped++;
    } else {
      const users = `${tally.failures} of ${message.userIds.length} users`;
      const what = tally.misconfigured ? `configuration error: ${tally.misconfigured.message}; ${users} not pushed` : `${users} could not be reached`;
      console.error(`userhub: queue ${batch.queue}: message ${tally.queued.id}: ${what} (attempt ${tally.queued.attempts}); retrying the message`);
      tally.queued.retry();
      retried++;
    }
  });
  return { acked, retried, dropped, delivered, duplicates };
}

interface MessageTally {
  readonly queued: FanOutQueueMessage;
  pending: number;
  failures: number;
  unserializable: number;
  /** A hub's configuration that cannot be used, named in the log line: the message waits for the fix (or the dead letter queue). */
  misconfigured: ConfigError | null;
}
