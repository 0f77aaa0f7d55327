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
  return {
    async connect(_request, handoff) {
      const stub = namespace.get(namespace.idFromName(handoff.identity.userId));
      return await stub.fetch(handoffRequest(handoff));
    },
  };
}
