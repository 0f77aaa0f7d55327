import { type HubHandoff, isValidUserId } from "../src/index.ts";

/**
 * The header that carries the router's verified handoff to the Durable
 * Object. The router builds the hub's request from scratch, so nothing the
 * client sent (least of all this header or its token) reaches the hub.
 */
export const HANDOFF_HEADER = "X-Userhub-Handoff";

/** Builds the request the router sends to a user's Durable Object. */
export function handoffRequest(handoff: HubHandoff): Request {
  return new Request("https://userhub.internal/connect", {
    headers: {
      Upgrade: "websocket",
      [HANDOFF_HEADER]: JSON.stringify({ userId: handoff.identity.userId, expiresAt: handoff.identity.expiresAt, protocol: handoff.protocol }),
    },
  });
}

/** Reads the handoff from a request the router built; null if it is absent or malformed. */
export function readHandoff(request: Request): HubHandoff | null {
  const header = request.headers.get(HANDOFF_HEADER);
  if (header === null) return null;
  try {
    const value = JSON.parse(header) as { userId?: unknown; expiresAt?: unknown; protocol?: unknown };
    if (!isValidUserId(value.userId)) return null;
    const expiresAt = typeof value.expiresAt === "number" ? value.expiresAt : null;
    const protocol = typeof value.protocol === "string" ? value.protocol : null;
    return { identity: { userId: value.userId, expiresAt }, protocol };
  } catch {
    return null;
  }
}
