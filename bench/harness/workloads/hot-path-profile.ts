/**
 * Where a hub's time goes: V8's sampling profiler on the Worker's isolate
 * (through workerd's inspector) while the echo runs, summed by function.
 * Native calls show under their JavaScript name (`exec` is SQLite, `send` a
 * socket write). Run on its own server: an attached profiler slows the
 * isolate, so these are shares of time, not throughput.
 */
import WebSocket from "ws";
import type { Target } from "../targets.ts";
import type { TargetServer } from "../target-server.ts";
import { runEcho } from "./echo.ts";

export interface ProfileEntry {
  readonly name: string;
  /** Share of samples in this function itself, %. */
  readonly selfPercent: number;
  /** Share of samples with this function on the stack, %. */
  readonly totalPercent: number;
}

export interface HotPathProfile {
  readonly target: string;
  readonly connections: number;
  readonly samples: number;
  readonly roundTrips: number;
  /** The functions that took the most samples themselves. */
  readonly bySelf: readonly ProfileEntry[];
  /** The functions most often on the stack (what a call costs with everything it calls). */
  readonly byTotal: readonly ProfileEntry[];
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string };
  readonly children?: readonly number[];
}

export async function profileHotPath(
  server: Pick<TargetServer, "url" | "usage" | "inspectorUrl">,
  target: Target,
  options: { connections: number; warmupMs: number; durationMs: number; top: number },
  /** What runs while the profiler samples, in place of the echo (e.g. messages to hibernated hubs); returns how many operations it ran. */
  workload?: () => Promise<number>,
): Promise<HotPathProfile> {
  if (!server.inspectorUrl) throw new Error(`${target.name}: no inspector to profile with`);
  const session = new WebSocket(server.inspectorUrl);
  await new Promise((resolve, reject) => (session.once("open", resolve), session.once("error", reject)));
  let lastId = 0;
  const waiting = new Map<number, (result: unknown) => void>();
  session.on("message", (data) => {
    const message = JSON.parse(data.toString()) as { id?: number; result?: unknown };
    if (message.id !== undefined) waiting.get(message.id)?.(message.result);
  });
  const call = <T>(method: string, params: object = {}) =>
    new Promise<T>((resolve) => {
      const id = ++lastId;
      waiting.set(id, resolve as (result: unknown) => void);
      session.send(JSON.stringify({ id, method, params }));
    });
  try {
    await call("Profiler.enable");
    await call("Profiler.setSamplingInterval", { interval: 200 });
    await runEcho(server, target, { connections: options.connections, warmupMs: options.warmupMs, durationMs: options.durationMs / 2, userPrefix: "profile-warm" });
    await call("Profiler.start");
    const roundTrips = workload
      ? await workload()
      : (await runEcho(server, target, { connections: options.connections, warmupMs: 0, durationMs: options.durationMs, userPrefix: "profile" })).roundTrips;
    const { profile } = await call<{ profile: { nodes: ProfileNode[]; samples: number[] } }>("Profiler.stop");
    const byId = new Map(profile.nodes.map((node) => [node.id, node]));
    const parent = new Map<number, number>();
    for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
    const hits = new Map<number, number>();
    for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
    const nameOf = (node: ProfileNode) => node.callFrame.functionName || (node.callFrame.url ? "(anonymous)" : "(native)");
    const self = new Map<string, number>();
    const total = new Map<string, number>();
    for (const [id, count] of hits) {
      const node = byId.get(id)!;
      self.set(nameOf(node), (self.get(nameOf(node)) ?? 0) + count);
      const seen = new Set<string>();
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        const name = nameOf(byId.get(at)!);
        if (name === "(root)" || seen.has(name)) continue;
        seen.add(name);
        total.set(name, (total.get(name) ?? 0) + count);
      }
    }
    const all = profile.samples.length || 1;
    const entry = (name: string): ProfileEntry => ({ name, selfPercent: ((self.get(name) ?? 0) * 100) / all, totalPercent: ((total.get(name) ?? 0) * 100) / all });
    const rank = (counts: Map<string, number>) =>
      [...counts.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, options.top)
        .map(([name]) => entry(name));
    return { target: target.name, connections: options.connections, samples: profile.samples.length, roundTrips, bySelf: rank(self), byTotal: rank(total) };
  } finally {
    session.close();
  }
}
