/**
 * userhub's defaults as the bench quotes them, imported from src/ (never
 * restated), so that a changed default changes the bench's extrapolations,
 * cost model and report with it.
 */
import { DEFAULT_CONFIG } from "../../src/hub/config.ts";

/** The heartbeat clients run with by default (the welcome announces it). */
export const DEFAULT_HEARTBEAT = DEFAULT_CONFIG.heartbeat;
/** The janitor alarm's period by default. */
export const DEFAULT_HEARTBEAT_SWEEP_MS = DEFAULT_CONFIG.heartbeatSweepMs;
/** Deliveries a user's log keeps by default (LOG_RETENTION). */
export const DEFAULT_LOG_RETENTION = DEFAULT_CONFIG.logRetention;

/** The defaults a run records with its results, so that its report quotes what its numbers were extrapolated to. */
export interface UserhubDefaults {
  readonly heartbeat: { readonly intervalMs: number; readonly timeoutMs: number };
  readonly heartbeatSweepMs: number;
  readonly logRetention: number;
}

/** userhub's defaults now. */
export const USERHUB_DEFAULTS: UserhubDefaults = {
  heartbeat: DEFAULT_HEARTBEAT,
  heartbeatSweepMs: DEFAULT_HEARTBEAT_SWEEP_MS,
  logRetention: DEFAULT_LOG_RETENTION,
};

/** A heartbeat as the report writes it: `30 s / 75 s`. */
export const heartbeatText = (heartbeat: UserhubDefaults["heartbeat"]) => `${heartbeat.intervalMs / 1000} s / ${heartbeat.timeoutMs / 1000} s`;
