/**
 * How the client proves who it is when it connects: a JWT or a single-use
 * ticket, carried in the WebSocket subprotocol list (a browser cannot set
 * `Authorization` on a WebSocket, and a URL ends up in logs and history).
 */
import { BEARER_PROTOCOL_PREFIX, PROTOCOL, TICKET_PROTOCOL_PREFIX } from "../protocol/frames.ts";
import { AuthRefusedError, TicketRequestError } from "./errors.ts";

/** Gives the current JWT; called on every connect and before every in-band refresh, so it may refresh and cache as it likes. */
export type TokenProvider = () => string | Promise<string>;
/** Gives a fresh single-use connect ticket; called on every connect. */
export type TicketProvider = () => Promise<string>;

/**
 * RFC 6455 requires each subprotocol to be an RFC 7230 token; a browser's
 * `new WebSocket` throws a SyntaxError on anything else. JWTs (base64url and
 * dots) and userhub tickets always fit.
 */
const SUBPROTOCOL_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * The subprotocols to offer for `kind` and `credential`: `userhub.v1`
 * first, then the credential.
 *
 * @throws {AuthRefusedError} when the credential is empty or has a
 * character a subprotocol cannot carry: the provider gives something that
 * is not a JWT or ticket, and asking it again will not change that.
 *
 * @example
 * ```ts
 * subprotocolsFor("bearer", jwt); // ["userhub.v1", "bearer.eyJ…"]
 * ```
 */
export function subprotocolsFor(kind: "bearer" | "ticket", credential: string): [string, string] {
  if (typeof credential !== "string" || !SUBPROTOCOL_TOKEN.test(credential)) {
    throw new AuthRefusedError(
      `the ${kind === "bearer" ? "token" : "ticket"} provider gave ${typeof credential === "string" && credential.length === 0 ? "an empty string" : "a value that cannot be a WebSocket subprotocol"}; a JWT or ticket is base64url and dots`,
    );
  }
  return [PROTOCOL, `${kind === "bearer" ? BEARER_PROTOCOL_PREFIX : TICKET_PROTOCOL_PREFIX}${credential}`];
}

/** The part of `fetch` that {@link ticketFrom} uses; the global `fetch` of browsers, Deno and Node fits. */
export type TicketFetch = (
  url: string,
  init: { method: "POST"; headers: Record<string, string> },
) => Promise<{ readonly ok: boolean; readonly status: number; json(): Promise<unknown>; text(): Promise<string> }>;

/**
 * A ticket provider that trades a JWT for a single-use connect ticket at
 * `POST <ticketUrl>` (the router's `/ws/ticket`), sending the JWT as
 * `Authorization: Bearer`. The JWT then never travels in the WebSocket
 * handshake at all.
 *
 * Answers: 200 → the ticket; 401 or 403 → {@link AuthRefusedError}, which
 * stops the client for good (the token was refused, or the page's origin is
 * not allowed); anything else, or a network failure → {@link TicketRequestError},
 * which the client retries with backoff. `token` may be a string or a
 * provider called for each ticket.
 *
 * @example
 * ```ts
 * const client = new UserhubClient({
 *   url: "wss://example.com/ws",
 *   ticket: ticketFrom("https://example.com/ws/ticket", () => auth.getAccessToken()),
 * });
 * ```
 */
export function ticketFrom(
  ticketUrl: string | URL,
  token: string | TokenProvider,
  options: { fetch?: TicketFetch } = {},
): TicketProvider {
  const url = String(ticketUrl);
  return async () => {
    // Resolved per call: a test (or a polyfill) may install fetch after this provider was made.
    const fetchTicket = options.fetch ?? (globalThis.fetch as unknown as TicketFetch);
    const jwt = typeof token === "string" ? token : await token();
    let response: Awaited<ReturnType<TicketFetch>>;
    try {
      response = await fetchTicket(url, { method: "POST", headers: { Authorization: `Bearer ${jwt}` } });
    } catch (error) {
      throw new TicketRequestError(`POST ${url} failed: ${describe(error)}`, { cause: error });
    }
    if (response.status === 401 || response.status === 403) {
      // The server's body names the problem ("401 Unauthorized: token expired.") and never contains the token.
      const body = (await response.text().catch(() => "")).trim().slice(0, 200);
      throw new AuthRefusedError(`POST ${url} refused the token (${response.status})${body ? `: ${body}` : ""}`, { status: response.status });
    }
    if (!response.ok) throw new TicketRequestError(`POST ${url} answered ${response.status}`, { status: response.status });
    let answer: unknown;
    try {
      answer = await response.json();
    } catch (error) {
      throw new TicketRequestError(`POST ${url} answered with something that is not JSON`, { status: response.status, cause: error });
    }
    const ticket = (answer as { ticket?: unknown } | null)?.ticket;
    if (typeof ticket !== "string" || ticket.length === 0) {
      throw new TicketRequestError(`POST ${url} answered without a "ticket"`, { status: response.status });
    }
    return ticket;
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
