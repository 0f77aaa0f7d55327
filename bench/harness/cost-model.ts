/**
 * What a deployment costs per month on the Workers Paid plan, for a stated
 * scenario, from what the bench measured of each edge target (wakes, alarm
 * rate, SQLite rows per message and per alarm, CPU per event and per
 * connection) and the published prices (pricing.ts). Every line keeps its
 * formula, so the report can show the arithmetic.
 */
import { DURABLE_OBJECTS, WORKERS } from "./pricing.ts";
import { DEFAULT_HEARTBEAT } from "./userhub-defaults.ts";

export interface Scenario {
  readonly users: number;
  readonly devicesPerUser: number;
  /** A month: 730 hours (8,760 / 12). */
  readonly hoursPerMonth: number;
  /** Share of the time a user is active; the rest, their devices stay connected and idle. */
  readonly activeShare: number;
  /** Messages a user sends per minute while active; each goes to all of the user's devices. */
  readonly messagesPerActiveMinute: number;
  /** How often each device opens a new connection (network changes, restarts). */
  readonly connectsPerDevicePerDay: number;
  /** The client's heartbeat: userhub's defaults (src/hub/config.ts). */
  readonly heartbeatIntervalSeconds: number;
  readonly heartbeatTimeoutSeconds: number;
  /** Payload size, for what a delivery log keeps. */
  readonly messageBytes: number;
}

export const DEFAULT_SCENARIO: Scenario = {
  users: 1_000_000,
  devicesPerUser: 2,
  hoursPerMonth: 730,
  activeShare: 0.05,
  messagesPerActiveMinute: 1,
  connectsPerDevicePerDay: 1,
  heartbeatIntervalSeconds: DEFAULT_HEARTBEAT.intervalMs / 1000,
  heartbeatTimeoutSeconds: DEFAULT_HEARTBEAT.timeoutMs / 1000,
  messageBytes: 200,
};

/** What the bench measured of one edge target, as the model needs it. */
export interface CostInputs {
  readonly target: string;
  /** Idle sockets let the object hibernate (no duration between events). */
  readonly hibernates: boolean;
  /** Message wakes per ping: 0 when the runtime answers pings (then they are not billed). */
  readonly wakesPerPing: number;
  /** Alarm invocations per hub per heartbeat timeout period, with sockets connected. */
  readonly alarmsPerHubPerTimeout: number;
  readonly rowsWrittenPerAlarm: number;
  readonly rowsReadPerAlarm: number;
  readonly rowsWrittenPerMessage: number;
  readonly rowsReadPerMessage: number;
  readonly rowsWrittenPerConnect: number;
  /** Billed active time of one event (a message, an alarm, a connect), ms: the server CPU measured per message (cold when `basis` is). */
  readonly activeMsPerEvent: number;
  /** Worker CPU per connection set up, ms (measured for the whole server group: an upper bound). */
  readonly workerCpuMsPerConnect: number;
  /** Deliveries the hub keeps per user (userhub's LOG_RETENTION), 0 if it keeps none. */
  readonly retainedMessagesPerUser: number;
  /** Bytes a kept delivery takes besides its payload (row, seq, time, sender, index). */
  readonly rowOverheadBytes: number;
  /** Whether per-message costs are those of a hub woken from hibernation (`cold`) or of one in memory. */
  readonly basis: "cold" | "warm";
}

export interface CostLine {
  readonly item: string;
  readonly quantity: number;
  readonly unit: string;
  readonly included: number;
  readonly usd: number;
  /** How the quantity and the price were worked out. */
  readonly formula: string;
}

export interface TargetCost {
  readonly target: string;
  readonly lines: readonly CostLine[];
  readonly totalUsd: number;
  readonly usdPerUser: number;
}

/** The scenario's volumes, the same for every target. */
export function scenarioVolumes(s: Scenario) {
  const seconds = s.hoursPerMonth * 3600;
  const devices = s.users * s.devicesPerUser;
  return {
    seconds,
    devices,
    messages: s.users * s.activeShare * s.hoursPerMonth * 60 * s.messagesPerActiveMinute,
    connects: devices * s.connectsPerDevicePerDay * (s.hoursPerMonth / 24),
    pings: devices * (seconds / s.heartbeatIntervalSeconds),
    timeoutPeriodsPerHub: seconds / s.heartbeatTimeoutSeconds,
  };
}

const fmt = (n: number) => (Math.abs(n) >= 1e6 ? n.toExponential(3) : Number(n.toFixed(3)).toString());

function billed(quantity: number, included: number, usdPerMillion: number): number {
  return (Math.max(0, quantity - included) / 1e6) * usdPerMillion;
}

export function monthlyCost(input: CostInputs, s: Scenario = DEFAULT_SCENARIO): TargetCost {
  const v = scenarioVolumes(s);
  const alarms = s.users * input.alarmsPerHubPerTimeout * v.timeoutPeriodsPerHub;
  const pingsBilled = input.wakesPerPing > 0 ? v.pings : 0;
  const lines: CostLine[] = [];

  lines.push({ item: "Workers Paid plan", quantity: 1, unit: "account", included: 0, usd: WORKERS.monthlyMinimumUsd, formula: "minimum charge" });

  lines.push({
    item: "Worker requests (WebSocket upgrades)",
    quantity: v.connects,
    unit: "requests",
    included: WORKERS.requestsIncluded,
    usd: billed(v.connects, WORKERS.requestsIncluded, WORKERS.usdPerMillionRequests),
    formula: `${fmt(v.devices)} devices × ${s.connectsPerDevicePerDay}/day × ${fmt(s.hoursPerMonth / 24)} days = ${fmt(v.connects)}; (−${fmt(WORKERS.requestsIncluded)}) × $${WORKERS.usdPerMillionRequests}/M`,
  });

  const workerCpu = v.connects * input.workerCpuMsPerConnect;
  lines.push({
    item: "Worker CPU",
    quantity: workerCpu,
    unit: "CPU ms",
    included: WORKERS.cpuMsIncluded,
    usd: billed(workerCpu, WORKERS.cpuMsIncluded, WORKERS.usdPerMillionCpuMs),
    formula: `${fmt(v.connects)} upgrades × ${fmt(input.workerCpuMsPerConnect)} ms (measured per connect) = ${fmt(workerCpu)}; (−${fmt(WORKERS.cpuMsIncluded)}) × $${WORKERS.usdPerMillionCpuMs}/M`,
  });

  const doRequests = v.connects + v.messages / DURABLE_OBJECTS.incomingMessagesPerRequest + pingsBilled / DURABLE_OBJECTS.incomingMessagesPerRequest + alarms;
  lines.push({
    item: "Durable Object requests",
    quantity: doRequests,
    unit: "requests",
    included: DURABLE_OBJECTS.requestsIncluded,
    usd: billed(doRequests, DURABLE_OBJECTS.requestsIncluded, DURABLE_OBJECTS.usdPerMillionRequests),
    formula:
      `${fmt(v.connects)} connects + ${fmt(v.messages)} messages / 20` +
      (pingsBilled ? ` + ${fmt(pingsBilled)} pings / 20 (answered by the hub's code)` : " (pings: runtime auto-response, not billed)") +
      ` + ${fmt(alarms)} alarms (${fmt(input.alarmsPerHubPerTimeout)}/hub/timeout × ${fmt(v.timeoutPeriodsPerHub)} periods × ${fmt(s.users)} hubs) = ${fmt(doRequests)}; (−1M) × $${DURABLE_OBJECTS.usdPerMillionRequests}/M`,
  });

  const events = v.messages + alarms + v.connects + pingsBilled;
  const gbSeconds = input.hibernates
    ? (events * input.activeMsPerEvent * DURABLE_OBJECTS.gbPerObject) / 1000
    : s.users * v.seconds * DURABLE_OBJECTS.gbPerObject;
  lines.push({
    item: "Durable Object duration",
    quantity: gbSeconds,
    unit: "GB-s",
    included: DURABLE_OBJECTS.gbSecondsIncluded,
    usd: billed(gbSeconds, DURABLE_OBJECTS.gbSecondsIncluded, DURABLE_OBJECTS.usdPerMillionGbSeconds),
    formula: input.hibernates
      ? `${fmt(events)} events × ${fmt(input.activeMsPerEvent)} ms active (measured CPU per event) × 0.128 GB = ${fmt(gbSeconds)}; (−400k) × $${DURABLE_OBJECTS.usdPerMillionGbSeconds}/M`
      : `no hibernation: ${fmt(s.users)} hubs in memory all ${fmt(v.seconds)} s × 0.128 GB = ${fmt(gbSeconds)}; (−400k) × $${DURABLE_OBJECTS.usdPerMillionGbSeconds}/M`,
  });

  const rowsWritten = v.messages * input.rowsWrittenPerMessage + alarms * input.rowsWrittenPerAlarm + v.connects * input.rowsWrittenPerConnect;
  lines.push({
    item: "SQLite rows written",
    quantity: rowsWritten,
    unit: "rows",
    included: DURABLE_OBJECTS.rowsWrittenIncluded,
    usd: billed(rowsWritten, DURABLE_OBJECTS.rowsWrittenIncluded, DURABLE_OBJECTS.usdPerMillionRowsWritten),
    formula: `${fmt(v.messages)} × ${fmt(input.rowsWrittenPerMessage)}/message + ${fmt(alarms)} × ${fmt(input.rowsWrittenPerAlarm)}/alarm + ${fmt(v.connects)} × ${fmt(input.rowsWrittenPerConnect)}/connect = ${fmt(rowsWritten)}; (−50M) × $${DURABLE_OBJECTS.usdPerMillionRowsWritten}/M`,
  });

  const rowsRead = v.messages * input.rowsReadPerMessage + alarms * input.rowsReadPerAlarm;
  lines.push({
    item: "SQLite rows read",
    quantity: rowsRead,
    unit: "rows",
    included: DURABLE_OBJECTS.rowsReadIncluded,
    usd: billed(rowsRead, DURABLE_OBJECTS.rowsReadIncluded, DURABLE_OBJECTS.usdPerMillionRowsRead),
    formula: `${fmt(v.messages)} × ${fmt(input.rowsReadPerMessage)}/message + ${fmt(alarms)} × ${fmt(input.rowsReadPerAlarm)}/alarm = ${fmt(rowsRead)}; (−25B) × $${DURABLE_OBJECTS.usdPerMillionRowsRead}/M`,
  });

  const kept = Math.min(input.retainedMessagesPerUser, v.messages / s.users);
  const storedGb = (s.users * kept * (s.messageBytes + input.rowOverheadBytes)) / 1e9;
  lines.push({
    item: "SQLite stored data",
    quantity: storedGb,
    unit: "GB-month",
    included: DURABLE_OBJECTS.storageGbMonthIncluded,
    usd: Math.max(0, storedGb - DURABLE_OBJECTS.storageGbMonthIncluded) * DURABLE_OBJECTS.usdPerGbMonth,
    formula: kept
      ? `${fmt(s.users)} users × ${fmt(kept)} kept deliveries × (${s.messageBytes} + ${input.rowOverheadBytes}) B = ${fmt(storedGb)} GB; (−5) × $${DURABLE_OBJECTS.usdPerGbMonth}/GB-month`
      : "keeps no messages",
  });

  const totalUsd = lines.reduce((sum, line) => sum + line.usd, 0);
  return { target: input.target, lines, totalUsd, usdPerUser: totalUsd / s.users };
}
