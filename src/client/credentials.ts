/**
 * How the client proves who it is when it connects: a JWT or a single-use
 * ticket, carried in the WebSocket subprotocol list (a browser cannot set
 * `Authorization` on a WebSocket, and a URL ends up in logs and history).
 */
import { BEARER_PROTOCOL_PREFIX, PROTOCOL, TICKET_PROTOCOL_PREFIX } from "../protocol/frames.ts";
import { AuthRefusedError, CredentialsError, TicketRequestError } from "./errors.ts";

/**
 * Gives the current JWT; called on every connect and before every in-band
 * refresh, so it may refresh and cache as it likes. Anything but a usable
 * string (`""`, `null`, `undefined`: say, a session still loading) counts as
 * a failure, like a throw: the client reports a `CredentialsError` and asks
 * again after a backoff. Only a thrown `AuthRefusedError` stops the client.
 */
export type TokenProvider = () => string | Promise<string>;
/** Gives a fresh single-use connect ticket; called on every connect. What it gives is checked as a token provider's is. */
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
 * @throws {CredentialsError} when the credential is not a string, is empty
 * or has a character a subprotocol cannot carry: the provider gave
 * something that is not a JWT or ticket. Not terminal: a provider may give
 * nothing while a session loads and a token a moment later, so the client
 * reports it and asks again after a backoff (the message never echoes the value).
 *
 * @example
 * ```ts
 * subprotocolsFor("bearer", jwt); // ["userhub.v1", "bearer.eyJ…"]
 * ```
 */
export function subprotocolsFor(kind: "bearer" | "ticket", credential: string): [string, string] {
  const problem = credentialProblem(credential);
  if (problem !== null) {
    throw new CredentialsError(`the ${kind === "bearer" ? "token" : "ticket"} provider gave ${problem}; a JWT or ticket is base64url and dots`);
  }
  return [PROTOCOL, `${kind === "bearer" ? BEARER_PROTOCOL_PREFIX : TICKET_PROTOCOL_PREFIX}${credential}`];
}

/** What is wrong with a credential, in words that never repeat it; null when it can travel as a subprotocol. */
function credentialProblem(credential: unknown): string | null {
  if (typeof credential !== "string") return credential === null ? "null" : `${typeof credential}, not a string`;
  if (credential.length === 0) return "an empty string";
  return SUBPROTOCOL_TOKEN.test(credential) ? null : "a value that cannot be a WebSocket subprotocol";
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
 * Answers: 200 with a ticket → the ticket; 401 or 403 → {@link AuthRefusedError}, which
 * stops the client for good (the token was refused, or the page's origin is
 * not allowed); anything else (a 200 without a usable ticket included), or a
 * network failure → {@link TicketRequestError}, which the client retries
 * with backoff. `token` may be a string or a provider called for each
 * ticket; a provider that gives no token (`""`, `null`, `undefined`) is a
 * {@link TicketRequestError} too, and nothing is posted.
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
    const jwt: unknown = typeof token === "string" ? token : await token();
    // Posted, an empty token would be answered 401, which is final; a provider with no token yet may have one soon.
    if (typeof jwt !== "string" || jwt.length === 0) {
      throw new TicketRequestError(`no ticket asked for: the token provider gave ${credentialProblem(jwt) ?? "nothing"}`);
    }
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
    const problem = ticket === undefined ? "no ticket" : credentialProblem(ticket);
    if (problem !== null) {
      throw new TicketRequestError(`POST ${url} answered without a usable "ticket" (${problem})`, { status: response.status });
    }
    return ticket as string;
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
