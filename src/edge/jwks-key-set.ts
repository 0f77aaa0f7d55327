import { HttpStatus } from "../protocol/http-status.ts";

/** How long a key set is kept when its answer says nothing (no `Cache-Control: max-age`). */
export const DEFAULT_KEY_SET_MAX_AGE_MS = 10 * 60_000;
/** The shortest a key set is kept, whatever its `max-age` says: a provider's `no-cache` must not make every upgrade a fetch. */
export const MIN_KEY_SET_MAX_AGE_MS = 60_000;
/** The longest a key set is kept, whatever its `max-age` says: a rotated-out key must stop working within a day. */
export const MAX_KEY_SET_MAX_AGE_MS = 24 * 60 * 60_000;
/** A token naming a key the set does not have triggers at most one refetch this often. */
export const UNKNOWN_KID_REFETCH_MS = 30_000;
/** After a failed fetch, no new attempt for this long: a provider that is down is not asked on every upgrade. */
export const FAILED_FETCH_RETRY_MS = 5_000;
/** A fetch that has not answered by then has failed. */
export const KEY_SET_FETCH_TIMEOUT_MS = 5_000;
/** Larger key set documents are refused (a real one is a few KiB). */
const MAX_KEY_SET_BYTES = 256 * 1024;
/** At most this many keys of a set are kept. */
const MAX_KEYS = 100;

/**
 * The key set could not be fetched and no key of it was ever fetched: the
 * token may be fine, so the answer is 503, not 401. The message names the
 * key set, never its URL's query, a key or a token.
 */
export class KeySetUnavailableError extends Error {
  override readonly name = "KeySetUnavailableError";
  readonly status = HttpStatus.ServiceUnavailable;

  constructor(options: { cause?: unknown } = {}) {
    super("503 Service Unavailable: the identity provider's key set (JWKS_URL) is unreachable; try again shortly.", options);
  }
}

/** A public key of the set, as JSON Web Key with the `kid` that tokens name it by. */
export type PublicJwk = JsonWebKey & { readonly kid: string };

/** Options of a {@link JwksKeySet}. Every time is in milliseconds. */
export interface JwksKeySetOptions {
  /** The fetch to use (tests pass their own). Default: the global `fetch`. */
  readonly fetch?: (request: Request) => Promise<Response>;
  /** The clock, epoch milliseconds. Default `Date.now`. */
  readonly now?: () => number;
  /** @default {DEFAULT_KEY_SET_MAX_AGE_MS} */
  readonly defaultMaxAgeMs?: number;
  /** @default {MIN_KEY_SET_MAX_AGE_MS} */
  readonly minMaxAgeMs?: number;
  /** @default {MAX_KEY_SET_MAX_AGE_MS} */
  readonly maxMaxAgeMs?: number;
  /** @default {UNKNOWN_KID_REFETCH_MS} */
  readonly unknownKidRefetchMs?: number;
  /** @default {FAILED_FETCH_RETRY_MS} */
  readonly failedFetchRetryMs?: number;
  /** @default {KEY_SET_FETCH_TIMEOUT_MS} */
  readonly fetchTimeoutMs?: number;
}

/**
 * An identity provider's published keys (a JWKS), fetched once and cached:
 * - kept for the answer's `Cache-Control: max-age`, clamped to
 *   [{@link MIN_KEY_SET_MAX_AGE_MS}, {@link MAX_KEY_SET_MAX_AGE_MS}], or
 *   {@link DEFAULT_KEY_SET_MAX_AGE_MS} when it gives none;
 * - one fetch at a time, however many callers wait (single flight);
 * - a `kid` the set does not have refetches it at most once per
 *   {@link UNKNOWN_KID_REFETCH_MS} (a rotation is picked up; a flood of made-up
 *   kids cannot hammer the provider);
 * - when a refetch fails, the keys already held keep working;
 * - with no key ever fetched, {@link KeySetUnavailableError}.
 *
 * Only public keys are kept: `oct` (symmetric) keys and keys for encryption
 * are dropped, so the set can never verify an HMAC token.
 *
 * @example
 * ```ts
 * const keys = new JwksKeySet("https://example.eu.auth0.com/.well-known/jwks.json");
 * const jwk = await keys.key("my-kid"); // null when the provider has no such key
 * ```
 */
export class JwksKeySet {
  readonly url: string;
  readonly #fetch: (request: Request) => Promise<Response>;
  readonly #now: () => number;
  readonly #defaultMaxAgeMs: number;
  readonly #minMaxAgeMs: number;
  readonly #maxMaxAgeMs: number;
  readonly #unknownKidRefetchMs: number;
  readonly #failedFetchRetryMs: number;
  readonly #fetchTimeoutMs: number;
  #keys: Map<string, PublicJwk> | null = null;
  #expiresAt = 0;
  /** When the last fetch started (successful or not), or -Infinity before the first. */
  #lastAttemptAt = Number.NEGATIVE_INFINITY;
  #lastFailedAt = Number.NEGATIVE_INFINITY;
  #inFlight: Promise<void> | null = null;
  #fetches = 0;

  constructor(url: string, options: JwksKeySetOptions = {}) {
    this.url = url;
    this.#fetch = options.fetch ?? ((request) => fetch(request));
    this.#now = options.now ?? Date.now;
    this.#defaultMaxAgeMs = options.defaultMaxAgeMs ?? DEFAULT_KEY_SET_MAX_AGE_MS;
    this.#minMaxAgeMs = options.minMaxAgeMs ?? MIN_KEY_SET_MAX_AGE_MS;
    this.#maxMaxAgeMs = options.maxMaxAgeMs ?? MAX_KEY_SET_MAX_AGE_MS;
    this.#unknownKidRefetchMs = options.unknownKidRefetchMs ?? UNKNOWN_KID_REFETCH_MS;
    this.#failedFetchRetryMs = options.failedFetchRetryMs ?? FAILED_FETCH_RETRY_MS;
    this.#fetchTimeoutMs = options.fetchTimeoutMs ?? KEY_SET_FETCH_TIMEOUT_MS;
  }

  /** How many fetches this key set has started. */
  get fetches(): number {
    return this.#fetches;
  }

  /** When the keys held go stale (epoch ms), or null before the first successful fetch. */
  get expiresAt(): number | null {
    return this.#keys === null ? null : this.#expiresAt;
  }

  /**
   * The key named `kid`, fetching or refetching the set as the rules above allow.
   *
   * @returns the key, or null when the set (as fetched) has no such key.
   * @throws {KeySetUnavailableError} when no key of the set was ever fetched.
   */
  async key(kid: string): Promise<PublicJwk | null> {
    const now = this.#now();
    if (this.#keys === null || now >= this.#expiresAt) await this.#refresh(now);
    if (this.#keys === null) throw new KeySetUnavailableError();
    const known = this.#keys.get(kid);
    if (known) return known;
    if (this.#now() - this.#lastAttemptAt < this.#unknownKidRefetchMs) return null;
    await this.#refresh(this.#now());
    return this.#keys.get(kid) ?? null;
  }

  /** Fetches the set unless a fetch is under way (then waits for that one) or the last one failed moments ago. */
  async #refresh(now: number): Promise<void> {
    if (this.#inFlight) return await this.#inFlight;
    if (now - this.#lastFailedAt < this.#failedFetchRetryMs) return;
    this.#lastAttemptAt = now;
    this.#fetches++;
    this.#inFlight = this.#load().finally(() => {
      this.#inFlight = null;
    });
    return await this.#inFlight;
  }

  async #load(): Promise<void> {
    let keys: Map<string, PublicJwk>;
    let maxAgeMs: number;
    try {
      // One deadline for the answer and its whole body: a provider (or anything at JWKS_URL) that trickles bytes cannot hold the cache longer.
      const deadline = AbortSignal.timeout(this.#fetchTimeoutMs);
      const response = await this.#fetch(new Request(this.url, { headers: { Accept: "application/json" }, signal: deadline }));
      if (!response.ok) {
        await response.body?.cancel().catch(() => {});
        throw new Error(`answered HTTP ${response.status}`);
      }
      const text = await readCappedText(response, MAX_KEY_SET_BYTES, deadline);
      keys = readKeySet(JSON.parse(text));
      maxAgeMs = this.#maxAge(response.headers.get("Cache-Control"));
    } catch (error) {
      this.#lastFailedAt = this.#now();
      // One line, naming the set and what went wrong; never a key (none was read) or a token (none is here).
      const what = error instanceof Error ? `${error.name}: ${error.message.split("\n")[0]}` : String(error);
      console.error(`userhub: fetching the key set at ${describeUrl(this.url)} failed (${what})${this.#keys ? "; the cached keys stay in use" : ""}`);
      return;
    }
    this.#keys = keys;
    this.#expiresAt = this.#now() + maxAgeMs;
  }

  #maxAge(cacheControl: string | null): number {
    const directives = (cacheControl ?? "").toLowerCase().split(",").map((d) => d.trim());
    if (directives.includes("no-store") || directives.includes("no-cache")) return this.#minMaxAgeMs;
    const maxAge = directives.map((d) => /^max-age=(\d+)$/.exec(d)).find((m) => m !== null);
    if (!maxAge) return this.#defaultMaxAgeMs;
    return Math.min(this.#maxMaxAgeMs, Math.max(this.#minMaxAgeMs, Number(maxAge[1]) * 1000));
  }
}

/**
 * The body of `response` as text, refused past `maxBytes` without holding
 * more than that: by `Content-Length` before reading when it is given,
 * otherwise by counting the stream's bytes as they arrive. Stops, and
 * cancels the body, when `deadline` aborts.
 */
async function readCappedText(response: Response, maxBytes: number, deadline: AbortSignal): Promise<string> {
  const tooLarge = () => new Error(`document is larger than ${maxBytes} bytes`);
  const declared = response.headers.get("Content-Length");
  if (declared !== null && /^\d+$/.test(declared) && Number(declared) > maxBytes) {
    await response.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  if (response.body === null) return "";
  const reader = response.body.getReader();
  const aborted = new Promise<never>((_, reject) => {
    const fail = () => reject(new Error(`no complete answer within the fetch timeout (${deadline.reason instanceof Error ? deadline.reason.name : "aborted"})`));
    if (deadline.aborted) fail();
    else deadline.addEventListener("abort", fail, { once: true });
  });
  aborted.catch(() => {});
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await Promise.race([reader.read(), aborted]);
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) throw tooLarge();
      chunks.push(value);
    }
  } catch (error) {
    await reader.cancel().catch(() => {});
    throw error;
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

/** The signing keys of a JWKS document, by `kid`. Keys without a `kid`, symmetric keys and encryption keys are left out. */
function readKeySet(document: unknown): Map<string, PublicJwk> {
  const keys = (document as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new Error('document has no "keys" array');
  const byKid = new Map<string, PublicJwk>();
  for (const key of keys.slice(0, MAX_KEYS)) {
    if (typeof key !== "object" || key === null) continue;
    const jwk = key as Record<string, unknown>;
    if (typeof jwk.kid !== "string" || jwk.kid.length === 0) continue;
    if (jwk.kty !== "RSA" && jwk.kty !== "EC" && jwk.kty !== "OKP") continue;
    if (jwk.use !== undefined && jwk.use !== "sig") continue;
    // A public key only: a provider that publishes a private part by mistake does not make us hold it.
    const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, oth: _oth, k: _k, ...publicPart } = jwk;
    byKid.set(jwk.kid, publicPart as unknown as PublicJwk);
  }
  return byKid;
}

/** The URL without its query or credentials, for a log line. */
function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return "JWKS_URL (not a URL)";
  }
}

/** Key sets by URL, one per isolate or process. It holds providers' public keys, never anything per user. */
const sharedKeySets = new Map<string, JwksKeySet>();
/** A deployment names one or two key sets; more is a misconfiguration, not a reason to grow without bound. */
const MAX_SHARED_KEY_SETS = 16;

/**
 * The key set at `url`, shared by every request of this isolate (or
 * process), so its cache outlives one request.
 *
 * @example
 * ```ts
 * const keys = sharedKeySet(env.JWKS_URL);
 * ```
 */
export function sharedKeySet(url: string, options: { unknownKidRefetchMs?: number } = {}): JwksKeySet {
  const name = `${options.unknownKidRefetchMs ?? UNKNOWN_KID_REFETCH_MS} ${url}`;
  let keySet = sharedKeySets.get(name);
  if (!keySet) {
    if (sharedKeySets.size >= MAX_SHARED_KEY_SETS) sharedKeySets.delete(sharedKeySets.keys().next().value!);
    keySet = new JwksKeySet(url, options.unknownKidRefetchMs === undefined ? {} : { unknownKidRefetchMs: options.unknownKidRefetchMs });
    sharedKeySets.set(name, keySet);
  }
  return keySet;
}
