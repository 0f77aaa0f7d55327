import { DEFAULT_RETENTION, type RetentionPolicy } from "./retention.ts";
import { DEFAULT_HEARTBEAT } from "./heartbeat.ts";
import { DEFAULT_HEARTBEAT_SWEEP_MS } from "./zombie-sweep.ts";
import { DEFAULT_TICKET_TTL_MS } from "./ticket.ts";
import { type HeartbeatSettings, MAX_TIMER_DELAY_MS } from "../protocol/frames.ts";
import type { SocketRateSettings } from "./socket-rate-limit.ts";

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
  /** Each socket's frame and byte budgets: past them a frame is refused with `rate_limited`, and a socket that stays past them is closed with 1008. */
  readonly rate: SocketRateSettings;
  /** New connections one user may open per minute (counted by the user's hub); past it, 429 with `Retry-After`. */
  readonly connectionsPerMinute: number;
  /** Connect tickets one user may get per minute; past it, 429 with `Retry-After`. */
  readonly ticketsPerMinute: number;
  /** Deliveries one other user may put into this user's log per minute (`hub.users.deliver`); past it, the sender's frame gets `rate_limited`. */
  readonly directDeliveriesPerMinute: number;
  /**
   * Delivery bytes an acknowledging client (`?ack=1`) may leave unacknowledged before it is closed with
   * `CloseCode.SlowConsumer`: by default half of `logRetentionBytes`, never more than it, so that such a client
   * resumes from the log (the other half takes what arrives before it is back).
   */
  readonly maxUnackedBytes: number;
  /** Frames of one socket waiting for the hub on hosts that would otherwise handle them all at once (Deno); past it the socket is closed with 1008. */
  readonly maxMessageBacklog: number;
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
  // Far above what an honest client sends (a ping every 30 s, its own sends, one acknowledgment per 128 KiB received);
  // the bursts hold the client's whole send queue (1000 frames, 1 MiB) drained at once after a reconnect.
  rate: { framesPerSecond: 100, frameBurst: 1200, bytesPerSecond: 1024 * 1024, byteBurst: 2 * 1024 * 1024, closeAfterMs: 3000, penaltyMs: 30_000 },
  connectionsPerMinute: 60,
  ticketsPerMinute: 60,
  // A sender alone would need 16 minutes to push the default log's 1000 deliveries out of its retention.
  directDeliveriesPerMinute: 60,
  // Half of logRetentionBytes (readHubConfig keeps it so when LOG_RETENTION_BYTES is set alone).
  maxUnackedBytes: DEFAULT_RETENTION.bytes / 2,
  // Above the frame burst: what the rate limit lets through at once must fit, or an honest drained queue would be closed.
  maxMessageBacklog: 2048,
};

/**
 * Reads a hub's configuration from string variables (Worker `vars`, Deno's
 * environment). Missing variables take the defaults.
 *
 * @throws {ConfigError} for a value that is not a positive whole number, a
 * heartbeat timeout not longer than the interval, a byte burst below the
 * largest frame, or an unacknowledged-bytes bound above the log's bytes.
 *
 * @example
 * ```ts
 * const config = readHubConfig({ HEARTBEAT_TIMEOUT_MS: "3000", HEARTBEAT_INTERVAL_MS: "1000" });
 * config.heartbeat.timeoutMs; // 3000
 * ```
 */
export function readHubConfig(vars: Readonly<Record<string, unknown>>): HubConfig {
  // Setting one heartbeat variable moves the other's default only where the default would break the ratio (a
  // timeout of 2.5 intervals): a shorter timeout shortens the interval, so `--var HEARTBEAT_TIMEOUT_MS:3000` alone
  // works, and a longer interval lengthens the timeout. Pings no rarer than the default's keep proxies' idle timers
  // happy, and a timeout is never shortened unless asked for.
  const ratio = DEFAULT_CONFIG.heartbeat.timeoutMs / DEFAULT_CONFIG.heartbeat.intervalMs;
  const givenTimeout = positiveInteger(vars, "HEARTBEAT_TIMEOUT_MS", 0, MAX_TIMER_DELAY_MS);
  const intervalMs = positiveInteger(
    vars,
    "HEARTBEAT_INTERVAL_MS",
    givenTimeout > 0 ? Math.max(1, Math.min(DEFAULT_CONFIG.heartbeat.intervalMs, Math.floor(givenTimeout / ratio))) : DEFAULT_CONFIG.heartbeat.intervalMs,
    MAX_TIMER_DELAY_MS,
  );
  const timeoutMs = givenTimeout > 0 ? givenTimeout : Math.min(MAX_TIMER_DELAY_MS, Math.max(DEFAULT_CONFIG.heartbeat.timeoutMs, Math.ceil(intervalMs * ratio)));
  if (timeoutMs <= intervalMs) {
    throw new ConfigError("HEARTBEAT_TIMEOUT_MS", `must be longer than HEARTBEAT_INTERVAL_MS (${intervalMs}), got ${timeoutMs}`);
  }
  const maxMessageBytes = positiveInteger(vars, "MAX_MESSAGE_BYTES", DEFAULT_CONFIG.maxMessageBytes);
  const rate = DEFAULT_CONFIG.rate;
  const byteBurst = positiveInteger(vars, "RATE_LIMIT_BYTE_BURST", Math.max(rate.byteBurst, maxMessageBytes));
  if (byteBurst < maxMessageBytes) {
    throw new ConfigError("RATE_LIMIT_BYTE_BURST", `must be at least MAX_MESSAGE_BYTES (${maxMessageBytes}), or no largest frame could ever pass; got ${byteBurst}`);
  }
  const logRetentionBytes = positiveInteger(vars, "LOG_RETENTION_BYTES", DEFAULT_CONFIG.logRetentionBytes);
  // A client closed past this bound resumes from its last acknowledged seq: the log must still hold what it left unacknowledged.
  const maxUnackedBytes = positiveInteger(vars, "MAX_UNACKED_BYTES", Math.max(1, Math.floor(logRetentionBytes / 2)));
  if (maxUnackedBytes > logRetentionBytes) {
    throw new ConfigError(
      "MAX_UNACKED_BYTES",
      `must be at most LOG_RETENTION_BYTES (${logRetentionBytes}), or a client closed for it could not resume from the log (half of it, the default, leaves room for what arrives meanwhile); got ${maxUnackedBytes}`,
    );
  }
  return {
    heartbeat: { intervalMs, timeoutMs },
    heartbeatSweepMs: positiveInteger(vars, "HEARTBEAT_SWEEP_MS", DEFAULT_CONFIG.heartbeatSweepMs),
    maxMessageBytes,
    maxConnectionsPerUser: positiveInteger(vars, "MAX_CONNECTIONS_PER_USER", DEFAULT_CONFIG.maxConnectionsPerUser),
    maxQueuedBytes: positiveInteger(vars, "MAX_QUEUED_BYTES", DEFAULT_CONFIG.maxQueuedBytes),
    logRetention: positiveInteger(vars, "LOG_RETENTION", DEFAULT_CONFIG.logRetention),
    logRetentionMs: positiveInteger(vars, "LOG_RETENTION_MS", DEFAULT_CONFIG.logRetentionMs),
    logRetentionBytes,
    ticketTtlMs: positiveInteger(vars, "TICKET_TTL_MS", DEFAULT_CONFIG.ticketTtlMs),
    rate: {
      framesPerSecond: positiveInteger(vars, "RATE_LIMIT_FRAMES_PER_SECOND", rate.framesPerSecond),
      frameBurst: positiveInteger(vars, "RATE_LIMIT_FRAME_BURST", rate.frameBurst),
      bytesPerSecond: positiveInteger(vars, "RATE_LIMIT_BYTES_PER_SECOND", rate.bytesPerSecond),
      byteBurst,
      closeAfterMs: positiveInteger(vars, "RATE_LIMIT_CLOSE_AFTER_MS", rate.closeAfterMs),
      penaltyMs: positiveInteger(vars, "RATE_LIMIT_PENALTY_MS", rate.penaltyMs),
    },
    connectionsPerMinute: positiveInteger(vars, "CONNECTIONS_PER_MINUTE", DEFAULT_CONFIG.connectionsPerMinute),
    ticketsPerMinute: positiveInteger(vars, "TICKETS_PER_MINUTE", DEFAULT_CONFIG.ticketsPerMinute),
    directDeliveriesPerMinute: positiveInteger(vars, "DIRECT_DELIVERIES_PER_MINUTE", DEFAULT_CONFIG.directDeliveriesPerMinute),
    maxUnackedBytes,
    maxMessageBacklog: positiveInteger(vars, "MAX_MESSAGE_BACKLOG", DEFAULT_CONFIG.maxMessageBacklog),
  };
}

/** Splits a comma-separated allow-list such as `ALLOWED_ORIGINS`; empty means no list. */
export function readList(vars: Readonly<Record<string, unknown>>, name: string): string[] {
  const value = vars[name];
  if (value === undefined || value === null || value === "") return [];
  if (typeof value !== "string") throw new ConfigError(name, "must be a comma-separated string");
  return value.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
}

function positiveInteger(vars: Readonly<Record<string, unknown>>, name: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  const value = vars[name];
  if (value === undefined || value === null || value === "") return fallback;
  // Digits only: `Number()` would also take "1e3", "0x10" and "1_000"-like surprises.
  const text = typeof value === "number" ? String(value) : String(value).trim();
  const number = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(number) || number <= 0) {
    throw new ConfigError(name, `must be a positive whole number, got ${JSON.stringify(value)}`);
  }
  if (number > max) throw new ConfigError(name, `must be at most ${max}, got ${number}`);
  return number;
}

/** The retention policy a configuration describes. */
export function retentionOf(config: HubConfig): RetentionPolicy {
  return { count: config.logRetention, ageMs: config.logRetentionMs, bytes: config.logRetentionBytes };
}
