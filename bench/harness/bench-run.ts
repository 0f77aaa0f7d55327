/**
 * One benchmark run, start to finish:
 *
 * 1. bundle every workerd target's Worker;
 * 2. (optionally) compare ways of driving workerd, on the floor;
 * 3. start every target's server once, side by side, and run rounds of echo
 *    (per connection count), fan-out and push, each round visiting the
 *    targets in a rotated order, so that drift on this shared machine hits
 *    them all alike; ratios to the floor are taken per round, then medians;
 *    then direct messages between users, userhub against the two-object
 *    floor, the same way (direct-phase.ts);
 * 4. idle memory, one target at a time, each on a fresh server; then the
 *    cost of a message to a hub in memory and to a hibernated one, every
 *    hibernating target on a fresh server, side by side in interleaved rounds;
 * 5. wakes, every Durable Object target at once, each on a fresh server with
 *    a short heartbeat, hibernating hubs evicted between their alarms;
 * 6. where userhub's time goes (V8's profiler, on a server of its own);
 *    then the hot path's parts in one workerd process (in-process-phase.ts),
 *    with every server stopped;
 * 7. medians, ratios to the floor, goals, and the cost model.
 *
 * Every server is its own process group, stopped before this returns (or
 * killed by the safety net if the process dies); temporary directories go
 * with them.
 */
import { loadavg, tmpdir } from "node:os";
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import type { BenchOptions, BenchResults } from "./bench-results.ts";
import { DEFAULT_SCENARIO, monthlyCost } from "./cost-model.ts";
import { costInputsFor, userhubWhatIf } from "./cost-inputs.ts";
import { checkGoals } from "./goals.ts";
import { type DirectResults, directGoals, runDirectPhase } from "./direct-phase.ts";
import { type InProcessPhase, runInProcessPhase } from "./in-process-phase.ts";
import { USERHUB_DEFAULTS } from "./userhub-defaults.ts";
import { currentPlacement } from "./cpu-placement.ts";
import { describeMachine, measuredCommit } from "./machine-description.ts";
import { BILLING_RULES, PRICE_SOURCES } from "./pricing.ts";
import { storageRoot } from "./storage-root.ts";
import { ratiosTo, ratiosToFloor, summarize } from "./summarize-rounds.ts";
import { bundleTargets, startTarget } from "./target-launcher.ts";
import { removeOnExit, type TargetServer } from "./target-server.ts";
import { type Target, TARGETS, type TargetName } from "./targets.ts";
import { closeSockets, openSockets } from "./bench-socket.ts";
import { compareDrivingMethods } from "./workloads/driving-methods.ts";
import { runColdWakesSideBySide } from "./workloads/cold-wakes.ts";
import { type EchoSample, runEchoRound } from "./workloads/echo.ts";
import { type HotPathProfile, profileHotPath } from "./workloads/hot-path-profile.ts";
import { type FanOutSample, runFanOutRound } from "./workloads/fan-out.ts";
import { runIdleMemory } from "./workloads/idle-memory.ts";
import { type PushSample, runPush } from "./workloads/push.ts";
import { countersBetween, type HubCounters, readCounters, runWakes } from "./workloads/wakes.ts";

export interface RunIo {
  /** One line of progress. */
  readonly progress: (line: string) => void;
  /** The command line, for the record. */
  readonly command: string;
}

export interface RunOutcome {
  readonly results: BenchResults;
  /** Every process group the run started (all stopped by now). */
  readonly processGroups: readonly number[];
  /** Every temporary directory the run made for its bundles and servers (all removed by now; the driving comparison removes its own). */
  readonly directories: readonly string[];
}

export async function runBench(options: BenchOptions, io: RunIo): Promise<RunOutcome> {
  if (!options.targets.includes("floor")) throw new Error("the floor must be among the targets: every ratio is to it");
  const startedAt = new Date();
  const loadAverageStart = loadavg();
  const commit = measuredCommit();
  const placement = currentPlacement();
  const clock = () => {
    const s = Math.round((Date.now() - startedAt.getTime()) / 1000);
    return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
  };
  const progress = (line: string) => io.progress(`[${clock()}] ${line}`);
  const targets = options.targets.map((name) => TARGETS[name]);
  const root = storageRoot(options.storage);
  const bundleDir = await mkdtemp(join(tmpdir(), "userhub-bench-bundles-"));
  const forgetBundleDir = removeOnExit(bundleDir);
  const live = new Set<TargetServer>();
  const processGroups: number[] = [];
  const directories: string[] = [bundleDir];
  const start = async (target: Target, profile: "throughput" | "idle" | "heartbeat") => {
    const server = await startTarget(target, profile, options.heartbeat, bundles, root);
    live.add(server);
    processGroups.push(server.pgid);
    if (server.dir) directories.push(server.dir);
    return server;
  };
  const stop = async (server: TargetServer) => {
    await server.stop();
    live.delete(server);
  };
  let bundles: Awaited<ReturnType<typeof bundleTargets>> = new Map();
  const samples: BenchResults["samples"] = { echo: {}, fanOut: {}, push: {}, idle: {}, wakes: {}, coldWakes: {}, reconnects: {} };

  try {
    progress(`bundling ${targets.filter((t) => t.entry).length} Workers; storage under ${root}; load average ${loadAverageStart.map((l) => l.toFixed(2)).join(" ")}`);
    const directPhase = options.targets.includes("userhub") && (options.directPairs?.length ?? 0) > 0;
    bundles = await bundleTargets(directPhase && !options.targets.includes("floor-direct") ? [...targets, TARGETS["floor-direct"]] : targets, bundleDir);

    let comparison = null;
    if (options.drivingMethods) {
      comparison = await compareDrivingMethods(TARGETS.floor, options.targets.includes("userhub") ? TARGETS.userhub : undefined, bundles, {
        connections: [1, 10],
        rounds: 2,
        warmupMs: Math.min(options.warmupMs, 300),
        durationMs: options.drivingMs,
        heartbeat: options.heartbeat,
        progress,
      });
    }

    // Targets that only take a message to a hibernated hub apart get servers of their own in that phase.
    const running = targets.filter((t) => t.only !== "cold");
    progress(`starting ${running.length} servers side by side`);
    const servers = new Map<TargetName, TargetServer>();
    for (const [i, server] of (await Promise.all(running.map((target) => start(target, "throughput")))).entries()) servers.set(running[i]!.name, server);

    /** A workload runs each target in turn (`run`), or all of them together in one round (`runRound`, in the round's order). */
    type Workload =
      | { name: string; run: (target: Target, server: TargetServer, round: number) => Promise<string> }
      | { name: string; runRound: (order: readonly Target[], round: number) => Promise<string[]> };
    const workloads: Workload[] = [
      ...options.echoConnections.map(
        (connections): Workload => ({
          name: `echo ×${connections}`,
          runRound: async (order, round) => {
            const got = await runEchoRound(
              order.map((target) => ({ server: servers.get(target.name)!, target })),
              { connections, slices: options.echoSlices, warmupMs: options.warmupMs, durationMs: options.durationMs, userPrefix: `echo${connections}-r${round}` },
            );
            return got.map((sample, i) => {
              ((samples.echo[order[i]!.name] ??= {})[String(connections)] ??= [] as EchoSample[]).push(sample);
              return `${order[i]!.name}: ${fmt(sample.perSecond)}/s, p50 ${sample.p50Ms.toFixed(2)} ms, p99 ${sample.p99Ms.toFixed(2)} ms, ${fmt(sample.cpuMsPer1k)} CPU ms/1k`;
            });
          },
        }),
      ),
      {
        name: `fan-out ×${options.fanOutSockets}`,
        // In turns, as the echo: every target's sockets open for the round, so a drift falls on all of them.
        runRound: async (order, round) => {
          const fanning = order.filter((t) => t.only !== "echo");
          const got = await runFanOutRound(
            fanning.map((target) => ({ server: servers.get(target.name)!, target })),
            { sockets: options.fanOutSockets, slices: options.echoSlices, warmupMs: options.warmupMs, durationMs: options.durationMs, user: `fan-r${round}` },
          );
          return got.map((sample, i) => {
            ((samples.fanOut[fanning[i]!.name] ??= []) as FanOutSample[]).push(sample);
            return `${fanning[i]!.name}: p50 ${sample.p50Ms.toFixed(2)} ms, p99 ${sample.p99Ms.toFixed(2)} ms, ${fmt(sample.deliveriesPerSecond)} deliveries/s`;
          });
        },
      },
      {
        name: `push ×${options.pushConcurrency}`,
        run: async (target, server, round) => {
          const sample = await runPush(server, target, {
            concurrency: options.pushConcurrency,
            devices: options.pushDevices,
            warmupMs: options.warmupMs,
            durationMs: options.durationMs,
            user: `push-r${round}`,
          });
          ((samples.push[target.name] ??= []) as PushSample[]).push(sample);
          return `${fmt(sample.perSecond)}/s, p50 ${sample.p50Ms.toFixed(2)} ms, ${fmt(sample.cpuMsPer1k)} CPU ms/1k`;
        },
      },
    ];

    for (let round = 0; round < options.rounds; round++) {
      for (const [index, workload] of workloads.entries()) {
        // Rotate the order per round and workload: no target always runs first or right after another's load.
        const shift = (round + index) % running.length;
        const order = [...running.slice(shift), ...running.slice(0, shift)];
        if ("runRound" in workload) {
          for (const line of await workload.runRound(order, round)) progress(`round ${round + 1}/${options.rounds} · ${workload.name} · ${line}`);
          continue;
        }
        for (const target of order.filter((t) => t.only !== "echo")) {
          const line = await workload.run(target, servers.get(target.name)!, round);
          progress(`round ${round + 1}/${options.rounds} · ${workload.name} · ${target.name}: ${line}`);
        }
      }
    }
    let direct: DirectResults | undefined;
    if (directPhase) {
      const floorDirect = servers.get("floor-direct") ?? (await start(TARGETS["floor-direct"], "throughput"));
      direct = await runDirectPhase(
        { userhub: servers.get("userhub")!, "floor-direct": floorDirect },
        { rounds: options.rounds, pairs: options.directPairs!, warmupMs: options.warmupMs, durationMs: options.durationMs, progress },
      );
      if (!servers.has("floor-direct")) await stop(floorDirect);
    }
    for (const server of servers.values()) await stop(server);

    // Memory: one target at a time, nothing else running (unless sideBySide); the floor + log variant is the floor here.
    const idlePhase = async (target: Target) => {
      const server = await start(target, "idle");
      try {
        const sample = await runIdleMemory(server, target, {
          sockets: options.idleSockets,
          devices: options.idleDevices,
          settleMs: options.idleSettleMs,
          userPrefix: "idle",
        });
        // Rows per connection: reconnect (and close) sockets of hubs that exist already, as a device does each day.
        let counters: HubCounters | undefined;
        if (target.kind === "edge") {
          const again = Array.from({ length: Math.min(100, options.idleSockets) }, (_, i) => `idle-${Math.floor(i / options.idleDevices)}`);
          const reconnectBefore = await readCounters(server.url);
          await closeSockets(await openSockets(server.url, target, again));
          await new Promise((resolve) => setTimeout(resolve, 300));
          const delta = countersBetween(reconnectBefore, await readCounters(server.url));
          counters = delta;
          samples.reconnects[target.name] = again.length;
        }
        samples.idle[target.name] = counters ? { ...sample, counters } : sample;
        progress(
          `idle memory · ${target.name}: ${(sample.bytesPerConnection / 1024).toFixed(1)} KB per connection (${options.idleSockets} sockets), ${sample.cpuMsPerConnect.toFixed(2)} CPU ms per connect`,
        );
      } finally {
        await stop(server);
      }
    };

    // Cold wakes: every hibernating target (the floor + log too: userhub's is judged against it, and the targets
    // that take userhub's cold message apart), each on a fresh server of its own, all started together and
    // measured in interleaved rounds.
    const coldPhase = async () => {
      const subjects = targets.filter((t) => t.kind === "edge" && t.hibernates && (t.role !== "attribution" || t.name === "floor-log" || t.only === "cold"));
      if (subjects.length === 0) return;
      const coldServers = await Promise.all(subjects.map((target) => start(target, "idle")));
      try {
        const cold = await runColdWakesSideBySide(
          subjects.map((target, i) => ({ target, server: coldServers[i]! })),
          { hubs: options.coldHubs, warmIterations: options.coldWarmIterations, iterations: options.coldIterations, logFill: options.coldLogFill, userPrefix: "cold" },
        );
        for (const [name, sample] of Object.entries(cold)) {
          samples.coldWakes[name as TargetName] = sample;
          progress(
            `cold wakes · ${name}: a message to a hibernated hub costs ${sample.cold.cpuMsPerMessage.toFixed(2)} CPU ms (per round ${Math.min(...sample.coldCpuMsPerRound).toFixed(2)}–${Math.max(...sample.coldCpuMsPerRound).toFixed(2)}), ${sample.cold.statementsPerMessage.toFixed(1)} statements, ${fmt(sample.cold.rowsReadPerMessage)} rows read, ${sample.cold.rowsWrittenPerMessage.toFixed(1)} written (in memory: ${sample.warm.cpuMsPerMessage.toFixed(2)} ms, ${fmt(sample.warm.rowsReadPerMessage)} read, ${sample.warm.rowsWrittenPerMessage.toFixed(1)} written)`,
          );
        }
      } finally {
        await Promise.all(coldServers.map(stop));
      }
    };

    // Wakes: every edge target at once (they only wait), each on its own server.
    const wakesPhase = async () => {
      const waking = targets.filter((t) => t.kind === "edge" && t.role !== "attribution");
      progress(`wakes · ${waking.map((t) => t.name).join(", ")} at once: ${options.wakesHubs} hubs × ${options.wakesDevices} sockets, ping every ${options.heartbeat.intervalMs} ms, timeout ${options.heartbeat.timeoutMs} ms, ${options.wakesMs} ms + ${options.wakesEmptyMs} ms empty`);
      await Promise.all(
        waking.map(async (target) => {
          const server = await start(target, "heartbeat");
          try {
            const sample = await runWakes(server, target, {
              hubs: options.wakesHubs,
              devices: options.wakesDevices,
              heartbeat: options.heartbeat,
              durationMs: options.wakesMs,
              emptyMs: options.wakesEmptyMs,
              userPrefix: "wakes",
              logFill: options.coldLogFill,
              // Alarms come at least (timeout − interval) apart; evicting a little more often makes every alarm find its hub cold.
              ...(target.hibernates ? { evictEveryMs: Math.max(200, options.heartbeat.timeoutMs - options.heartbeat.intervalMs - 100) } : {}),
            });
            samples.wakes[target.name] = sample;
            progress(
              `wakes · ${target.name}: ${fmt(sample.wakesPerConnectionHour)} per connection-hour, ${sample.wakesPerPing.toFixed(2)} per ping, ${sample.alarmsPerHubPerTimeout.toFixed(2)} alarms per hub per timeout (${sample.steady.constructed} of them cold), ${sample.empty.alarm} alarms with no sockets`,
            );
          } finally {
            await stop(server);
          }
        }),
      );
    };

    const idleTargets = targets.filter((t) => t.role !== "attribution");
    if (options.sideBySide) {
      await Promise.all([...idleTargets.map(idlePhase), coldPhase(), wakesPhase()]);
    } else {
      for (const target of idleTargets) await idlePhase(target);
      await coldPhase();
      await wakesPhase();
    }

    // Where userhub's time goes, on a server of its own with the profiler attached.
    let profile: HotPathProfile | null = null;
    if (options.profileMs > 0 && options.targets.includes("userhub")) {
      const server = await startTarget(TARGETS.userhub, "throughput", options.heartbeat, bundles, root, { inspect: true });
      live.add(server);
      processGroups.push(server.pgid);
      if (server.dir) directories.push(server.dir);
      try {
        profile = await profileHotPath(server, TARGETS.userhub, { connections: 10, warmupMs: options.warmupMs, durationMs: options.profileMs, top: 18 });
        progress(`hot path · userhub: ${profile.samples} samples; most self time in ${profile.bySelf.slice(0, 4).map((e) => `${e.name} ${e.selfPercent.toFixed(0)}%`).join(", ")}`);
      } finally {
        await stop(server);
      }
    }

    // The hot path's parts in one process, once every server of the run is stopped (it pins its own process).
    let inProcess: InProcessPhase | undefined;
    if (options.inProcess && options.targets.includes("userhub")) {
      if (live.size > 0) throw new Error(`the in-process phase runs alone, but ${live.size} servers are still up`);
      inProcess = await runInProcessPhase(options.inProcess, progress);
    }

    const summary = summarize(samples, options, options.targets);
    const ratios = ratiosToFloor(summary, samples, options);
    const ratiosToLog = ratiosTo(summary, samples, options, "floor-log");
    const costInputs = costInputsFor(targets, summary, options);
    const goals = [...checkGoals(summary, ratios, ratiosToLog, options, profile, costInputs, USERHUB_DEFAULTS, samples, inProcess), ...(direct ? directGoals(direct) : [])];
    const finishedAt = new Date();
    const results: BenchResults = {
      schema: 1,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      wallSeconds: Math.round((finishedAt.getTime() - startedAt.getTime()) / 1000),
      command: io.command,
      machine: await describeMachine(loadAverageStart, commit),
      options,
      userhubDefaults: USERHUB_DEFAULTS,
      driving: {
        chosen: `Miniflare (wrangler's own copy and workerd), each client connected to the Worker's own socket (unsafeDirectSockets); \`ws\` client, TCP_NODELAY; storage ${options.storage === "memory" ? "in memory" : "on disk"}`,
        why: [
          "wrangler dev, as `npm start` runs it, streams a trace of every event to its local observability collector and wraps every SQLite Durable Object class for its local explorer; that, not the runtime, is where its Worker's workerd spends most of its CPU per message.",
          "With those two off, wrangler dev still puts a dev proxy (a second workerd) in front: one more hop and process per frame.",
          "Miniflare's entry socket adds an entry worker in the Worker's workerd; the Worker's own socket is the runtime alone.",
          "The `ws` client sets TCP_NODELAY (Nagle's algorithm off), and so does workerd's side.",
          `Durable Object storage lives in ${root}${options.storage === "memory" ? ", so a durable write costs what the runtime does, not this machine's fsync (production makes writes durable by replication, not a local fsync)" : ""}.`,
        ],
        storageRoot: root,
        cpuPlacement: placement.description,
        comparison,
      },
      targets: targets.map((t) => ({ name: t.name, label: t.label, role: t.role, kind: t.kind, hibernates: t.hibernates })),
      samples,
      summary,
      ratios,
      ratiosToFloorLog: ratiosToLog,
      goals,
      ...(direct ? { direct } : {}),
      ...(inProcess ? { inProcess } : {}),
      profile,
      cost: {
        scenario: DEFAULT_SCENARIO,
        sources: [PRICE_SOURCES.durableObjects, PRICE_SOURCES.workers],
        rules: BILLING_RULES,
        inputs: costInputs,
        targets: costInputs.map((input) => monthlyCost(input)),
        whatIf: userhubWhatIf(costInputs, options),
      },
    };
    return { results, processGroups, directories };
  } finally {
    await Promise.allSettled([...live].map((server) => server.stop()));
    await rm(bundleDir, { recursive: true, force: true });
    forgetBundleDir();
  }
}

function fmt(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString("en-US") : "n/a";
}
