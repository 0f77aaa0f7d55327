/**
 * The two sizes of a run. `full` is what `npm run bench` does (about eight
 * minutes on this 2-core machine: five short rounds rather than three long
 * ones, because the machine is shared and a median of five shrugs off two
 * disturbed rounds); `smoke` is the same harness with tiny
 * counts, for the test that keeps it from rotting (seconds).
 */
import type { BenchOptions } from "./bench-results.ts";

export const FULL: BenchOptions = {
  targets: ["userhub", "userhub-signal", "floor", "floor-log", "partyserver", "hono-do", "node-ws"],
  rounds: 5,
  warmupMs: 300,
  durationMs: 1200,
  echoConnections: [1, 10, 100],
  fanOutSockets: 100,
  pushConcurrency: 8,
  pushDevices: 2,
  idleSockets: 1000,
  idleDevices: 2,
  idleSettleMs: 2000,
  wakesHubs: 10,
  wakesDevices: 2,
  wakesMs: 12_000,
  wakesEmptyMs: 6_500,
  coldHubs: 5,
  // Enough messages that a batched prune, if the log made one, would show in rows per message.
  coldWarmIterations: 64,
  coldIterations: 20,
  // Past userhub's 1,000-delivery retention, as a long-lived user's log is: its ring is full, so each delivery rewrites a row.
  coldLogFill: 1131,
  heartbeat: { intervalMs: 1000, timeoutMs: 3000 },
  drivingMethods: true,
  drivingMs: 2000,
  profileMs: 3000,
  storage: "memory",
};

export const SMOKE: BenchOptions = {
  targets: ["userhub", "userhub-signal", "floor", "floor-log"],
  rounds: 1,
  warmupMs: 100,
  durationMs: 300,
  echoConnections: [1, 2],
  fanOutSockets: 3,
  pushConcurrency: 2,
  pushDevices: 2,
  idleSockets: 6,
  idleDevices: 2,
  idleSettleMs: 100,
  wakesHubs: 2,
  wakesDevices: 2,
  wakesMs: 1_600,
  wakesEmptyMs: 1_300,
  coldHubs: 2,
  coldWarmIterations: 2,
  coldIterations: 2,
  coldLogFill: 100,
  heartbeat: { intervalMs: 400, timeoutMs: 1_000 },
  drivingMethods: false,
  drivingMs: 300,
  profileMs: 300,
  storage: "memory",
};
