/**
 * Cold wakes: what one message costs when it finds its hub hibernated, as it
 * does in production whenever a user's hub sat idle for ten seconds (most
 * messages and every heartbeat alarm of a mostly idle user). `hubs` users
 * keep one socket each; for targets with a delivery log it is filled first
 * (a hub rebuilds its view of the log when it wakes). First `warmIterations`
 * messages per hub in memory (enough to span one of the log's batched
 * prunes, so per-message rows are the steady state's): the warm cost. Then
 * `iterations` times (after one such round not counted, a warm-up of the
 * construction path): every hub is evicted from memory with its socket
 * hibernated (what production does), and each socket sends one message.
 * Costs are the hub counters (constructions, SQL rows and statements) and
 * the server group's CPU around the messages only (not the evictions),
 * read at nanosecond resolution (process-group-stats.ts): with clock ticks
 * a round of a few one-millisecond messages could not be told from zero.
 */
import { closeSockets, openSockets, type BenchSocket } from "../bench-socket.ts";
import { clientFrame, type Target } from "../targets.ts";
import type { TargetServer } from "../target-server.ts";
import { fillLogs } from "./log-fill.ts";
import { countersBetween, type HubCounters, readCounters } from "./wakes.ts";

export interface ColdWakesOptions {
  readonly hubs: number;
  /** Messages per hub in memory: enough to span a batched prune, so rows per message are the steady state's. */
  readonly warmIterations: number;
  /** Evict-then-message rounds. */
  readonly iterations: number;
  /** Deliveries to put in each hub's log first (targets with a batch push only). */
  readonly logFill: number;
  readonly userPrefix: string;
}

export interface WakeCost {
  readonly messages: number;
  readonly constructedPerMessage: number;
  readonly statementsPerMessage: number;
  readonly rowsReadPerMessage: number;
  readonly rowsWrittenPerMessage: number;
  readonly cpuMsPerMessage: number;
}

export interface ColdWakesSample {
  readonly hubs: number;
  readonly logFill: number;
  readonly warm: WakeCost;
  readonly cold: WakeCost;
  /**
   * CPU ms per message to a hibernated hub, round by round. Rounds of the
   * targets run side by side are interleaved (each round visits them in a
   * rotated order), so round i of two targets saw the same machine.
   */
  readonly coldCpuMsPerRound: readonly number[];
}

function costOf(counters: HubCounters, cpuMs: number, messages: number): WakeCost {
  return {
    messages,
    constructedPerMessage: counters.constructed / messages,
    statementsPerMessage: counters.storage.sqlStatements / messages,
    rowsReadPerMessage: counters.storage.rowsRead / messages,
    rowsWrittenPerMessage: (counters.storage.rowsWritten + counters.storage.setAlarm) / messages,
    cpuMsPerMessage: cpuMs / messages,
  };
}

/** Sends one frame on every socket and waits until each has its delivery. */
async function oneMessageEach(sockets: readonly BenchSocket[], target: Target, counter: { n: number }): Promise<void> {
  await Promise.all(
    sockets.map(
      (socket) =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`${target.name}: no delivery after a wake`)), 30_000);
          socket.onText = (text) => {
            if (!target.isDelivery(text)) return;
            clearTimeout(timer);
            socket.onText = () => {};
            resolve();
          };
          socket.send(clientFrame(++counter.n));
        }),
    ),
  );
}

/** One target of a side-by-side cold-wake run, on its own server. */
export interface ColdWakeSubject {
  readonly server: Pick<TargetServer, "url" | "usage" | "evict">;
  readonly target: Target;
}

/** {@link runColdWakesSideBySide} for one target. */
export async function runColdWakes(server: ColdWakeSubject["server"], target: Target, options: ColdWakesOptions): Promise<ColdWakesSample> {
  const samples = await runColdWakesSideBySide([{ server, target }], options);
  return samples[target.name]!;
}

/**
 * Cold wakes of several targets, each on its own server, in interleaved
 * rounds: per round, each target in turn (rotated per round) has its hubs
 * evicted and then gets one message per socket, its server's CPU measured
 * around the messages. A ratio of two targets is then taken round by round,
 * from rounds that ran within the same second or two of each other.
 */
export async function runColdWakesSideBySide(subjects: readonly ColdWakeSubject[], options: ColdWakesOptions): Promise<Record<string, ColdWakesSample>> {
  const users = Array.from({ length: options.hubs }, (_, i) => `${options.userPrefix}-${i}`);
  const counter = { n: 0 };
  const states = subjects.map((subject) => {
    const className = Object.values(subject.target.durableObjects ?? {})[0];
    if (!className) throw new Error(`${subject.target.name}: no Durable Object to evict`);
    return { ...subject, className, sockets: [] as BenchSocket[], coldCpu: 0, perRound: [] as number[] };
  });
  try {
    for (const state of states) state.sockets = await openSockets(state.server.url, state.target, users);
    for (const state of states) await fillLogs(state.server, state.target, users, options.logFill);
    // Their deliveries reach the sockets too; let them pass.
    await new Promise((resolve) => setTimeout(resolve, 300));

    const warm = new Map<string, WakeCost>();
    for (const state of states) {
      const before = await readCounters(state.server.url);
      let cpu = 0;
      for (let i = 0; i < options.warmIterations; i++) {
        const start = state.server.usage().cpuMs;
        await oneMessageEach(state.sockets, state.target, counter);
        cpu += state.server.usage().cpuMs - start;
      }
      warm.set(state.target.name, costOf(countersBetween(before, await readCounters(state.server.url)), cpu, options.warmIterations * state.sockets.length));
    }

    // One cold round first, not counted: the first wake of each kind compiles the object's construction path
    // (8.8 ms a message against 1.4–2.0 in the rounds after it, in a trial run), which a production isolate
    // that wakes hubs all day has long done.
    for (const state of states) {
      await state.server.evict(state.className, users);
      await oneMessageEach(state.sockets, state.target, counter);
    }
    const coldBefore = new Map<string, HubCounters>();
    for (const state of states) coldBefore.set(state.target.name, await readCounters(state.server.url));
    for (let i = 0; i < options.iterations; i++) {
      const shift = i % states.length;
      for (const state of [...states.slice(shift), ...states.slice(0, shift)]) {
        await state.server.evict(state.className, users);
        const start = state.server.usage().cpuMs;
        await oneMessageEach(state.sockets, state.target, counter);
        const cpu = state.server.usage().cpuMs - start;
        state.coldCpu += cpu;
        state.perRound.push(cpu / state.sockets.length);
      }
    }
    const result: Record<string, ColdWakesSample> = {};
    for (const state of states) {
      const counters = countersBetween(coldBefore.get(state.target.name)!, await readCounters(state.server.url));
      result[state.target.name] = {
        hubs: options.hubs,
        logFill: state.target.batchPushRequest ? options.logFill : 0,
        warm: warm.get(state.target.name)!,
        cold: costOf(counters, state.coldCpu, options.iterations * state.sockets.length),
        coldCpuMsPerRound: state.perRound,
      };
    }
    return result;
  } finally {
    await Promise.all(states.map((state) => closeSockets(state.sockets)));
  }
}
