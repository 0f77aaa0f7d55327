/**
 * Cloudflare's published prices for the Workers Paid plan, as the cost model
 * uses them. Each number is copied from the pages below; none is from memory.
 * The stored copies of both pages carry no "Last updated" stamp, so the date
 * given is the day they were read (through the docs index), with the
 * cloudflare-docs source file and commit the text was checked against.
 */

export interface PriceSource {
  readonly page: string;
  readonly read: string;
  readonly sourceFile: string;
}

export const PRICE_SOURCES: Readonly<Record<"durableObjects" | "workers", PriceSource>> = {
  durableObjects: {
    page: "https://developers.cloudflare.com/durable-objects/platform/pricing/",
    read: "2026-11-26",
    sourceFile: "cloudflare/cloudflare-docs: src/content/partials/durable-objects/durable-objects-pricing.mdx @ 5a9f050d5eafc293ba852b2bcedef2591468aaf8",
  },
  workers: {
    page: "https://developers.cloudflare.com/workers/platform/pricing/",
    read: "2026-11-26",
    sourceFile: "cloudflare/cloudflare-docs: src/content/docs/workers/platform/pricing.mdx @ 07acbb6612b5cefa1f8348106c158b0814a2972a",
  },
};

/** Workers Paid plan, Standard usage model. */
export const WORKERS = {
  /** "a minimum charge of $5 USD per month for an account" */
  monthlyMinimumUsd: 5,
  /** "10 million included per month +$0.30 per additional million"; a WebSocket connection is one request (its Upgrade). */
  requestsIncluded: 10_000_000,
  usdPerMillionRequests: 0.3,
  /** "30 million CPU milliseconds included per month +$0.02 per additional million CPU milliseconds" */
  cpuMsIncluded: 30_000_000,
  usdPerMillionCpuMs: 0.02,
} as const;

/** Durable Objects on the Workers Paid plan. */
export const DURABLE_OBJECTS = {
  /** "1 million, + $0.15/million": HTTP requests, RPC sessions, WebSocket messages and alarm invocations. */
  requestsIncluded: 1_000_000,
  usdPerMillionRequests: 0.15,
  /**
   * "a 20:1 ratio is applied to incoming WebSocket messages"; "no charge for
   * outgoing WebSocket messages, nor for incoming WebSocket protocol pings";
   * auto-responses (setWebSocketAutoResponse) "will not be charged".
   */
  incomingMessagesPerRequest: 20,
  /** "400,000 GB-s, + $12.50/million GB-s" */
  gbSecondsIncluded: 400_000,
  usdPerMillionGbSeconds: 12.5,
  /** "the 128 MB of memory your Durable Object is allocated"; the page's own example counts it as 128 MB / 1 GB = 0.128 GB. */
  gbPerObject: 0.128,
  /** SQLite storage backend: "First 25 billion / month included + $0.001 / million rows" read. */
  rowsReadIncluded: 25_000_000_000,
  usdPerMillionRowsRead: 0.001,
  /** "First 50 million / month included + $1.00 / million rows" written; "Each setAlarm() is billed as a single row written"; "Deletes are counted as rows written". */
  rowsWrittenIncluded: 50_000_000,
  usdPerMillionRowsWritten: 1.0,
  /** "5 GB-month, + $0.20/ GB-month" */
  storageGbMonthIncluded: 5,
  usdPerGbMonth: 0.2,
} as const;

/** The billing rules the model relies on, quoted, for the report. */
export const BILLING_RULES: readonly string[] = [
  "Durable Objects are billed for duration while actively running or idle in memory but unable to hibernate; objects idle and eligible for hibernation are not billed for duration, even before the runtime hibernates them.",
  "Calling accept() on a WebSocket (the standard API) incurs duration charges for the entire time the WebSocket is connected; acceptWebSocket() stops them once all event handlers finish.",
  "Incoming WebSocket messages are billed as requests at 20:1; outgoing messages, protocol pings and setWebSocketAutoResponse answers are not charged.",
  "Each alarm invocation is a request; each setAlarm() is one row written; deletes are rows written.",
  "A WebSocket connection to a Worker is one Worker request (its Upgrade); messages through it are not Worker requests.",
];
