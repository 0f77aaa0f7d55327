import { DEFAULT_RETENTION, type RetentionPolicy } from "./delivery-log.ts";
import { DEFAULT_HEARTBEAT } from "./heartbeat.ts";
import { DEFAULT_HEARTBEAT_SWEEP_MS } from "./zombie-sweep.ts";
import { DEFAULT_TICKET_TTL_MS } from "./ticket.ts";
import type { HeartbeatSettings } from "./protocol.ts";

/** A configuration value that cannot be used, named so that a deployer can fix it. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  /** The variable at fault, e.g. `HEARTBEAT_TIMEOUT_MS`. */
  readonly variable: string;

  constructor(variable: string, message: string, options: { cause?: unknown } = {}) {
    super(`${variable}: ${message}`, options);
    this.variable = variable;
  }
}

/** Everything a hub's behaviour depends on. */
export interface HubConfig {
  readonly heartbeat: HeartbeatSettings;
  /** How often the janitor alarm closes stale sockets of a hub that nothing else wakes (every wake closes them anyway). */
  readonly heartbeatSweepMs: number;
  /** Larger frames close their socket with 1009. */
  readonly maxMessageBytes: number;
  /** A user's open sockets; one more is refused with 429 before the upgrade. */
  readonly maxConnectionsPerUser: number;
  /** Bytes that may wait for one slow socket before it is closed with `CloseCode.SlowConsumer`. */
  readonly maxQueuedBytes: number;
  /** Deliveries the hub keeps for replay (the rest are pruned, oldest first). */
  readonly logRetention: number;
  /** How long the hub keeps a delivery (and remembers an idempotency key), in milliseconds. */
  readonly logRetentionMs: number;
  /** Payload bytes the hub keeps for replay. */
  readonly logRetentionBytes: number;
  /** How long a connect ticket stays good, in milliseconds. */
  readonly ticketTtlMs: number;
}

/** The defaults, also listed in the README's configuration table. */
export const DEFAULT_CONFIG: HubConfig = {
  heartbeat: DEFAULT_HEARTBEAT,
  heartbeatSweepMs: DEFAULT_HEARTBEAT_SWEEP_MS,
  maxMessageBytes: 64 * 1024,
  maxConnectionsPerUser: 32,
  maxQueuedBytes: 1024 * 1024,
  logRetention: DEFAULT_RETENTION.count,
  logRetentionMs: DEFAULT_RETENTION.ageMs,
  logRetentionBytes: DEFAULT_RETENTION.bytes,
  ticketTtlMs: DEFAULT_TICKET_TTL_MS,
};

/**
 * Reads a hub's configuration from string variables (Worker `vars`, Deno's
 * environment). Missing variables take the defaults.
 *
 * @throws {ConfigError} for a value that is not a positive whole number, or
 * a heartbeat timeout not longer than the interval.
 *
 * @example
 * ```ts
 * const config = readHubConfig({ HEARTBEAT_TIMEOUT_MS: "3000", HEARTBEAT_INTERVAL_MS: "1000" });
 * config.heartbeat.timeoutMs; // 3000
 * ```
 */
export function readHubConfig(vars: Readonly<Record<string, unknown>>): HubConfig {
  // Setting one heartbeat variable moves the other's default with it, keeping
  // the default ratio (a timeout of 2.5 intervals), so `--var HEARTBEAT_TIMEOUT_MS:3000` alone works.
  const ratio = DEFAULT_CONFIG.heartbeat.timeoutMs / DEFAULT_CONFIG.heartbeat.intervalMs;
  const givenTimeout = positiveInteger(vars, "HEARTBEAT_TIMEOUT_MS", 0);
  const intervalMs = positiveInteger(
    vars,
    "HEARTBEAT_INTERVAL_MS",
    givenTimeout > 0 ? Math.max(1, Math.min(DEFAULT_CONFIG.heartbeat.intervalMs, Math.floor(givenTimeout / ratio))) : DEFAULT_CONFIG.heartbeat.intervalMs,
  );
  const timeoutMs = givenTimeout > 0 ? givenTimeout : Math.max(DEFAULT_CONFIG.heartbeat.timeoutMs, Math.ceil(intervalMs * ratio));
  if (timeoutMs <= intervalMs) {
    throw new ConfigError("HEARTBEAT_TIMEOUT_MS", `must be longer than HEARTBEAT_INTERVAL_MS (${intervalMs}), got ${timeoutMs}`);
  }
  return {
    heartbeat: { intervalMs, timeoutMs },
    heartbeatSweepMs: positiveInteger(vars, "HEARTBEAT_SWEEP_MS", DEFAULT_CONFIG.heartbeatSweepMs),
    maxMessageBytes: positiveInteger(vars, "MAX_MESSAGE_BYTES", DEFAULT_CONFIG.maxMessageBytes),
    maxConnectionsPerUser: positiveInteger(vars, "MAX_CONNECTIONS_PER_USER", DEFAULT_CONFIG.maxConnectionsPerUser),
    maxQueuedBytes: positiveInteger(vars, "MAX_QUEUED_BYTES", DEFAULT_CONFIG.maxQueuedBytes),
    logRetention: positiveInteger(vars, "LOG_RETENTION", DEFAULT_CONFIG.logRetention),
    logRetentionMs: positiveInteger(vars, "LOG_RETENTION_MS", DEFAULT_CONFIG.logRetentionMs),
    logRetentionBytes: positiveInteger(vars, "LOG_RETENTION_BYTES", DEFAULT_CONFIG.logRetentionBytes),
    ticketTtlMs: positiveInteger(vars, "TICKET_TTL_MS", DEFAULT_CONFIG.ticketTtlMs),
  };
}

/** Splits a comma-separated allow-list such as `ALLOWED_ORIGINS`; empty means no list. */
export function readList(vars: Readonly<Record<string, unknown>>, name: string): string[] {
  const value = vars[name];
  if (value === undefined || value === null || value === "") return [];
  if (typeof value !== "string") throw new ConfigError(name, "must be a comma-separated string");
  return value.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
}

function positiveInteger(vars: Readonly<Record<string, unknown>>, name: string, fallback: number): number {
  const value = vars[name];
  if (value === undefined || value === null || value === "") return fallback;
  // Digits only: `Number()` would also take "1e3", "0x10" and "1_000"-like surprises.
  const text = typeof value === "number" ? String(value) : String(value).trim();
  const number = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(number) || number <= 0) {
    throw new ConfigError(name, `must be a positive whole number, got ${JSON.stringify(value)}`);
  }
  return number;
}

/** The retention policy a configuration describes. */
export function retentionOf(config: HubConfig): RetentionPolicy {
  return { count: config.logRetention, ageMs: config.logRetentionMs, bytes: config.logRetentionBytes };
}
