import { type HubHandoff, isValidUserId } from "../src/host.ts";

/**
 * The header that carries the router's handoff to the Durable Object. The
 * router builds the hub's request from scratch, so nothing the client sent
 * (least of all a copy of this header, or its token) reaches the hub.
 */
export const HANDOFF_HEADER = "X-Userhub-Handoff";

/** Builds the request the router sends to a user's Durable Object. */
export function handoffRequest(handoff: HubHandoff): Request {
  return new Request("https://userhub.internal/connect", {
    headers: { Upgrade: "websocket", [HANDOFF_HEADER]: JSON.stringify(handoff) },
  });
}

/** Reads the handoff from a request the router built; null if it is absent or malformed. */
export function readHandoff(request: Request): HubHandoff | null {
  const header = request.headers.get(HANDOFF_HEADER);
  if (header === null) return null;
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(header) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null || !isValidUserId(value.userId)) return null;
  const protocol = typeof value.protocol === "string" ? value.protocol : null;
  const resume = readResume(value.resume);
  const acks = value.acks === true;
  if (typeof value.ticket === "string") return { userId: value.userId, protocol, resume, acks, ticket: value.ticket };
  const identity = value.identity as { userId?: unknown; expiresAt?: unknown; issuedAt?: unknown; sessionId?: unknown } | undefined;
  if (typeof identity !== "object" || identity === null || identity.userId !== value.userId) return null;
  const expiresAt = typeof identity.expiresAt === "number" ? identity.expiresAt : null;
  const issuedAt = typeof identity.issuedAt === "number" ? identity.issuedAt : null;
  const sessionId = typeof identity.sessionId === "string" ? identity.sessionId : null;
  return { userId: value.userId, protocol, resume, acks, identity: { userId: value.userId, expiresAt, issuedAt, sessionId } };
}

function readResume(value: unknown): HubHandoff["resume"] {
  if (typeof value !== "object" || value === null) return null;
  const { since, epoch } = value as { since?: unknown; epoch?: unknown };
  if (typeof since !== "number" || !Number.isSafeInteger(since) || since < 0) return null;
  return { since, epoch: typeof epoch === "string" ? epoch : null };
}
