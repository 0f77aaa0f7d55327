import type { HubNamespace } from "../src/index.ts";
import { handoffRequest } from "./handoff.ts";
import type { UserHub } from "./user-hub.ts";

/**
 * The {@link HubNamespace} of a Durable Object binding: each user's hub is
 * the object named by their user id (`idFromName`), so the namespace itself
 * is the per-user registry.
 *
 * @example
 * ```ts
 * createUserhubRouter<Env>({ hubs: (c) => durableObjectHubs(c.env.USER_HUB), secret: (c) => c.env.JWT_SECRET });
 * ```
 */
export function durableObjectHubs(namespace: DurableObjectNamespace<UserHub>): HubNamespace {
  const hubOf = (userId: string) => namespace.get(namespace.idFromName(userId));
  return {
    async connect(_request, handoff) {
      return await hubOf(handoff.userId).fetch(handoffRequest(handoff));
    },
    async issueTicket(identity) {
      const result = await hubOf(identity.userId).issueTicket(identity);
      return "refused" in result ? { refused: result.refused } : { ticket: result.ticket, expiresAt: result.expiresAt };
    },
    async push(userId, messages, options = {}) {
      const result = await hubOf(userId).push([...messages], options);
      return { seqs: [...result.seqs], delivered: result.delivered, duplicate: result.duplicate };
    },
    async disconnect(userId, options = {}) {
      return { closed: (await hubOf(userId).disconnect(options)).closed };
    },
  };
}
