/**
 * The report (bench/results/latest.md): how the run was made and why that
 * way, the table with ratios to the floor, the goals checked, the details
 * behind each number, and the monthly bill of each edge target for the
 * stated scenario, with its arithmetic and its price sources. Its sentences
 * are built from the run's fields (userhub's defaults included, as the run
 * recorded them), so re-rendering an old run never states what is no longer so.
 */
import type { BenchResults } from "./bench-results.ts";
import { scenarioVolumes } from "./cost-model.ts";
import { directSection } from "./direct-phase.ts";
import { inProcessSection } from "./in-process-phase.ts";
import { echoedTargets, formatRatio, formatValue, markdownTable, tableRows } from "./results-table.ts";
import { heartbeatText, USERHUB_DEFAULTS } from "./userhub-defaults.ts";

const usd = (value: number) =>
  value > 0 && value < 0.1
    ? `$${value.toPrecision(2)}`
    : `$${value.toLocaleString("en-US", { maximumFractionDigits: value >= 100 ? 0 : 2, minimumFractionDigits: value >= 100 ? 0 : 2 })}`;
const num = (value: number) => (Math.abs(value) >= 1e5 ? value.toExponential(3).replace("e+", "e") : formatValue(value));

export function renderMarkdown(results: BenchResults, options: { chartFile: string }): string {
  const o = results.options;
  const m = results.machine;
  const out: string[] = [];
  const names = results.targets.map((t) => t.name);
  // Runs before the defaults were recorded were made at today's.
  const defaults = results.userhubDefaults ?? USERHUB_DEFAULTS;
  const atDefaults = heartbeatText(defaults.heartbeat);

  out.push(`# userhub benchmarks`, "");
  out.push(
    `Run ${results.startedAt} → ${results.finishedAt} (${results.wallSeconds} s) with \`${results.command}\` at userhub ${m.commit}, on ${m.cpus} × ${m.cpuModel}, ${m.memoryGb} GB; ` +
      `load average ${m.loadAverageStart.map((l) => l.toFixed(2)).join(" / ")} at the start and ${m.loadAverageEnd.map((l) => l.toFixed(2)).join(" / ")} at the end ` +
      `(every number is a median of ${o.rounds} interleaved round${o.rounds === 1 ? "" : "s"}, and every goal a ratio to the floor of the same run). ` +
      `Node ${m.node}, wrangler ${m.wrangler}, Miniflare ${m.miniflare}, workerd ${m.workerd}, partyserver ${m.partyserver}, hono ${m.hono}, ws ${m.ws}.`,
    "",
  );

  out.push(`## Targets`, "");
  out.push(
    markdownTable(
      ["target", "what it is", "role"],
      results.targets.map((t) => [`\`${t.name}\``, t.label, t.role]),
      ["l", "l", "l"],
    ),
    "",
    "All of them do the same work: a socket joins its user's hub, a client frame goes to every socket of that user (one socket: an echo), `ping` is answered `pong`, and a server push writes one durable row and then reaches every socket of the user. The baselines live in `bench/targets/`; userhub is the demo Worker unchanged, its Durable Object swapped for a bench-only subclass that counts wakes.",
    "",
  );

  out.push(`## How workerd is driven, and why`, "");
  out.push(`**Used:** ${results.driving.chosen} (storage root: \`${results.driving.storageRoot}\`)${results.driving.cpuPlacement ? `; ${results.driving.cpuPlacement}` : ""}.`, "");
  // The reasons stand on the comparison measured in the same run; without it, only what was used is stated.
  if (results.driving.comparison) {
    for (const why of results.driving.why) out.push(`- ${why}`);
    out.push("");
    out.push("The evidence (same run, medians of 2 interleaved rounds; server CPU is the whole process group: wrangler, its proxy's workerd and the Worker's workerd, or Miniflare's host and workerd):", "");
    out.push(
      markdownTable(
        ["how", "conns", "round trips/s", "p50 ms", "p99 ms", "server CPU ms / 1k", "client CPU %", "server processes, % of a core (last round)"],
        results.driving.comparison.map((row) => [
          row.method + (row.client === "ws" ? "" : ` [${row.client}]`),
          String(row.connections),
          formatValue(row.perSecond),
          formatValue(row.p50Ms),
          formatValue(row.p99Ms),
          formatValue(row.cpuMsPer1k),
          formatValue(row.clientCpuPercent),
          Object.entries(row.processCpuPercent)
            .map(([name, pct]) => `${name} ${pct}%`)
            .join(", "),
        ]),
        ["l", "r", "r", "r", "r", "r", "r", "l"],
      ),
      "",
    );
  }

  out.push(`## Results`, "");
  out.push(
    `Medians of ${o.rounds} rounds; in parentheses, the ratio to the floor: the median of the ${o.rounds} per-round ratios (each round runs every target back to back), or for memory and wakes, measured once, the plain ratio. Echo: ${o.durationMs} ms windows after ${o.warmupMs} ms of warm-up${o.echoSlices > 1 ? `, taken in ${o.echoSlices} turns per target that alternate within the round` : ""}, each connection its own user, closed loop. ` +
      `Fan-out: ${o.fanOutSockets} sockets of one user, one frame at a time, time until all have it, in the same turns as the echo. Push: ${o.pushConcurrency} HTTP clients in closed loops to one user with ${o.pushDevices} sockets. ` +
      `CPU: ${results.machine.cpuSource === "schedstat" ? "the run time of the server process group's threads, in nanoseconds (/proc/<pid>/task/<tid>/schedstat)" : "utime + stime of the server's process group from /proc, in 10 ms clock ticks"}. Memory: resident memory with ${o.idleSockets} idle sockets (${o.idleDevices} per user) minus none. ` +
      `Wakes: ${o.wakesHubs} hubs × ${o.wakesDevices} sockets pinging every ${o.heartbeat.intervalMs} ms (timeout ${o.heartbeat.timeoutMs} ms) for ${o.wakesMs} ms, extrapolated to userhub's defaults (${atDefaults}).`,
    "",
  );
  const { header, rows } = tableRows(results);
  out.push(markdownTable(header, rows), "");
  out.push(`![userhub and its peers against the floor](${options.chartFile})`, "");

  out.push(`## Goals`, "");
  out.push(
    markdownTable(
      ["", "goal", "measured"],
      results.goals.map((g) => [g.met ? "✓" : "✗", g.goal, g.measured]),
      ["l", "l", "l"],
    ),
    "",
  );
  const unmet = results.goals.filter((g) => !g.met || g.explanation);
  for (const goal of unmet) out.push(`- **${goal.met ? "✓" : "✗"} ${goal.goal}.** ${goal.explanation}`);
  out.push("");

  out.push(`## Details`, "");
  out.push(`### Echo`, "");
  out.push(
    markdownTable(
      ["target", ...o.echoConnections.flatMap((c) => [`${c}: round trips/s`, `${c}: p50 / p99 ms`, `${c}: CPU ms/1k`])],
      echoedTargets(results).map((name) => {
        const echo = results.summary[name]?.echo ?? {};
        return [
          name,
          ...o.echoConnections.flatMap((c) => {
            const e = echo[String(c)];
            return e ? [formatValue(e.perSecond), `${formatValue(e.p50Ms)} / ${formatValue(e.p99Ms)}`, formatValue(e.cpuMsPer1k)] : ["n/a", "n/a", "n/a"];
          }),
        ];
      }),
    ),
    "",
  );
  out.push(`### Fan-out, push, memory`, "");
  out.push(
    markdownTable(
      ["target", "fan-out p50 / p99 ms", "deliveries/s", "CPU ms / 1k deliveries", "pushes/s", "push p50 / p99 ms", "CPU ms / 1k pushes", "KB per idle conn", "CPU ms per connect", "RSS none → idle MB"],
      // The targets that ran none of these (echo only, or cold wakes only) are left out.
      names.filter((name) => results.summary[name]?.fanOut || results.summary[name]?.push || results.summary[name]?.idle).map((name) => {
        const s = results.summary[name];
        return [
          name,
          s?.fanOut ? `${formatValue(s.fanOut.p50Ms)} / ${formatValue(s.fanOut.p99Ms)}` : "n/a",
          formatValue(s?.fanOut?.deliveriesPerSecond),
          formatValue(s?.fanOut?.cpuMsPer1kDeliveries),
          formatValue(s?.push?.perSecond),
          s?.push ? `${formatValue(s.push.p50Ms)} / ${formatValue(s.push.p99Ms)}` : "n/a",
          formatValue(s?.push?.cpuMsPer1k),
          formatValue(s?.idle?.kbPerConnection),
          formatValue(s?.idle?.cpuMsPerConnect),
          s?.idle ? `${formatValue(s.idle.rssNoneMb)} → ${formatValue(s.idle.rssIdleMb)}` : "n/a",
        ];
      }),
    ),
    "",
  );
  if (results.direct) out.push(...directSection(results.direct, o.rounds));
  if (results.inProcess) out.push(...inProcessSection(results.inProcess));
  out.push(`### What the hubs' code did (bench-only counters)`, "");
  out.push(
    markdownTable(
      ["target", "SQL statements / msg", "rows written / msg", "rows read / msg", "wakes per ping", `alarms / hub / timeout: at ${atDefaults} on time; fired here at the bench heartbeat`, "rows written / alarm (setAlarm incl.)", "wakes per conn-hour (bench heartbeat)", `(at ${atDefaults})`, "wakes with no sockets", "rows written / connection"],
      names
        .filter((name) => results.summary[name]?.storagePerMessage || results.summary[name]?.wakes)
        .map((name) => {
          const s = results.summary[name]!;
          return [
            name,
            formatValue(s.storagePerMessage?.statements),
            formatValue(s.storagePerMessage?.rowsWritten),
            formatValue(s.storagePerMessage?.rowsRead),
            formatValue(s.wakes?.wakesPerPing),
            s.wakes ? `${formatValue(s.wakes.alarmsPerHubPerTimeoutAtDefaults)}; ${formatValue(s.wakes.alarmsPerHubPerTimeout)}` : "n/a",
            formatValue(s.wakes?.rowsWrittenPerAlarm),
            formatValue(s.wakes?.wakesPerConnectionHour),
            formatValue(s.wakes?.wakesPerConnectionHourAtDefaults),
            formatValue(s.wakes?.emptyWakes),
            formatValue(s.rowsWrittenPerConnect),
          ];
        }),
    ),
    "",
    `Counted by each target's Durable Object around its real entry points (fetch, webSocketMessage, webSocketClose, webSocketError, alarm, RPC) and its own \`ctx.storage\` (SQL cursors' rowsRead/rowsWritten, setAlarm/getAlarm/deleteAlarm calls); \`bench/targets/hub-counters.js\`. Rows per message are those of a message to a hub in memory (the warm half of the cold-wakes phase below, userhub's log full); rows per connection cover reconnecting (and closing) a socket of an existing hub. KV calls (partyserver's name record) count one row per key. During the wakes window, userhub's logs had taken ${o.coldLogFill} deliveries each (it keeps ${defaults.logRetention} by default) and hibernating hubs were evicted (sockets hibernated) between their alarms.`,
    "",
  );
  const cold = names.filter((name) => results.summary[name]?.coldWake);
  if (cold.length) {
    out.push(`### A message to a hibernated hub`, "");
    out.push(
      `A mostly idle user's messages and alarms find its hub hibernated: the object is rebuilt (constructor, then whatever the first event touches). ${o.coldHubs} hubs with one socket each` +
        `${o.coldLogFill ? ` (userhub's log first given ${o.coldLogFill} deliveries; it keeps ${defaults.logRetention} by default)` : ""}; first ${o.coldWarmIterations} messages per hub in memory, then ${o.coldIterations} rounds of: evict every hub with its socket hibernated (Miniflare's unsafeEvictDurableObject), then one message per socket. Every target runs on a fresh server of its own; the rounds are interleaved (each round visits the targets in a rotated order), and CPU is each server's threads' run time around the messages, in nanoseconds (/proc/<pid>/task/<tid>/schedstat), so a ratio is the median of the rounds' ratios.`,
      "",
      markdownTable(
        ["target", "in memory: CPU ms / msg", "rows read", "rows written", "SQL statements", "hibernated: CPU ms / msg", "per round (min–max)", "rows read", "rows written", "SQL statements", "constructions / msg"],
        cold.map((name) => {
          const w = results.summary[name]!.coldWake!;
          return [
            name,
            formatValue(w.warm.cpuMsPerMessage),
            formatValue(w.warm.rowsReadPerMessage),
            formatValue(w.warm.rowsWrittenPerMessage),
            formatValue(w.warm.statementsPerMessage),
            formatValue(w.cold.cpuMsPerMessage),
            w.coldCpuMsPerRound?.length ? `${formatValue(Math.min(...w.coldCpuMsPerRound))}–${formatValue(Math.max(...w.coldCpuMsPerRound))}` : "n/a",
            formatValue(w.cold.rowsReadPerMessage),
            formatValue(w.cold.rowsWrittenPerMessage),
            formatValue(w.cold.statementsPerMessage),
            formatValue(w.cold.constructedPerMessage),
          ];
        }),
      ),
      "",
    );
  }

  if (results.profile) {
    const p = results.profile;
    out.push(`## Where userhub's time goes`, "");
    out.push(
      `V8's sampling profiler on the Worker's isolate during userhub's echo at ${p.connections} connections (${p.samples.toLocaleString("en-US")} samples, ${p.roundTrips.toLocaleString("en-US")} round trips, on a server of its own: the attached profiler slows it, so read shares, not speed). ` +
        "Native calls count under their JavaScript name: `exec` is SQLite, `send` a socket write, `serializeAttachment`/`deserializeAttachment` the Hibernation API's attachment copies; `queueMicrotask` and `(garbage collector)` are the runtime's.",
      "",
    );
    const rows = (entries: readonly { name: string; selfPercent: number; totalPercent: number }[]) =>
      entries.map((e) => [`\`${e.name}\``, `${e.selfPercent.toFixed(1)}%`, `${e.totalPercent.toFixed(1)}%`]);
    out.push("Most time in the function itself:", "", markdownTable(["function", "self", "with callees"], rows(p.bySelf)), "");
    out.push("Most time with everything it calls:", "", markdownTable(["function", "self", "with callees"], rows(p.byTotal)), "");
  }

  out.push(`## What it costs a deployer`, "");
  const c = results.cost;
  const s = c.scenario;
  const v = scenarioVolumes(s);
  out.push(
    `Scenario: ${s.users.toLocaleString("en-US")} users, ${s.devicesPerUser} devices each, connected all month (${s.hoursPerMonth} h); active ${Math.round(s.activeShare * 100)}% of the time, sending ${s.messagesPerActiveMinute} message a minute while active (each delivered to all of the user's devices), idle ${Math.round((1 - s.activeShare) * 100)}% of the time; ` +
      `each device reconnects ${s.connectsPerDevicePerDay}× a day; the client pings every ${s.heartbeatIntervalSeconds} s (timeout ${s.heartbeatTimeoutSeconds} s); ${s.messageBytes}-byte messages. ` +
      `That is ${num(v.messages)} incoming messages, ${num(v.connects)} connections and ${num(v.pings)} pings a month.`,
    "",
  );
  out.push("Prices (Workers Paid plan), as published:", "");
  for (const source of c.sources) out.push(`- ${source.page}, read ${source.read} (checked against ${source.sourceFile})`);
  out.push("", "Billing rules used:", "");
  for (const rule of c.rules) out.push(`- ${rule}`);
  out.push("");
  const floorCost = c.targets.find((t) => t.target === "floor");
  out.push(
    markdownTable(
      ["target", "per month", "per user per month", "vs floor", "largest items"],
      c.targets.map((t) => [
        t.target,
        usd(t.totalUsd),
        usd(t.usdPerUser),
        floorCost ? formatRatio(t.totalUsd / floorCost.totalUsd) : "",
        [...t.lines]
          .sort((a, b) => b.usd - a.usd)
          .slice(0, 2)
          .map((line) => `${line.item} ${usd(line.usd)}`)
          .join("; "),
      ]),
    ),
    "",
  );
  if (c.whatIf.length) {
    const hubInput = c.inputs.find((i) => i.target === "userhub");
    out.push(
      `At the defaults a userhub hub with sockets open is woken by its alarm ${formatValue(hubInput?.alarmsPerHubPerTimeout)} times per ${s.heartbeatTimeoutSeconds} s timeout period (its schedule, alarms on time), ` +
        `i.e. ${num((hubInput?.alarmsPerHubPerTimeout ?? 0) * v.timeoutPeriodsPerHub)} alarms a month per user, each a billed request and a \`setAlarm\` (a row written). ` +
        "The same scenario at other settings, each on its own (estimates: the measured inputs with the named ones changed), and the goal's reference:",
      "",
      markdownTable(
        ["userhub …", "per month", "per user per month"],
        c.whatIf.map((w) => [w.change, usd(w.totalUsd), usd(w.usdPerUser)]),
        ["l", "r", "r"],
      ),
      "",
    );
  }
  for (const target of c.targets) {
    const input = c.inputs.find((i) => i.target === target.target);
    out.push(`### ${target.target}: ${usd(target.totalUsd)} a month`, "");
    if (input) {
      out.push(
        `Measured inputs (${input.basis === "cold" ? "per message: a hub woken from hibernation, as this scenario's idle hubs are" : "per message: a hub in memory"}): ${input.hibernates ? "hibernates" : "never hibernates while a socket is open"}; ${formatValue(input.wakesPerPing)} wakes per ping; ${formatValue(input.alarmsPerHubPerTimeout)} alarms per hub per timeout period; ` +
          `${formatValue(input.rowsWrittenPerMessage)} rows written and ${formatValue(input.rowsReadPerMessage)} read per message; ${formatValue(input.rowsWrittenPerAlarm)} rows written per alarm; ` +
          `${formatValue(input.rowsWrittenPerConnect)} rows written per connection; ${formatValue(input.activeMsPerEvent)} ms active per event; ${formatValue(input.workerCpuMsPerConnect)} CPU ms per connect.`,
        "",
      );
    }
    out.push(
      markdownTable(
        ["item", "quantity", "included", "cost", "arithmetic"],
        target.lines.map((line) => [line.item, `${num(line.quantity)} ${line.unit}`, num(line.included), usd(line.usd), line.formula]),
        ["l", "r", "r", "r", "l"],
      ),
      "",
    );
  }
  out.push(
    "What the model leaves out, on purpose: the bandwidth (not billed), the Worker CPU of pushes (none in this scenario), and production's extra wall time per event (replication before the output gate opens, network): duration is estimated from the CPU each event took here, a lower bound; at these volumes it is small next to requests and rows for every hibernating target.",
    "",
  );

  out.push(`## Caveats`, "");
  out.push(
    `- This is workerd on one ${m.cpus}-core machine, client and servers sharing the cores; production runs each Durable Object on Cloudflare's machines, behind its edge. Ratios between targets run the same way carry over better than absolute numbers.`,
    `- Local durable writes go to SQLite under \`${results.driving.storageRoot}\`; production replicates them before acknowledging, which adds latency (not CPU) per write, to userhub, floor + log and every push alike.`,
    "- Memory is the whole server process's resident set, measured within seconds of connecting, so hibernating targets show what an awake idle hub costs.",
    `- Wakes are counted at a ${heartbeatText(o.heartbeat)} heartbeat for ${o.wakesMs / 1000} s and extrapolated linearly to ${atDefaults}.`,
    "",
  );
  return `${out.join("\n")}\n`;
}

