/**
 * The servers a run compares, and how a client speaks to each. Every target
 * does the same work: a socket joins its user's hub, a client frame goes to
 * every socket of that user (one socket: an echo), `ping` is answered `pong`,
 * and a server push writes one durable row and then reaches every socket of
 * the user. Only what each needs to be addressed differs (a path, userhub's
 * JWT), and what its answer looks like.
 */
import { fileURLToPath } from "node:url";
import { sign } from "hono/jwt";

export type TargetName = "userhub" | "userhub-signal" | "floor" | "floor-again" | "floor-log" | "floor-direct" | "partyserver" | "hono-do" | "node-ws" | AttributionTargetName;

/** Targets that take userhub apart (bench/targets/userhub-parts/), for `node bench/hot-path.ts` only: see {@link ATTRIBUTION_TARGETS}. */
export type AttributionTargetName =
  | "floor-json"
  | "floor-ring"
  | "userhub-floor-loop"
  | "userhub-admission"
  | "layout-insert"
  | "layout-rekey"
  | "layout-slot"
  | "floor-log-socket-state"
  | "floor-log-alarm"
  | "wake-built"
  | "wake-log"
  | "wake-deliver";

/** The server configuration a phase needs. */
export type ServerProfile =
  /** Production defaults: echo, fan-out, push and CPU. */
  | "throughput"
  /** Production defaults, fresh: memory of idle sockets. */
  | "idle"
  /** A short heartbeat, so wakes can be counted in seconds. */
  | "heartbeat";

export interface HeartbeatSettings {
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

export interface Target {
  readonly name: TargetName;
  /** What the report calls it. */
  readonly label: string;
  /**
   * `subject`: what is measured (userhub); `floor`: what ratios are taken to;
   * `peer`: what people use instead; `attribution`: a variant of the floor
   * that tells where a difference comes from (not a goal, not in the cost model).
   */
  readonly role: "subject" | "floor" | "peer" | "attribution";
  /** `edge`: a Worker and Durable Objects under workerd; `vm`: a Node process. */
  readonly kind: "edge" | "vm";
  /** Whether idle sockets let its hub sleep (the Hibernation API). */
  readonly hibernates: boolean;
  /** The Worker's source (workerd targets), bundled by the bench. */
  readonly entry?: string;
  /** Durable Object bindings → class names (workerd targets). */
  readonly durableObjects?: Readonly<Record<string, string>>;
  bindings?(profile: ServerProfile, heartbeat: HeartbeatSettings): Record<string, string>;
  /** Where a socket of `user` connects, and the headers it needs. */
  socketRequest(user: string): Promise<{ path: string; headers?: Record<string, string> }>;
  /** The server greets each socket first (userhub's `welcome`); the client waits for it. */
  readonly greets: boolean;
  /**
   * The one workload that tells it apart, when only one does: `echo` (`userhub-signal`: its pushes are userhub's
   * own; the other round workloads skip it), or `cold`, the cold-wakes phase (a message to a hibernated hub, taken
   * apart; no other workload runs it).
   */
  readonly only?: "echo" | "cold";
  /** Whether a text frame from the server is a delivery (not a greeting, presence or pong). */
  isDelivery(text: string): boolean;
  /** The frame a client sends in the echo workload, when not {@link clientFrame}'s `send`. */
  echoFrame?(n: number): string;
  /** A server push of message number `n` to `user`: the same JSON body `{"data":n}` for every target. */
  pushRequest(user: string, n: number): { path: string; headers: Record<string, string>; body: string };
  /** A push of `count` messages at once, for targets whose hub keeps a log it reads on waking (to fill it). */
  batchPushRequest?(user: string, count: number): { path: string; headers: Record<string, string>; body: string };
}

/** The Workers' compatibility date: the demo Worker's. */
export const COMPATIBILITY_DATE = "2026-10-01";
/**
 * userhub's per-socket and per-user rate limits, out of reach: the bench's
 * closed loops send as fast as the server answers (thousands of frames a
 * second from one socket) and fan-out opens 100 sockets of one user at once,
 * which the default limits rightly refuse. The noisy-neighbour workload puts
 * the defaults back.
 */
export const LIMITS_OUT_OF_REACH: Readonly<Record<string, string>> = {
  RATE_LIMIT_FRAMES_PER_SECOND: "1000000000",
  RATE_LIMIT_FRAME_BURST: "1000000000",
  RATE_LIMIT_BYTES_PER_SECOND: "1000000000000",
  RATE_LIMIT_BYTE_BURST: "1000000000000",
  CONNECTIONS_PER_MINUTE: "1000000000",
  TICKETS_PER_MINUTE: "1000000000",
  DIRECT_DELIVERIES_PER_MINUTE: "1000000000",
  MAX_MESSAGE_BACKLOG: "1000000000",
};

/** Known to the bench only; the bench's userhub Worker verifies with it. */
const JWT_SECRET = "userhub-bench-secret";
const PUSH_API_KEY = "userhub-bench-push-key";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const isNotPong = (text: string) => text !== "pong";
const tokens = new Map<string, string>();

async function tokenFor(user: string): Promise<string> {
  let token = tokens.get(user);
  if (!token) {
    const now = Math.floor(Date.now() / 1000);
    token = await sign({ sub: user, iat: now, exp: now + 6 * 3600 }, JWT_SECRET, "HS256");
    tokens.set(user, token);
  }
  return token;
}

/** How a client speaks to the floors (bench/targets/floor*) and the peers written to the same routes (hono-do, node-ws): a path per user, no greeting, the push route. */
const FLOOR_WIRE: Pick<Target, "socketRequest" | "greets" | "isDelivery" | "pushRequest"> = {
  socketRequest: async (user) => ({ path: `/ws/${encodeURIComponent(user)}` }),
  greets: false,
  isDelivery: isNotPong,
  pushRequest: (user, n) => ({ path: `/push/${encodeURIComponent(user)}`, headers: {}, body: `{"data":${n}}` }),
};

const MAIN_TARGETS: Readonly<Record<Exclude<TargetName, AttributionTargetName>, Target>> = {
  userhub: {
    name: "userhub",
    label: "userhub (demo Worker)",
    role: "subject",
    kind: "edge",
    hibernates: true,
    entry: here("../targets/userhub/worker.js"),
    durableObjects: { USER_HUB: "UserHub" },
    bindings: (profile, heartbeat) => ({
      JWT_SECRET,
      PUSH_API_KEY,
      DEV_TOKENS: "off",
      ALLOWED_ORIGINS: "",
      // Fan-out puts 100 sockets on one user; the default limit is 32.
      MAX_CONNECTIONS_PER_USER: "256",
      ...LIMITS_OUT_OF_REACH,
      // The wakes window is seconds long: the eager sweep (a janitor every timeout) lets it measure what an alarm costs;
      // how often alarms come at the defaults is userhub's own schedule (alarm-schedule.ts).
      ...(profile === "heartbeat"
        ? { HEARTBEAT_INTERVAL_MS: String(heartbeat.intervalMs), HEARTBEAT_TIMEOUT_MS: String(heartbeat.timeoutMs), HEARTBEAT_SWEEP_MS: String(heartbeat.timeoutMs) }
        : {}),
    }),
    async socketRequest(user) {
      return { path: "/ws", headers: { Authorization: `Bearer ${await tokenFor(user)}` } };
    },
    greets: true,
    // JSON.stringify keeps the frame's field order, and a delivery's first field is its type.
    isDelivery: (text) => text.startsWith('{"type":"message"'),
    pushRequest: (user, n) => ({
      path: `/users/${encodeURIComponent(user)}/messages`,
      headers: { Authorization: `Bearer ${PUSH_API_KEY}`, "Content-Type": "application/json" },
      body: `{"data":${n}}`,
    }),
    // Payloads of the cost scenario's size (200 bytes), so a filled log weighs what it would.
    batchPushRequest: (user, count) => ({
      path: `/users/${encodeURIComponent(user)}/messages`,
      headers: { Authorization: `Bearer ${PUSH_API_KEY}`, "Content-Type": "application/json" },
      body: JSON.stringify({ messages: Array.from({ length: count }, (_, i) => ({ text: `filler ${i} `.padEnd(190, ".") })) }),
    }),
  },
  // The same Worker and hub, echoing the demo's ephemeral frame: `signal` goes to every socket of the user unlogged.
  "userhub-signal": {
    name: "userhub-signal",
    label: "userhub, ephemeral `signal` frames (echo only)",
    role: "attribution",
    only: "echo",
    kind: "edge",
    hibernates: true,
    entry: here("../targets/userhub/worker.js"),
    durableObjects: { USER_HUB: "UserHub" },
    bindings: (profile, heartbeat) => ({
      JWT_SECRET,
      PUSH_API_KEY,
      DEV_TOKENS: "off",
      ALLOWED_ORIGINS: "",
      // Fan-out puts 100 sockets on one user; the default limit is 32.
      MAX_CONNECTIONS_PER_USER: "256",
      // As for userhub: the closed loops send thousands of signal frames a second from one socket.
      ...LIMITS_OUT_OF_REACH,
      // The wakes window is seconds long: the eager sweep (a janitor every timeout) lets it measure what an alarm costs;
      // how often alarms come at the defaults is userhub's own schedule (alarm-schedule.ts).
      ...(profile === "heartbeat"
        ? { HEARTBEAT_INTERVAL_MS: String(heartbeat.intervalMs), HEARTBEAT_TIMEOUT_MS: String(heartbeat.timeoutMs), HEARTBEAT_SWEEP_MS: String(heartbeat.timeoutMs) }
        : {}),
    }),
    async socketRequest(user) {
      return { path: "/ws", headers: { Authorization: `Bearer ${await tokenFor(user)}` } };
    },
    greets: true,
    // JSON.stringify keeps the frame's field order, and a delivery's first field is its type.
    isDelivery: (text) => text.startsWith('{"type":"signal"'),
    echoFrame: (n) => `{"type":"signal","data":${n}}`,
    pushRequest: (user, n) => ({
      path: `/users/${encodeURIComponent(user)}/messages`,
      headers: { Authorization: `Bearer ${PUSH_API_KEY}`, "Content-Type": "application/json" },
      body: `{"data":${n}}`,
    }),
    // Payloads of the cost scenario's size (200 bytes), so a filled log weighs what it would.
    batchPushRequest: (user, count) => ({
      path: `/users/${encodeURIComponent(user)}/messages`,
      headers: { Authorization: `Bearer ${PUSH_API_KEY}`, "Content-Type": "application/json" },
      body: JSON.stringify({ messages: Array.from({ length: count }, (_, i) => ({ text: `filler ${i} `.padEnd(190, ".") })) }),
    }),
  },
  floor: {
    name: "floor",
    label: "floor (hand-written hibernating DO)",
    role: "floor",
    kind: "edge",
    hibernates: true,
    entry: here("../targets/floor/worker.js"),
    durableObjects: { FLOOR_HUB: "FloorHub" },
    ...FLOOR_WIRE,
  },
  // The floor again, in a process of its own: the same code, so its ratio to the floor is what the run's noise alone makes of a ratio.
  "floor-again": {
    name: "floor-again",
    label: "the floor again, a second process (the run's noise)",
    role: "attribution",
    kind: "edge",
    hibernates: true,
    entry: here("../targets/floor/worker.js"),
    durableObjects: { FLOOR_HUB: "FloorHub" },
    ...FLOOR_WIRE,
  },
  "floor-log": {
    name: "floor-log",
    label: "floor + one SQLite row per message",
    role: "attribution",
    kind: "edge",
    hibernates: true,
    entry: here("../targets/floor/worker.js"),
    durableObjects: { FLOOR_HUB: "FloorHub" },
    bindings: () => ({ LOG_EVERY_MESSAGE: "on" }),
    ...FLOOR_WIRE,
  },
  // The floor for messages between users (the direct phase only: see direct-phase.ts); otherwise the floor itself.
  "floor-direct": {
    name: "floor-direct",
    label: "two-object floor: one RPC to the recipient's DO, one INSERT",
    role: "floor",
    kind: "edge",
    hibernates: true,
    entry: here("../targets/floor-direct/worker.js"),
    durableObjects: { FLOOR_HUB: "FloorDirectHub" },
    ...FLOOR_WIRE,
  },
  partyserver: {
    name: "partyserver",
    label: "partyserver (hibernate: true)",
    role: "peer",
    kind: "edge",
    hibernates: true,
    entry: here("../targets/partyserver/worker.js"),
    durableObjects: { PartyHub: "PartyHub" },
    socketRequest: async (user) => ({ path: `/parties/party-hub/${encodeURIComponent(user)}` }),
    greets: false,
    isDelivery: isNotPong,
    pushRequest: (user, n) => ({ path: `/parties/party-hub/${encodeURIComponent(user)}`, headers: {}, body: `{"data":${n}}` }),
  },
  "hono-do": {
    name: "hono-do",
    label: "Hono upgradeWebSocket in a DO (no hibernation)",
    role: "peer",
    kind: "edge",
    hibernates: false,
    entry: here("../targets/hono-do/worker.js"),
    durableObjects: { HONO_HUB: "HonoHub" },
    ...FLOOR_WIRE,
  },
  "node-ws": {
    name: "node-ws",
    label: "Node ws server (a VM)",
    role: "peer",
    kind: "vm",
    hibernates: false,
    ...FLOOR_WIRE,
  },
};

/** The frame every client sends: userhub's `send`, which the other targets pass on as it is. */
export function clientFrame(n: number): string {
  return `{"type":"send","data":${n}}`;
}

/** The floor + log with one more of the floor's switches on (`flag`, see bench/targets/floor/worker.js), for cold wakes only. */
function floorLogPart(name: AttributionTargetName, flag: string, label: string): Target {
  const of = MAIN_TARGETS["floor-log"];
  return {
    ...of,
    name,
    label,
    only: "cold",
    bindings: (profile, heartbeat) => ({ ...(of.bindings?.(profile, heartbeat) ?? {}), [flag]: "on" }),
  };
}

/**
 * One of userhub's targets with its frames handled by a part of userhub's work (bench/targets/userhub-parts/worker.js,
 * PART), run by the one workload it tells apart: the echo, or a message to a hibernated hub.
 */
function userhubPart(name: AttributionTargetName, of: Target, part: string, label: string, only: "echo" | "cold" = "echo"): Target {
  return {
    ...of,
    name,
    label,
    role: "attribution",
    only,
    entry: here("../targets/userhub-parts/worker.js"),
    bindings: (profile, heartbeat) => ({ ...(of.bindings?.(profile, heartbeat) ?? {}), PART: part }),
  };
}

/**
 * userhub taken apart, each measured beside the floor or the floor plus a row
 * (`node bench/hot-path.ts --targets …`; bench/results/attribution.md): the
 * floor that also parses each frame and builds a signal frame; userhub's
 * Worker and object doing that same loop; with userhub's admission before it;
 * and userhub's 8-column row written three ways (a plain INSERT, the earlier
 * ring keyed by seq, the ring keyed by slot that the log is now); and, for a
 * message to a hibernated hub, the floor + log with userhub's socket state,
 * userhub's object building its hub on waking and writing its row by INSERT,
 * the same with the delivery written by the log itself, and its hub's
 * `deliver` (the log and the fan-out, without the frame path).
 */
export const ATTRIBUTION_TARGETS: Readonly<Record<AttributionTargetName, Target>> = {
  "floor-json": {
    ...MAIN_TARGETS.floor,
    name: "floor-json",
    label: "floor + JSON (each frame parsed, a signal frame built)",
    role: "attribution",
    only: "echo",
    bindings: () => ({ PARSE_FRAMES: "on" }),
    echoFrame: MAIN_TARGETS["userhub-signal"].echoFrame!,
  },
  // userhub's row on this platform, with nothing of userhub's around it: the floor's Worker, object and socket.
  "floor-ring": {
    ...MAIN_TARGETS.floor,
    name: "floor-ring",
    label: "floor + userhub's row, in a ring keyed by slot as the log keeps it (the floor's own object)",
    role: "attribution",
    only: "echo",
    bindings: () => ({ ROW_RING: "on" }),
  },
  "userhub-floor-loop": userhubPart("userhub-floor-loop", MAIN_TARGETS["userhub-signal"], "floor-loop", "userhub's Worker and object, the floor + JSON's loop"),
  "userhub-admission": userhubPart("userhub-admission", MAIN_TARGETS["userhub-signal"], "admission", "the same, after userhub's admission (size, rates)"),
  "layout-insert": userhubPart("layout-insert", MAIN_TARGETS.userhub, "insert", "userhub's object, the floor's loop, userhub's row by INSERT"),
  "layout-rekey": userhubPart("layout-rekey", MAIN_TARGETS.userhub, "rekey", "the same row into a ring keyed by seq (the earlier log)"),
  "layout-slot": userhubPart("layout-slot", MAIN_TARGETS.userhub, "slot", "the same row into a ring keyed by slot (the log now), in userhub's Worker and object"),
  // A message to a hibernated hub, taken apart (`--rounds 0`: cold wakes only).
  "floor-log-socket-state": floorLogPart("floor-log-socket-state", "SOCKET_STATE", "floor + log, each socket with a tag and an attachment as userhub's"),
  "floor-log-alarm": floorLogPart("floor-log-alarm", "ALARM", "floor + log, with an alarm set (12 h ahead) as userhub's janitor sets one"),
  "wake-built": userhubPart("wake-built", MAIN_TARGETS.userhub, "wake", "userhub's object building its hub on waking, then userhub's row by INSERT", "cold"),
  "wake-log": userhubPart("wake-log", MAIN_TARGETS.userhub, "wake-log", "the same, the delivery written by userhub's log itself (from the seq its socket remembers)", "cold"),
  "wake-deliver": userhubPart("wake-deliver", MAIN_TARGETS.userhub, "wake-deliver", "userhub's object, each frame's data handed to its hub's deliver (log and fan-out)", "cold"),
};

export const TARGETS: Readonly<Record<TargetName, Target>> = { ...MAIN_TARGETS, ...ATTRIBUTION_TARGETS };

export const TARGET_NAMES = Object.keys(TARGETS) as TargetName[];
