/**
 * The URL the client opens: the hub's `/ws`, plus the resume point once one
 * is known. Credentials never go here (they ride in the subprotocol list):
 * URLs end up in proxy logs, server logs and browser history.
 */

/** Where a resuming client left off: the highest `seq` it saw, in the log of `epoch`. */
export interface ResumePoint {
  readonly seq: number;
  readonly epoch: string;
}

/**
 * Parses the client's `url` option into an absolute `ws:`/`wss:` URL.
 * Relative URLs resolve against the page (`location.href`) where there is
 * one; `http:`/`https:` become `ws:`/`wss:` (older browsers accept only the
 * latter).
 *
 * @throws {TypeError} when the URL is not absolute (outside a page), not
 * ws/wss/http/https, or carries a fragment (a WebSocket URL may not).
 *
 * @example
 * ```ts
 * socketUrl("https://example.com/ws").href; // "wss://example.com/ws"
 * ```
 */
export function socketUrl(url: string | URL): URL {
  const base = (globalThis as { location?: { href?: unknown } }).location?.href;
  let parsed: URL;
  try {
    parsed = typeof base === "string" ? new URL(url, base) : new URL(url);
  } catch (error) {
    throw new TypeError(`userhub client: url ${JSON.stringify(String(url))} is not a valid URL`, { cause: error });
  }
  if (parsed.protocol === "http:") parsed.protocol = "ws:";
  else if (parsed.protocol === "https:") parsed.protocol = "wss:";
  if (parsed.protocol !== "ws:" && parsed.protocol !== "wss:") {
    throw new TypeError(`userhub client: url must be ws:, wss:, http: or https:, got ${parsed.protocol}`);
  }
  if (parsed.hash !== "") throw new TypeError("userhub client: a WebSocket url may not have a fragment (#…)");
  return parsed;
}

/**
 * `base` with `?since=<seq>&epoch=<epoch>` when `resume` is given, and
 * without either otherwise (whatever `base` carried is replaced); with
 * `ack=1` when the client acknowledges deliveries, so that the hub bounds
 * what it leaves unacknowledged (a slow reader is closed with 4002 and resumes).
 *
 * @example
 * ```ts
 * connectUrl(new URL("wss://example.com/ws"), { seq: 41, epoch: "e1" }); // "wss://example.com/ws?since=41&epoch=e1"
 * connectUrl(new URL("wss://example.com/ws"), null, { acks: true }); // "wss://example.com/ws?ack=1"
 * ```
 */
export function connectUrl(base: URL, resume: ResumePoint | null, options: { acks?: boolean } = {}): string {
  const url = new URL(base.href);
  url.searchParams.delete("since");
  url.searchParams.delete("epoch");
  url.searchParams.delete("ack");
  if (resume !== null) {
    url.searchParams.set("since", String(resume.seq));
    url.searchParams.set("epoch", resume.epoch);
  }
  if (options.acks) url.searchParams.set("ack", "1");
  return url.href;
}
