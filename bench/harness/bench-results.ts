/**
 * The shape of a run's results (bench/results/latest.json): what was run and
 * how, every round's raw samples, their medians per target, ratios to the
 * floor, the goals checked, and the cost model.
 */
import type { WhatIf } from "./cost-inputs.ts";
import type { CostInputs, Scenario, TargetCost } from "./cost-model.ts";
import type { DirectResults } from "./direct-phase.ts";
import type { InProcessPhase, InProcessPhaseOptions } from "./in-process-phase.ts";
import type { PriceSource } from "./pricing.ts";
import type { StorageKind } from "./storage-root.ts";
import type { HeartbeatSettings, TargetName } from "./targets.ts";
import type { DrivingMethodRow } from "./workloads/driving-methods.ts";
import type { ColdWakesSample, WakeCost } from "./workloads/cold-wakes.ts";
import type { EchoSample } from "./workloads/echo.ts";
import type { HotPathProfile } from "./workloads/hot-path-profile.ts";
import type { FanOutSample } from "./workloads/fan-out.ts";
import type { IdleMemorySample } from "./workloads/idle-memory.ts";
import type { PushSample } from "./workloads/push.ts";
import type { WakesSample } from "./workloads/wakes.ts";
import type { UserhubDefaults } from "./userhub-defaults.ts";

export interface BenchOptions {
  readonly targets: readonly TargetName[];
  readonly rounds: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly echoConnections: readonly number[];
  /**
   * Turns each target takes in a round of echo and of fan-out (each
   * `durationMs / echoSlices` long): the targets alternate within the round,
   * so the machine's drift falls on all of them (workloads/echo.ts,
   * `runEchoRound`; workloads/fan-out.ts, `runFanOutRound`).
   */
  readonly echoSlices: number;
  readonly fanOutSockets: number;
  readonly pushConcurrency: number;
  readonly pushDevices: number;
  readonly idleSockets: number;
  readonly idleDevices: number;
  readonly idleSettleMs: number;
  readonly wakesHubs: number;
  readonly wakesDevices: number;
  readonly wakesMs: number;
  readonly wakesEmptyMs: number;
  /** Cold wakes: hubs, evict-then-message rounds, and deliveries put in each log first. */
  readonly coldHubs: number;
  readonly coldWarmIterations: number;
  readonly coldIterations: number;
  readonly coldLogFill: number;
  /** The short heartbeat of the wakes phase. */
  readonly heartbeat: HeartbeatSettings;
  /** Whether to compare ways of driving workerd first (starts wrangler dev twice). */
  readonly drivingMethods: boolean;
  readonly drivingMs: number;
  /** How long to profile userhub's echo with V8's sampling profiler (0: not at all). */
  readonly profileMs: number;
  /** Pair counts of the direct-message phase (userhub against the two-object floor); absent or empty: no such phase. */
  readonly directPairs?: readonly number[];
  /** The hot path's parts in one workerd process (in-process-phase.ts): rounds and round trips per round; absent: no such phase. */
  readonly inProcess?: InProcessPhaseOptions;
  /**
   * Run the phases after the rounds (idle memory, cold wakes, wakes) for every
   * target at once instead of one after another: quicker, with numbers
   * disturbed by each other. For the smoke run only.
   */
  readonly sideBySide?: boolean;
  readonly storage: StorageKind;
}

export interface EchoSummary {
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly cpuMsPer1k: number;
  readonly clientCpuMsPer1k: number;
}

/** Per message to a hub in memory, from the hub's counters (the warm half of the cold-wakes phase). */
export interface StoragePerMessage {
  readonly messages: number;
  readonly rowsWritten: number;
  readonly rowsRead: number;
  readonly statements: number;
}

export interface TargetSummary {
  /** By connection count. */
  readonly echo: Readonly<Record<string, EchoSummary>>;
  readonly fanOut: { readonly p50Ms: number; readonly p99Ms: number; readonly deliveriesPerSecond: number; readonly cpuMsPer1kDeliveries: number } | null;
  readonly push: { readonly perSecond: number; readonly p50Ms: number; readonly p99Ms: number; readonly cpuMsPer1k: number } | null;
  readonly idle: { readonly kbPerConnection: number; readonly cpuMsPerConnect: number; readonly rssNoneMb: number; readonly rssIdleMb: number } | null;
  readonly wakes: {
    readonly wakesPerConnectionHour: number;
    readonly wakesPerPing: number;
    /** As local workerd fired them at the bench's heartbeat (late by up to a second, so fewer). */
    readonly alarmsPerHubPerTimeout: number;
    /**
     * At userhub's heartbeat defaults with the bench's sockets per hub, as userhub's own scheduling code
     * asks for them when alarms fire on time (alarm-schedule.ts); 0 for a hub that set no alarm. Goals and costs use it.
     */
    readonly alarmsPerHubPerTimeoutAtDefaults: number;
    readonly emptyWakes: number;
    readonly rowsWrittenPerAlarm: number;
    readonly rowsReadPerAlarm: number;
    /** Constructions per alarm: 1 when every alarm found its hub evicted (as in production). */
    readonly constructedPerAlarm: number;
    readonly evicted: boolean;
    /** Extrapolated to userhub's default heartbeat and 2 sockets per hub. */
    readonly wakesPerConnectionHourAtDefaults: number;
  } | null;
  readonly storagePerMessage: StoragePerMessage | null;
  /** One message to a hub in memory, and to a hub evicted (hibernated) since the last one. */
  readonly coldWake: {
    readonly warm: WakeCost;
    readonly cold: WakeCost;
    readonly logFill: number;
    /** CPU ms per message to a hibernated hub, round by round (rounds interleaved with the other hibernating targets'). */
    readonly coldCpuMsPerRound?: readonly number[];
  } | null;
  readonly rowsWrittenPerConnect: number | null;
}

export interface GoalCheck {
  readonly id: string;
  readonly goal: string;
  readonly measured: string;
  readonly met: boolean;
  /** Why, when it is not met (or what it rests on). */
  readonly explanation: string;
}

export type CpuSource = "schedstat" | "ticks";

export interface BenchResults {
  readonly schema: 1;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly wallSeconds: number;
  readonly command: string;
  readonly machine: {
    /** The userhub commit measured. */
    readonly commit: string;
    readonly cpus: number;
    readonly cpuModel: string;
    readonly memoryGb: number;
    readonly loadAverageStart: readonly number[];
    readonly loadAverageEnd: readonly number[];
    /** Where the servers' CPU time was read: per-thread run time in ns (schedstat), or utime + stime in clock ticks. Absent in runs before it was recorded (ticks). */
    readonly cpuSource?: CpuSource;
    readonly node: string;
    readonly wrangler: string;
    readonly miniflare: string;
    readonly workerd: string;
    readonly partyserver: string;
    readonly hono: string;
    readonly ws: string;
  };
  readonly options: BenchOptions;
  /** userhub's defaults when the run was made (src/hub/config.ts): what its numbers were extrapolated to. Absent in runs before it was recorded. */
  readonly userhubDefaults?: UserhubDefaults;
  readonly driving: {
    readonly chosen: string;
    readonly why: readonly string[];
    readonly storageRoot: string;
    /** Where the servers and the clients ran (cpu-placement.ts). Absent in runs before it was recorded. */
    readonly cpuPlacement?: string;
    readonly comparison: readonly DrivingMethodRow[] | null;
  };
  readonly targets: readonly { readonly name: TargetName; readonly label: string; readonly role: string; readonly kind: string; readonly hibernates: boolean }[];
  readonly samples: {
    readonly echo: Partial<Record<TargetName, Record<string, EchoSample[]>>>;
    readonly fanOut: Partial<Record<TargetName, FanOutSample[]>>;
    readonly push: Partial<Record<TargetName, PushSample[]>>;
    readonly idle: Partial<Record<TargetName, IdleMemorySample>>;
    readonly wakes: Partial<Record<TargetName, WakesSample>>;
    readonly coldWakes: Partial<Record<TargetName, ColdWakesSample>>;
    /** Sockets reconnected to existing hubs after the idle phase (their counters are the idle sample's `counters`). */
    readonly reconnects: Partial<Record<TargetName, number>>;
  };
  readonly summary: Partial<Record<TargetName, TargetSummary>>;
  /** Target → metric → value / floor's value (same run). */
  readonly ratios: Partial<Record<TargetName, Record<string, number>>>;
  /** Target → metric → value / the floor + log's value (same run): userhub's durable path against one INSERT per message. */
  readonly ratiosToFloorLog?: Partial<Record<TargetName, Record<string, number>>>;
  readonly goals: readonly GoalCheck[];
  /** Direct messages between users against the two-object floor (absent in runs before it, or without userhub). */
  readonly direct?: DirectResults;
  /** The hot path's parts in one workerd process (absent in runs before it, or without userhub). */
  readonly inProcess?: InProcessPhase;
  readonly profile: HotPathProfile | null;
  readonly cost: {
    readonly scenario: Scenario;
    readonly sources: readonly PriceSource[];
    readonly rules: readonly string[];
    readonly inputs: readonly CostInputs[];
    readonly targets: readonly TargetCost[];
    /** userhub's bill with changes applied one after another (estimates from the measured inputs). */
    readonly whatIf: readonly WhatIf[];
  };
}
