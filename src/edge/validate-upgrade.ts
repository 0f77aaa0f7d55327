import { tokenList } from "./token-list.ts";
import { HttpStatus } from "../protocol/http-status.ts";

/** Why a request is not an acceptable WebSocket upgrade, with the answer to give. */
export class UpgradeError extends Error {
  override readonly name = "UpgradeError";
  /** The HTTP status to answer with. */
  readonly status: HttpStatus;
  /** Headers the answer must carry (`Allow`, `Upgrade`, `Sec-WebSocket-Version`). */
  readonly headers: Readonly<Record<string, string>>;
  /** The request headers that were missing or wrong, by name. */
  readonly problems: readonly string[];

  constructor(
    status: HttpStatus,
    message: string,
    options: { headers?: Record<string, string>; problems?: string[]; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.status = status;
    this.headers = options.headers ?? {};
    this.problems = options.problems ?? [];
  }
}

/** What a valid upgrade request offered. */
export interface UpgradeRequest {
  /** Every subprotocol the client offered, in its order (may include a credential carrier). */
  readonly protocols: readonly string[];
  /** The `Origin` header, if the client sent one (browsers always do). */
  readonly origin: string | null;
}

/** Options for {@link validateUpgrade}. */
export interface ValidateUpgradeOptions {
  /** The URL to show in the `curl` hint of a 426 answer. Defaults to the request's URL. */
  curlUrl?: string;
}

/**
 * Checks a request against RFC 6455 §4.2.1 and answers the way a person can
 * act on: which headers were missing, and a `curl` line that works.
 *
 * Header values are token lists compared case-insensitively, so Firefox's
 * `Connection: keep-alive, Upgrade` is an upgrade.
 *
 * @throws {UpgradeError} 405 for a method other than GET; 426 when `Upgrade`
 * or `Connection` is missing or wrong, or the version is not 13; 400 for a
 * missing or malformed `Sec-WebSocket-Key`.
 *
 * @example
 * ```ts
 * import { validateUpgrade, UpgradeError } from "userhub/host";
 * try {
 *   const { protocols } = validateUpgrade(request);
 * } catch (e) {
 *   if (e instanceof UpgradeError) return new Response(e.message, { status: e.status, headers: e.headers });
 *   throw e;
 * }
 * ```
 */
export function validateUpgrade(request: Request, options: ValidateUpgradeOptions = {}): UpgradeRequest {
  if (request.method !== "GET") {
    throw new UpgradeError(
      HttpStatus.MethodNotAllowed,
      `405 Method Not Allowed: a WebSocket upgrade must be a GET request, not ${request.method}.`,
      { headers: { Allow: "GET" } },
    );
  }
  const headers = request.headers;
  const problems: string[] = [];
  if (!hasToken(headers.get("Upgrade"), "websocket")) problems.push("Upgrade");
  if (!hasToken(headers.get("Connection"), "upgrade")) problems.push("Connection");
  if (problems.length > 0) {
    throw new UpgradeError(HttpStatus.UpgradeRequired, notAnUpgradeMessage(request, problems, options), {
      headers: { Upgrade: "websocket" },
      problems,
    });
  }
  const version = headers.get("Sec-WebSocket-Version");
  if (version === null || version.trim() !== "13") {
    throw new UpgradeError(
      HttpStatus.UpgradeRequired,
      `426 Upgrade Required: Sec-WebSocket-Version must be 13 (got ${version === null ? "none" : JSON.stringify(version)}).`,
      { headers: { Upgrade: "websocket", "Sec-WebSocket-Version": "13" }, problems: ["Sec-WebSocket-Version"] },
    );
  }
  const key = headers.get("Sec-WebSocket-Key");
  if (key === null || !isWebSocketKey(key.trim())) {
    throw new UpgradeError(
      HttpStatus.BadRequest,
      `400 Bad Request: Sec-WebSocket-Key must be 16 random bytes in base64 (${key === null ? "it is missing" : "it is malformed"}).`,
      { problems: ["Sec-WebSocket-Key"] },
    );
  }
  return { protocols: tokenList(headers.get("Sec-WebSocket-Protocol")), origin: headers.get("Origin") };
}


function hasToken(value: string | null, token: string): boolean {
  return tokenList(value).some((t) => t.toLowerCase() === token);
}

/** A key is the base64 of 16 bytes: 22 characters and `==` (RFC 6455 §4.1). */
function isWebSocketKey(key: string): boolean {
  return /^[A-Za-z0-9+/]{22}==$/.test(key);
}

/** The curl line that performs a working upgrade against `url`, as the README shows it. */
export function curlUpgradeLine(url: string): string {
  return [
    "curl -i -N",
    '-H "Connection: Upgrade" -H "Upgrade: websocket"',
    '-H "Sec-WebSocket-Version: 13" -H "Sec-WebSocket-Key: $(openssl rand -base64 16)"',
    `-H "Authorization: Bearer $TOKEN" ${shellWord(url)}`,
  ].join(" ");
}

/** `url` without its query and fragment. */
function withoutQuery(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}

/** `text` as one shell word: as it is when it holds nothing a shell reads specially (a URL mostly does not), else in single quotes. */
function shellWord(text: string): string {
  return /^[\w.~:/%@+,-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}

function notAnUpgradeMessage(request: Request, problems: string[], options: ValidateUpgradeOptions): string {
  const wanted: Record<string, string> = {
    Upgrade: 'Upgrade: websocket',
    Connection: 'Connection: Upgrade',
  };
  // The request's own URL without its query: a client may have put a token there, and a refusal never carries one.
  const url = options.curlUrl ?? withoutQuery(request.url);
  return [
    `426 Upgrade Required: ${new URL(url).pathname} only speaks WebSocket, and this request is not a WebSocket upgrade.`,
    `Missing or wrong: ${problems.map((p) => `${p} (send "${wanted[p]}")`).join(", ")}.`,
    "Behind a proxy? It must pass the Upgrade and Connection headers through (see the README, \"Running behind a proxy\").",
    "A working upgrade with curl:",
    `  ${curlUpgradeLine(url)}`,
    "",
  ].join("\n");
}
