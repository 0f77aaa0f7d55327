/**
 * The two sizes of a run. `full` is what `npm run bench` does (about ten
 * minutes on this 2-core machine: five short rounds rather than three long
 * ones, because the machine is shared and a median of five shrugs off two
 * disturbed rounds); `smoke` is the same harness with tiny
 * counts, for the test that keeps it from rotting (under 30 s).
 */
import type { BenchOptions } from "./bench-results.ts";
import { DEFAULT_LOG_RETENTION } from "./userhub-defaults.ts";

export const FULL: BenchOptions = {
  // The last eight take userhub's misses apart in the same rounds (the goals' explanations cite them): the floor + JSON,
  // userhub's row in its ring in the floor's object and in userhub's, run only the echo; the floor + log with an alarm set, and userhub's object waking (its row by
  // INSERT, by the log itself, by its hub's deliver), only cold wakes.
  targets: ["userhub", "userhub-signal", "floor", "floor-again", "floor-log", "partyserver", "hono-do", "node-ws", "floor-json", "floor-ring", "layout-slot", "floor-log-alarm", "wake-built", "wake-log", "wake-deliver"],
  rounds: 5,
  warmupMs: 300,
  durationMs: 1200,
  echoConnections: [1, 10, 100],
  // Four turns of 300 ms per target and round rather than one window of 1.2 s: four processes of the same floor (10 connections, 8 rounds)
  // had medians 39–53 CPU ms per 1,000 in one run with one window each (4–19% apart in four others), 41–47 and 39–40 in two runs taking turns (2026-11-30).
  echoSlices: 4,
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
  // 8 hubs × 64 interleaved rounds: 512 messages to hibernated hubs per target, a ratio per round. A round's ratio strays
  // far (0.79–2.04× in one run of 16 rounds, whose median was 1.44×; 0.55–2.52× over 64 rounds, median 1.32×; 1.25–1.26×
  // in three runs of 128 rounds of bench/hot-path.ts, all on 2026-11-30): 64 rounds (about 1.5 minutes) put four times
  // the messages behind the median.
  coldHubs: 8,
  // Enough messages that a batched prune, if the log made one, would show in rows per message.
  coldWarmIterations: 64,
  coldIterations: 64,
  // Past userhub's default retention, as a long-lived user's log is full.
  coldLogFill: DEFAULT_LOG_RETENTION + 131,
  heartbeat: { intervalMs: 1000, timeoutMs: 3000 },
  drivingMethods: true,
  drivingMs: 2000,
  profileMs: 3000,
  directPairs: [1, 10],
  // About three minutes: 21 rounds of 20,000 round trips for each of six targets, in one process (15 rounds of 10,000,
  // in a run on a loaded machine, put the floor + JSON's quartiles at 0.91–1.35× the floor; 31 of 20,000 on a quiet one, 1.04–1.11×).
  inProcess: { rounds: 21, roundTrips: 20_000 },
  storage: "memory",
};

/**
 * The least that still runs every phase but the driving comparison and the
 * profile: userhub and the floor, with the targets the goals' explanations
 * cite (ratios, goals, the cost model and the report still come out), one round, windows of a few hundred ms, the
 * later phases side by side.
 */
export const SMOKE: BenchOptions = {
  targets: ["userhub", "floor", "userhub-signal", "floor-log", "floor-json", "floor-ring", "layout-slot", "floor-log-alarm", "wake-built", "wake-log", "wake-deliver"],
  rounds: 1,
  warmupMs: 50,
  durationMs: 200,
  echoConnections: [1],
  echoSlices: 1,
  fanOutSockets: 2,
  pushConcurrency: 1,
  pushDevices: 1,
  idleSockets: 2,
  idleDevices: 2,
  idleSettleMs: 50,
  wakesHubs: 1,
  wakesDevices: 1,
  wakesMs: 1_200,
  wakesEmptyMs: 600,
  coldHubs: 1,
  coldWarmIterations: 2,
  coldIterations: 1,
  coldLogFill: 10,
  heartbeat: { intervalMs: 400, timeoutMs: 1_000 },
  drivingMethods: false,
  drivingMs: 300,
  profileMs: 0,
  directPairs: [1],
  inProcess: { rounds: 1, roundTrips: 50 },
  sideBySide: true,
  storage: "memory",
};
