import { env } from "cloudflare:test";
import { describe, expect, it, test } from "vitest";
import { ConfigError, DEFAULT_CONFIG, readHubConfig } from "../../src/index.ts";
import { readList } from "../../src/host.ts";

/** The ConfigError that `read` throws. */
function configError(read: () => unknown): ConfigError {
  try {
    read();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

type HubConfig = ReturnType<typeof readHubConfig>;

const NUMERIC_VARS: [string, keyof HubConfig][] = [
  ["MAX_MESSAGE_BYTES", "maxMessageBytes"],
  ["MAX_CONNECTIONS_PER_USER", "maxConnectionsPerUser"],
  ["MAX_QUEUED_BYTES", "maxQueuedBytes"],
  ["LOG_RETENTION", "logRetention"],
  ["LOG_RETENTION_MS", "logRetentionMs"],
  ["LOG_RETENTION_BYTES", "logRetentionBytes"],
  ["TICKET_TTL_MS", "ticketTtlMs"],
  ["CONNECTIONS_PER_MINUTE", "connectionsPerMinute"],
  ["TICKETS_PER_MINUTE", "ticketsPerMinute"],
  ["DIRECT_DELIVERIES_PER_MINUTE", "directDeliveriesPerMinute"],
  ["MAX_UNACKED_BYTES", "maxUnackedBytes"],
  ["MAX_MESSAGE_BACKLOG", "maxMessageBacklog"],
];

describe("readHubConfig", () => {
  it("takes the defaults when nothing is set", () => {
    expect(readHubConfig({})).toEqual(DEFAULT_CONFIG);
  });

  it("treats empty, null and undefined as unset", () => {
    const blank = Object.fromEntries(
      ["HEARTBEAT_INTERVAL_MS", "HEARTBEAT_TIMEOUT_MS", ...NUMERIC_VARS.map(([name]) => name)].map((name, i) => [name, [undefined, null, ""][i % 3]]),
    );
    expect(readHubConfig(blank)).toEqual(DEFAULT_CONFIG);
  });

  it("reads the Worker's bindings (vitest.config.ts overrides)", () => {
    const config = readHubConfig(env as unknown as Record<string, unknown>);
    expect(config.heartbeat).toEqual({ intervalMs: 1000, timeoutMs: 3000 });
    expect(config.maxMessageBytes).toBe(1024);
    expect(config.maxConnectionsPerUser).toBe(4);
    expect(config.logRetentionBytes).toBe(4194304);
    expect(config.maxUnackedBytes).toBe(524288);
  });

  test.each(NUMERIC_VARS)("parses %s into %s, leaving the rest at their defaults", (name, key) => {
    // LOG_RETENTION_BYTES alone also moves MAX_UNACKED_BYTES's default (half of it; see below).
    const follows = name === "LOG_RETENTION_BYTES" ? { maxUnackedBytes: 617 } : {};
    expect(readHubConfig({ [name]: "1234" })).toEqual({ ...DEFAULT_CONFIG, [key]: 1234, ...follows });
  });

  it("MAX_UNACKED_BYTES defaults to half of LOG_RETENTION_BYTES, so that a client closed past it can resume from the log", () => {
    expect(DEFAULT_CONFIG.maxUnackedBytes).toBe(DEFAULT_CONFIG.logRetentionBytes / 2);
    expect(DEFAULT_CONFIG.maxUnackedBytes).toBe(524288);
    expect(readHubConfig({ LOG_RETENTION_BYTES: "100000" })).toMatchObject({ logRetentionBytes: 100000, maxUnackedBytes: 50000 });
    expect(readHubConfig({ LOG_RETENTION_BYTES: "4194304" }).maxUnackedBytes).toBe(2097152);
    expect(readHubConfig({ LOG_RETENTION_BYTES: "1" }).maxUnackedBytes).toBe(1);
    // Set, it is taken as it is, up to the log's bytes.
    expect(readHubConfig({ LOG_RETENTION_BYTES: "100000", MAX_UNACKED_BYTES: "8192" }).maxUnackedBytes).toBe(8192);
    expect(readHubConfig({ LOG_RETENTION_BYTES: "100000", MAX_UNACKED_BYTES: "100000" }).maxUnackedBytes).toBe(100000);
    expect(readHubConfig({ MAX_UNACKED_BYTES: "1048576" }).maxUnackedBytes).toBe(1048576);
  });

  test.each<[string, Record<string, string>]>([
    ["above a set LOG_RETENTION_BYTES", { LOG_RETENTION_BYTES: "100000", MAX_UNACKED_BYTES: "100001" }],
    ["above the default LOG_RETENTION_BYTES", { MAX_UNACKED_BYTES: "1048577" }],
  ])("MAX_UNACKED_BYTES %s → ConfigError naming it and LOG_RETENTION_BYTES", (_what, vars) => {
    const error = configError(() => readHubConfig(vars));
    expect(error.variable).toBe("MAX_UNACKED_BYTES");
    expect(error.message).toMatch(/^MAX_UNACKED_BYTES: must be at most LOG_RETENTION_BYTES \(\d+\)/);
  });

  it("trims spaces and accepts numbers", () => {
    expect(readHubConfig({ MAX_MESSAGE_BYTES: " 2048 " }).maxMessageBytes).toBe(2048);
    expect(readHubConfig({ MAX_MESSAGE_BYTES: 2048 }).maxMessageBytes).toBe(2048);
  });

  it("uses both heartbeat values when both are set", () => {
    expect(readHubConfig({ HEARTBEAT_INTERVAL_MS: "1000", HEARTBEAT_TIMEOUT_MS: "3000" }).heartbeat).toEqual({ intervalMs: 1000, timeoutMs: 3000 });
  });

  test.each<[string, { intervalMs: number; timeoutMs: number }]>([
    ["3000", { intervalMs: 1200, timeoutMs: 3000 }],
    ["10000", { intervalMs: 4000, timeoutMs: 10000 }],
    // Never above the default interval, however long the timeout.
    ["300000", { intervalMs: 30000, timeoutMs: 300000 }],
    // The interval stays at least 1 ms.
    ["2", { intervalMs: 1, timeoutMs: 2 }],
  ])("HEARTBEAT_TIMEOUT_MS=%s alone moves the interval to keep the 2.5 ratio", (timeout, heartbeat) => {
    expect(readHubConfig({ HEARTBEAT_TIMEOUT_MS: timeout }).heartbeat).toEqual(heartbeat);
  });

  test.each<[string, { intervalMs: number; timeoutMs: number }]>([
    ["60000", { intervalMs: 60000, timeoutMs: 150000 }],
    ["40001", { intervalMs: 40001, timeoutMs: 100003 }],
    // A shorter interval keeps the default timeout, which is already more than 2.5 intervals.
    ["1000", { intervalMs: 1000, timeoutMs: 75000 }],
  ])("HEARTBEAT_INTERVAL_MS=%s alone moves the timeout to at least 2.5 intervals", (interval, heartbeat) => {
    const config = readHubConfig({ HEARTBEAT_INTERVAL_MS: interval });
    expect(config.heartbeat).toEqual(heartbeat);
    expect(config.heartbeat.timeoutMs).toBeGreaterThanOrEqual(config.heartbeat.intervalMs * 2.5);
  });

  test.each<[string, Record<string, string>]>([
    ["timeout equal to interval", { HEARTBEAT_INTERVAL_MS: "1000", HEARTBEAT_TIMEOUT_MS: "1000" }],
    ["timeout shorter than interval", { HEARTBEAT_INTERVAL_MS: "5000", HEARTBEAT_TIMEOUT_MS: "3000" }],
    ["timeout of 1 alone (interval floors at 1)", { HEARTBEAT_TIMEOUT_MS: "1" }],
  ])("%s → ConfigError naming HEARTBEAT_TIMEOUT_MS", (_name, vars) => {
    const error = configError(() => readHubConfig(vars));
    expect(error.variable).toBe("HEARTBEAT_TIMEOUT_MS");
    expect(error.message).toMatch(/^HEARTBEAT_TIMEOUT_MS: /);
    expect(error.message).toContain("HEARTBEAT_INTERVAL_MS");
  });

  test.each(["HEARTBEAT_INTERVAL_MS", "HEARTBEAT_TIMEOUT_MS"])("%s past 2147483647 ms (a client's setTimeout would fire at once) → ConfigError naming it", (name) => {
    expect(readHubConfig({ HEARTBEAT_INTERVAL_MS: "2147483646", HEARTBEAT_TIMEOUT_MS: "2147483647" }).heartbeat).toEqual({ intervalMs: 2147483646, timeoutMs: 2147483647 });
    const error = configError(() => readHubConfig({ [name]: "3000000000" }));
    expect(error.variable).toBe(name);
    expect(error.message).toBe(`${name}: must be at most 2147483647, got 3000000000`);
  });

  it("keeps a timeout moved by a long interval within what a timer takes", () => {
    expect(readHubConfig({ HEARTBEAT_INTERVAL_MS: "2000000000" }).heartbeat).toEqual({ intervalMs: 2000000000, timeoutMs: 2147483647 });
  });

  const ALL_VARS = ["HEARTBEAT_INTERVAL_MS", "HEARTBEAT_TIMEOUT_MS", ...NUMERIC_VARS.map(([name]) => name)];
  const BAD_VALUES: unknown[] = ["abc", "0", "-5", "1.5", "12abc", 0, -1, 2.5, Number.NaN, true, "9007199254740993", "1e3", "0x10", "+5", " "];
  describe.each(ALL_VARS)("%s", (name) => {
    test.each(BAD_VALUES)("%j → ConfigError naming it", (value) => {
      const error = configError(() => readHubConfig({ [name]: value }));
      expect(error.variable).toBe(name);
      expect(error.message).toMatch(new RegExp(`^${name}: must be a positive whole number`));
    });
  });
});

describe("readList", () => {
  test.each<[unknown, string[]]>([
    [undefined, []],
    [null, []],
    ["", []],
    [" , ,", []],
    ["https://a.example", ["https://a.example"]],
    ["https://a.example, https://b.example ,,", ["https://a.example", "https://b.example"]],
  ])("%j → %j", (value, list) => {
    expect(readList({ ALLOWED_ORIGINS: value }, "ALLOWED_ORIGINS")).toEqual(list);
  });

  it("treats a missing variable as no list", () => {
    expect(readList({}, "ALLOWED_ORIGINS")).toEqual([]);
  });

  test.each<unknown>([42, true, ["https://a.example"]])("%j → ConfigError naming the variable", (value) => {
    const error = configError(() => readList({ ALLOWED_ORIGINS: value }, "ALLOWED_ORIGINS"));
    expect(error.variable).toBe("ALLOWED_ORIGINS");
  });
});
