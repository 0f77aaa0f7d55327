// The key set cache's rules, with an injected clock and fetch (no real
// sleeping): max-age and its clamp, the default, single flight, the
// unknown-kid refetch bound, keys surviving a provider outage, and the
// error when no key was ever fetched.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  DEFAULT_KEY_SET_MAX_AGE_MS,
  FAILED_FETCH_RETRY_MS,
  JwksKeySet,
  KeySetUnavailableError,
  MAX_KEY_SET_MAX_AGE_MS,
  MIN_KEY_SET_MAX_AGE_MS,
  UNKNOWN_KID_REFETCH_MS,
} from "../../src/host.ts";

const URL_ = "https://idp.test/.well-known/jwks.json";

/** A provider whose answers the test controls; it counts requests and can hold them. */
class Provider {
  keys: Record<string, unknown>[] = [rsaKey("k1")];
  cacheControl: string | null = null;
  down = false;
  requests = 0;
  #held: (() => void)[] = [];
  holding = false;

  fetch = async (request: Request): Promise<Response> => {
    this.requests++;
    expect(request.url).toBe(URL_);
    if (this.holding) await new Promise<void>((resolve) => this.#held.push(resolve));
    if (this.down) throw new TypeError("fetch failed: connection refused");
    return new Response(JSON.stringify({ keys: this.keys }), {
      headers: { "Content-Type": "application/json", ...(this.cacheControl ? { "Cache-Control": this.cacheControl } : {}) },
    });
  };

  release(): void {
    this.holding = false;
    for (const resolve of this.#held.splice(0)) resolve();
  }
}

function rsaKey(kid: string): Record<string, unknown> {
  return { kty: "RSA", kid, alg: "RS256", use: "sig", n: "sXch", e: "AQAB" };
}

let clock: number;
let provider: Provider;
let errors: string[];
const keySet = () => new JwksKeySet(URL_, { fetch: provider.fetch, now: () => clock });

beforeEach(() => {
  clock = 1_900_000_000_000;
  provider = new Provider();
  errors = [];
  vi.spyOn(console, "error").mockImplementation((line: string) => void errors.push(line));
});
afterEach(() => vi.restoreAllMocks());

describe("JwksKeySet caching", () => {
  it("fetches once, then serves from cache until the default max age (10 minutes)", async () => {
    const keys = keySet();
    expect(await keys.key("k1")).toMatchObject({ kid: "k1", kty: "RSA" });
    expect(keys.expiresAt).toBe(clock + DEFAULT_KEY_SET_MAX_AGE_MS);
    clock += DEFAULT_KEY_SET_MAX_AGE_MS - 1;
    await keys.key("k1");
    expect(provider.requests).toBe(1);
    clock += 1;
    await keys.key("k1");
    expect(provider.requests).toBe(2);
  });

  it("honours Cache-Control max-age", async () => {
    provider.cacheControl = "public, max-age=300, must-revalidate";
    const keys = keySet();
    await keys.key("k1");
    expect(keys.expiresAt).toBe(clock + 300_000);
  });

  it.each([
    ["max-age=1", MIN_KEY_SET_MAX_AGE_MS],
    ["max-age=0", MIN_KEY_SET_MAX_AGE_MS],
    ["no-cache", MIN_KEY_SET_MAX_AGE_MS],
    ["no-store", MIN_KEY_SET_MAX_AGE_MS],
    ["max-age=31536000", MAX_KEY_SET_MAX_AGE_MS],
    ["max-age=abc", DEFAULT_KEY_SET_MAX_AGE_MS],
  ])("clamps Cache-Control %j to a sane range", async (header, expected) => {
    provider.cacheControl = header;
    const keys = keySet();
    await keys.key("k1");
    expect(keys.expiresAt! - clock).toBe(expected);
  });

  it("makes one fetch however many callers wait (single flight)", async () => {
    provider.holding = true;
    const keys = keySet();
    const waiting = Array.from({ length: 50 }, () => keys.key("k1"));
    await vi.waitFor(() => expect(provider.requests).toBe(1));
    provider.release();
    const found = await Promise.all(waiting);
    expect(found.every((key) => key?.kid === "k1")).toBe(true);
    expect(provider.requests).toBe(1);
    expect(keys.fetches).toBe(1);
  });

  it("refetches for an unknown kid at most once per 30 s, and picks up a rotated key", async () => {
    const keys = keySet();
    await keys.key("k1");
    // Right after the first fetch, an unknown kid does not refetch.
    expect(await keys.key("made-up-1")).toBeNull();
    expect(provider.requests).toBe(1);
    clock += UNKNOWN_KID_REFETCH_MS;
    provider.keys = [rsaKey("k1"), rsaKey("k2")];
    expect(await keys.key("k2")).toMatchObject({ kid: "k2" });
    expect(provider.requests).toBe(2);
    // A flood of made-up kids within the next 30 s: no fetch at all.
    for (let i = 0; i < 100; i++) {
      clock += 100;
      expect(await keys.key(`made-up-${i}`)).toBeNull();
    }
    expect(provider.requests).toBe(2);
    clock += UNKNOWN_KID_REFETCH_MS;
    expect(await keys.key("made-up-again")).toBeNull();
    expect(provider.requests).toBe(3);
  });

  it("keeps the cached keys working while the provider is down, and logs without keys", async () => {
    const keys = keySet();
    await keys.key("k1");
    provider.down = true;
    clock += DEFAULT_KEY_SET_MAX_AGE_MS;
    expect(await keys.key("k1")).toMatchObject({ kid: "k1" });
    expect(provider.requests).toBe(2);
    // The failed fetch is not retried on every call.
    clock += FAILED_FETCH_RETRY_MS - 1;
    expect(await keys.key("k1")).toMatchObject({ kid: "k1" });
    expect(provider.requests).toBe(2);
    clock += 1;
    await keys.key("k1");
    expect(provider.requests).toBe(3);
    provider.down = false;
    clock += FAILED_FETCH_RETRY_MS;
    await keys.key("k1");
    expect(provider.requests).toBe(4);
    expect(keys.expiresAt).toBe(clock + DEFAULT_KEY_SET_MAX_AGE_MS);
    expect(errors).toHaveLength(2);
    for (const line of errors) {
      expect(line).toMatch(/^userhub: fetching the key set at https:\/\/idp\.test\/\.well-known\/jwks\.json failed \(TypeError: .*\); the cached keys stay in use$/);
      expect(line).not.toContain("sXch");
    }
  });

  it("throws KeySetUnavailableError (503) when no key was ever fetched, and retries after a pause", async () => {
    provider.down = true;
    const keys = keySet();
    const error = await keys.key("k1").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeySetUnavailableError);
    expect(error).toMatchObject({ status: 503 });
    expect((error as Error).message).toContain("JWKS_URL");
    await expect(keys.key("k1")).rejects.toBeInstanceOf(KeySetUnavailableError);
    expect(provider.requests).toBe(1);
    clock += FAILED_FETCH_RETRY_MS;
    provider.down = false;
    expect(await keys.key("k1")).toMatchObject({ kid: "k1" });
    expect(provider.requests).toBe(2);
  });

  it.each([
    ["an HTTP error", () => new Response("nope", { status: 500 })],
    ["not JSON", () => new Response("<html>")],
    ["no keys array", () => Response.json({ keys: "k1" })],
  ])("treats %s as a failed fetch", async (_name, answer) => {
    const keys = new JwksKeySet(URL_, { fetch: async () => answer(), now: () => clock });
    await expect(keys.key("k1")).rejects.toBeInstanceOf(KeySetUnavailableError);
    expect(errors).toHaveLength(1);
  });

  it("refuses a document over 256 KiB by Content-Length without reading its body", async () => {
    let pulled = 0;
    // It says 300 MiB and holds 8 MiB at most, so that a regression reads it whole and fails instead of eating memory.
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled >= 128) return controller.close();
        pulled++;
        controller.enqueue(new Uint8Array(64 * 1024));
      },
    });
    const keys = new JwksKeySet(URL_, { fetch: async () => new Response(body, { headers: { "Content-Length": String(300 * 1024 * 1024) } }), now: () => clock });
    await expect(keys.key("k1")).rejects.toBeInstanceOf(KeySetUnavailableError);
    expect(pulled).toBeLessThanOrEqual(2); // the stream's own read-ahead at most; never the document
    expect(errors[0]).toMatch(/larger than 262144 bytes/);
  });

  it("stops reading a large stream without Content-Length at 256 KiB", async () => {
    let sent = 0;
    // 8 MiB at most, so that a regression reads it whole and fails instead of eating memory.
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 8 * 1024 * 1024) return controller.close();
        sent += 64 * 1024;
        controller.enqueue(new Uint8Array(64 * 1024).fill(0x20));
      },
    });
    const keys = new JwksKeySet(URL_, { fetch: async () => new Response(body), now: () => clock });
    await expect(keys.key("k1")).rejects.toBeInstanceOf(KeySetUnavailableError);
    expect(sent).toBeLessThanOrEqual(512 * 1024);
    expect(errors[0]).toMatch(/larger than 262144 bytes/);
  });

  it("lets the fetch timeout cover the body: a trickling answer fails at the timeout", async () => {
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"keys":['));
      },
      cancel() {
        cancelled = true;
      },
    });
    const keys = new JwksKeySet(URL_, { fetch: async () => new Response(body), now: () => clock, fetchTimeoutMs: 50 });
    await expect(keys.key("k1")).rejects.toBeInstanceOf(KeySetUnavailableError);
    expect(cancelled).toBe(true);
    expect(errors[0]).toMatch(/fetch timeout/);
  });

  it("keeps only public signing keys: no oct keys, no encryption keys, no private parts", async () => {
    provider.keys = [
      { kty: "oct", kid: "hmac", k: "c2VjcmV0" },
      { ...rsaKey("enc"), use: "enc" },
      { ...rsaKey("leaky"), d: "private-exponent", p: "p", q: "q" },
      { kty: "RSA", n: "sXch", e: "AQAB" }, // no kid
    ];
    const keys = keySet();
    expect(await keys.key("hmac")).toBeNull();
    expect(await keys.key("enc")).toBeNull();
    const leaky = await keys.key("leaky");
    expect(leaky).toMatchObject({ kid: "leaky", kty: "RSA" });
    expect(leaky).not.toHaveProperty("d");
    expect(leaky).not.toHaveProperty("p");
  });
});
