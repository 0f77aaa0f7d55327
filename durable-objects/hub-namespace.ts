import { checkDisconnect, checkPush, checkUserId, type HubNamespace, type PeerHubs, UnserializablePayloadError } from "../src/host.ts";
import { handoffRequest } from "./handoff.ts";
import type { UserHub } from "./user-hub.ts";

/**
 * The {@link HubNamespace} of a Durable Object binding: each user's hub is
 * the object named by their user id (`idFromName`), so the namespace itself
 * is the per-user registry. It is also how one user's hub reaches another's
 * ({@link PeerHubs}: one RPC to the recipient's `receiveDirect`).
 *
 * @example
 * ```ts
 * createUserhubRouter<Env>({ hubs: (c) => durableObjectHubs(c.env.USER_HUB), secret: (c) => c.env.JWT_SECRET });
 * ```
 */
export function durableObjectHubs(namespace: DurableObjectNamespace<UserHub>): HubNamespace & PeerHubs {
  const hubOf = (userId: string) => namespace.get(namespace.idFromName(userId));
  return {
    async connect(_request, handoff) {
      return await hubOf(handoff.userId).fetch(handoffRequest(handoff));
    },
    async issueTicket(identity) {
      const result = await hubOf(identity.userId).issueTicket(identity);
      if ("refused" in result) return { refused: result.refused };
      if ("retryAfterMs" in result) return { retryAfterMs: result.retryAfterMs };
      return { ticket: result.ticket, expiresAt: result.expiresAt };
    },
    async push(userId, messages, options = {}) {
      // Checked here too, so that a caller of the namespace gets the named error itself, without an RPC (one that crossed it is an Error with its name).
      checkUserId(userId);
      checkPush(messages, options);
      let result;
      try {
        result = await hubOf(userId).push([...messages], options);
      } catch (error) {
        // RPC's structured clone overflows its stack on a payload nested too deeply, before the hub sees it.
        if (error instanceof RangeError) throw new UnserializablePayloadError("it nests too deeply to reach the user's hub", { cause: error });
        throw error;
      }
      return { seqs: [...result.seqs], delivered: result.delivered, duplicate: result.duplicate };
    },
    async disconnect(userId, options = {}) {
      // Checked here too, as push is: the named error itself, without an RPC.
      checkUserId(userId);
      checkDisconnect(options);
      return { closed: (await hubOf(userId).disconnect(options)).closed };
    },
    async deliverDirect(userId, delivery) {
      const result = await hubOf(userId).receiveDirect({
        fromUser: delivery.fromUser,
        json: delivery.json,
        ...(delivery.idempotencyKey === undefined ? {} : { idempotencyKey: delivery.idempotencyKey }),
      });
      if ("refused" in result) return { refused: result.refused, retryAfterMs: result.retryAfterMs };
      return { seq: result.seq, delivered: result.delivered, duplicate: result.duplicate };
    },
  };
}
