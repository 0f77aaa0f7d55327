import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  AuthRefusedError,
  ClientClosedError,
  type ClientWebSocketConstructor,
  CredentialsError,
  MessageTooLargeError,
  PolicyViolationError,
  RevokedError,
  QueueFullError,
  ServerError,
  SocketSetupError,
  type StateChange,
  TicketRequestError,
  ticketFrom,
  UserhubClient,
  type UserhubClientOptions,
} from "../../src/client/mod.ts";
import { ScriptedWebSocket } from "./scripted-web-socket.ts";

const URL_WS = "wss://hub.example/ws";

// Type-level: the runtime's own WebSocket class is a valid `WebSocket` option without a cast.
const standardWebSocket: ClientWebSocketConstructor = WebSocket;
void standardWebSocket;

/** Lets the client's promises and microtasks (credential providers, the deferred start) run, without moving the clock. */
async function settle(): Promise<void> {
  await vi.advanceTimersByTimeAsync(0);
}

/** A token provider that hands out tok-1, tok-2, … and counts its calls. */
function tokens() {
  let n = 0;
  return vi.fn(() => `tok-${++n}`);
}

interface Recorded {
  states: StateChange[];
  events: string[];
  errors: Error[];
  messages: { seq: number; data: unknown }[];
  resets: unknown[];
  closes: { code: number; byClient: boolean }[];
}

function record(client: UserhubClient): Recorded {
  const r: Recorded = { states: [], events: [], errors: [], messages: [], resets: [], closes: [] };
  client.addEventListener("state", ({ detail }) => {
    r.states.push(detail);
    r.events.push(`state:${detail.state}`);
  });
  client.addEventListener("welcome", () => r.events.push("welcome"));
  client.addEventListener("message", ({ detail }) => {
    r.messages.push({ seq: detail.seq, data: detail.data });
    r.events.push(`message:${detail.seq}`);
  });
  client.addEventListener("reset", ({ detail }) => {
    r.resets.push(detail);
    r.events.push("reset");
  });
  client.addEventListener("error", ({ detail }) => {
    r.errors.push(detail);
    r.events.push(`error:${detail.name}`);
  });
  client.addEventListener("close", ({ detail }) => {
    r.closes.push({ code: detail.code, byClient: detail.byClient });
    r.events.push(`close:${detail.code}`);
  });
  return r;
}

/** A client on the scripted socket with a fixed mid-range jitter (random 0.5 → half of each ceiling), not yet started. */
function newClient(options: Partial<UserhubClientOptions> = {}) {
  const token = tokens();
  const client = new UserhubClient({
    url: URL_WS,
    token,
    WebSocket: ScriptedWebSocket,
    network: null,
    ...options,
    backoff: { random: () => 0.5, ...options.backoff },
  });
  return { client, token, events: record(client) };
}

/** A client whose first connection has been welcomed. */
async function openClient(options: Partial<UserhubClientOptions> = {}, welcome: Parameters<ScriptedWebSocket["welcome"]>[0] = {}) {
  const made = newClient(options);
  await settle();
  const socket = ScriptedWebSocket.latest();
  socket.welcome(welcome);
  return { ...made, socket };
}

beforeEach(() => {
  vi.useFakeTimers();
  ScriptedWebSocket.reset();
});

afterEach(() => {
  vi.useRealTimers();
});

describe("UserhubClient: connecting and reconnecting", () => {
  it("goes connecting → open → reconnecting(attempt, delay) → open", async () => {
    const { client, socket, events } = await openClient();
    expect(client.state).toBe("open");
    expect(client.connectionId).toBe("conn-1");

    socket.serverClose(1006);
    expect(client.state).toBe("reconnecting");
    expect(client.connectionId).toBeNull();
    await vi.advanceTimersByTimeAsync(249);
    expect(ScriptedWebSocket.instances).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(ScriptedWebSocket.instances).toHaveLength(2);
    ScriptedWebSocket.latest().welcome();

    expect(events.states).toEqual([
      { state: "connecting", attempt: 0 },
      { state: "open" },
      { state: "reconnecting", attempt: 1, delayMs: 250 },
      { state: "open" },
    ]);
    expect(events.events).toEqual(["state:connecting", "state:open", "welcome", "close:1006", "state:reconnecting", "state:open", "welcome"]);
    client.close();
  });

  it("offers userhub.v1 and bearer.<token>, asks the provider on every connect, and never puts the token in the URL", async () => {
    const { client, token, socket } = await openClient();
    expect(socket.protocols).toEqual(["userhub.v1", "bearer.tok-1"]);
    socket.serverClose(1011);
    await vi.advanceTimersByTimeAsync(500);
    const second = ScriptedWebSocket.latest();
    expect(second.protocols).toEqual(["userhub.v1", "bearer.tok-2"]);
    expect(token).toHaveBeenCalledTimes(2);
    for (const s of ScriptedWebSocket.instances) expect(s.url).not.toMatch(/tok-/);
    client.close();
  });

  it("backs off with growing ceilings while attempts fail, and starts over after a stable connection", async () => {
    const { client, events } = newClient();
    await settle();
    for (let i = 0; i < 4; i++) {
      ScriptedWebSocket.latest().serverClose(1006); // refused or unreachable before open
      await vi.advanceTimersByTimeAsync(events.states.at(-1)!.delayMs!);
    }
    expect(events.states.filter((s) => s.state === "reconnecting")).toEqual([
      { state: "reconnecting", attempt: 1, delayMs: 250 },
      { state: "reconnecting", attempt: 2, delayMs: 500 },
      { state: "reconnecting", attempt: 3, delayMs: 1000 },
      { state: "reconnecting", attempt: 4, delayMs: 2000 },
    ]);

    ScriptedWebSocket.latest().welcome();
    await vi.advanceTimersByTimeAsync(10_000); // stable (heartbeat pings keep going meanwhile)
    ScriptedWebSocket.latest().receive("pong");
    ScriptedWebSocket.latest().serverClose(1001);
    expect(events.states.at(-1)).toEqual({ state: "reconnecting", attempt: 1, delayMs: 250 });
    client.close();
  });

  it("reconnects after each non-terminal close code: 1000, 1001, 1006, 1009, 1011, 4000, 4002", async () => {
    const { client, events } = await openClient();
    for (const code of [1000, 1001, 1006, 1009, 1011, 4000, 4002]) {
      const before = ScriptedWebSocket.instances.length;
      ScriptedWebSocket.latest().serverClose(code);
      expect(client.state).toBe("reconnecting");
      await vi.advanceTimersByTimeAsync(events.states.at(-1)!.delayMs!);
      expect(ScriptedWebSocket.instances).toHaveLength(before + 1);
      ScriptedWebSocket.latest().welcome();
    }
    client.close();
  });

  it("treats an error event as the end of the connection (1006), also when no close follows (Node 22's WebSocket)", async () => {
    const { client, events } = newClient();
    await settle();
    ScriptedWebSocket.latest().fail({ thenClose: false }); // refused: error, and nothing after it
    expect(events.closes).toEqual([{ code: 1006, byClient: false }]);
    expect(events.states.at(-1)).toEqual({ state: "reconnecting", attempt: 1, delayMs: 250 });
    await vi.advanceTimersByTimeAsync(250);
    ScriptedWebSocket.latest().fail(); // the standard order: error, then close
    expect(events.closes).toEqual([
      { code: 1006, byClient: false },
      { code: 1006, byClient: false },
    ]);
    expect(events.states.at(-1)).toEqual({ state: "reconnecting", attempt: 2, delayMs: 500 });
    client.close();
  });

  it("retries the first connection after a connect timeout (no welcome within connectTimeoutMs)", async () => {
    const { client, events } = newClient({ connectTimeoutMs: 5_000 });
    await settle();
    const first = ScriptedWebSocket.latest();
    first.open(); // opened, but no welcome
    await vi.advanceTimersByTimeAsync(4_999);
    expect(first.closedWith).toBeNull();
    await vi.advanceTimersByTimeAsync(1);
    expect(first.closedWith?.code).toBe(4000);
    expect(events.closes).toEqual([{ code: 4000, byClient: true }]);
    expect(events.states.at(-1)).toEqual({ state: "reconnecting", attempt: 1, delayMs: 250 });
    await vi.advanceTimersByTimeAsync(250);
    ScriptedWebSocket.latest().welcome();
    expect(client.state).toBe("open");
    client.close();
  });

  it("a token provider that fails is reported as CredentialsError (with its cause) and retried", async () => {
    const cause = new Error("refresh endpoint down");
    const token = vi.fn<() => Promise<string>>().mockRejectedValueOnce(cause).mockResolvedValue("tok-ok");
    const { client, events } = newClient({ token });
    await settle();
    expect(ScriptedWebSocket.instances).toHaveLength(0);
    expect(events.errors[0]).toBeInstanceOf(CredentialsError);
    expect(events.errors[0]!.cause).toBe(cause);
    expect(client.state).toBe("reconnecting");
    await vi.advanceTimersByTimeAsync(250);
    expect(ScriptedWebSocket.latest().protocols).toEqual(["userhub.v1", "bearer.tok-ok"]);
    client.close();
  });
});

describe("UserhubClient: the hub's closing notice", () => {
  it("closing 4003 → RevokedError and closed at once, though the socket's close event never comes; nothing more goes out on it", async () => {
    const { client, socket, events } = await openClient({}, { heartbeat: { intervalMs: 1_000, timeoutMs: 2_500 } });
    const frames: unknown[] = [];
    client.addEventListener("frame", ({ detail }) => frames.push(detail));
    socket.receive({ type: "closing", code: 4003, reason: "signed out everywhere" });
    expect(client.state).toBe("closed");
    expect(events.errors).toHaveLength(1);
    expect(events.errors[0]).toBeInstanceOf(RevokedError);
    expect(events.errors[0]).toMatchObject({ code: 4003, reason: "signed out everywhere" });
    expect(events.events.slice(-3)).toEqual(["close:4003", "error:RevokedError", "state:closed"]);
    expect(frames).toEqual([]); // not an app frame
    expect(vi.getTimerCount()).toBe(0); // no heartbeat left on it
    await vi.advanceTimersByTimeAsync(120_000);
    expect(socket.sent).toEqual([]);
    expect(ScriptedWebSocket.instances).toHaveLength(1);
    // The close event, 10 s late or ever: no second close, no second error.
    socket.serverClose(4003, "signed out everywhere");
    expect(events.closes).toHaveLength(1);
    expect(events.errors).toHaveLength(1);
  });

  it("closing 4001 → reconnects at once with fresh credentials; the old socket's late close event changes nothing", async () => {
    const { client, socket, events } = await openClient({}, { heartbeat: { intervalMs: 1_000, timeoutMs: 2_500 } });
    for (let i = 0; i < 10; i++) {
      await vi.advanceTimersByTimeAsync(1_000); // a connection that had stayed open for a while
      socket.receive("pong");
    }
    const pings = socket.sent.length;
    const frames: unknown[] = [];
    client.addEventListener("frame", ({ detail }) => frames.push(detail));
    socket.receive({ type: "closing", code: 4001, reason: "token expired" });
    expect(events.closes).toEqual([{ code: 4001, byClient: false }]);
    expect(events.states.at(-1)).toMatchObject({ state: "reconnecting", delayMs: 0 });
    await settle();
    expect(ScriptedWebSocket.instances).toHaveLength(2);
    const next = ScriptedWebSocket.latest();
    expect(next.protocols).toEqual(["userhub.v1", "bearer.tok-2"]);
    // The old socket: no pings, no heartbeat deadline.
    await vi.advanceTimersByTimeAsync(5_000);
    expect(socket.sent).toHaveLength(pings);
    expect(events.closes).toHaveLength(1);
    socket.serverClose(4001, "token expired"); // ten seconds later, say
    expect(events.closes).toHaveLength(1);
    expect(ScriptedWebSocket.instances).toHaveLength(2);
    next.welcome();
    expect(client.state).toBe("open");
    expect(frames).toEqual([]);
    client.send("after");
    expect(next.sentFrames()).toEqual([{ type: "send", data: "after" }]);
    expect(socket.sentFrames()).toEqual([]);
    client.close();
  });

  it("a closing notice before the welcome counts the same (1008 there: PolicyViolationError)", async () => {
    const { client, events } = newClient();
    await settle();
    const socket = ScriptedWebSocket.latest();
    socket.open();
    socket.receive({ type: "closing", code: 1008, reason: "rate limit" });
    expect(client.state).toBe("closed");
    expect(events.errors[0]).toBeInstanceOf(PolicyViolationError);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("a closing notice for a code that reconnects ends the connection like its close (1011: backoff), and queues what is sent meanwhile", async () => {
    const { client, socket, events } = await openClient();
    socket.receive({ type: "closing", code: 1011, reason: "hub failed" });
    expect(events.closes).toEqual([{ code: 1011, byClient: false }]);
    expect(events.states.at(-1)).toEqual({ state: "reconnecting", attempt: 1, delayMs: 250 });
    client.send("queued");
    expect(socket.sent).toEqual([]);
    await vi.advanceTimersByTimeAsync(250);
    ScriptedWebSocket.latest().welcome();
    expect(ScriptedWebSocket.latest().sentFrames()).toEqual([{ type: "send", data: "queued" }]);
    client.close();
  });

  it("ignores a malformed closing notice (no usable code): not an app frame, the connection stays", async () => {
    const { client, socket, events } = await openClient();
    const frames: unknown[] = [];
    client.addEventListener("frame", ({ detail }) => frames.push(detail));
    for (const code of [undefined, "4003", 4003.5, 999, 5000]) socket.receive({ type: "closing", code, reason: "x" });
    expect(client.state).toBe("open");
    expect(events.closes).toEqual([]);
    expect(frames).toEqual([]);
    client.close();
  });
});

describe("UserhubClient: terminal refusals", () => {
  it("does not retry after close 1008: PolicyViolationError, then state closed, no timer left", async () => {
    const { client, socket, events } = await openClient();
    socket.serverClose(1008, "banned");
    expect(client.state).toBe("closed");
    expect(events.errors).toHaveLength(1);
    expect(events.errors[0]).toBeInstanceOf(PolicyViolationError);
    expect(events.errors[0]).toMatchObject({ code: 1008, reason: "banned" });
    expect(events.events.slice(-3)).toEqual(["close:1008", "error:PolicyViolationError", "state:closed"]);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(ScriptedWebSocket.instances).toHaveLength(1);
    expect(() => client.send("x")).toThrow(ClientClosedError);
  });

  it("does not retry after close 4003 (disconnected by a server): RevokedError, then state closed, no timer left", async () => {
    const { client, socket, events } = await openClient();
    socket.serverClose(4003, "signed out everywhere");
    expect(client.state).toBe("closed");
    expect(events.errors).toHaveLength(1);
    expect(events.errors[0]).toBeInstanceOf(RevokedError);
    expect(events.errors[0]).toMatchObject({ code: 4003, reason: "signed out everywhere" });
    expect(events.events.slice(-3)).toEqual(["close:4003", "error:RevokedError", "state:closed"]);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(ScriptedWebSocket.instances).toHaveLength(1);
    expect(() => client.send("x")).toThrow(ClientClosedError);
  });

  it("does not retry when the ticket endpoint answers 401: AuthRefusedError, state closed, no socket", async () => {
    const fetch = vi.fn(async () => new Response("401 Unauthorized: token expired.\n", { status: 401 }));
    const { client, events } = newClient({ token: undefined, ticket: ticketFrom("https://hub.example/ws/ticket", "jwt-1", { fetch }) });
    await settle();
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(ScriptedWebSocket.instances).toHaveLength(0);
    expect(client.state).toBe("closed");
    expect(events.errors[0]).toBeInstanceOf(AuthRefusedError);
    expect(events.errors[0]).toMatchObject({ status: 401 });
    expect(events.errors[0]!.message).toContain("token expired");
    expect(events.errors[0]!.message).not.toContain("jwt-1");
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it("does not retry when the token provider throws AuthRefusedError (e.g. signed out)", async () => {
    const { client, events } = newClient({
      token: () => {
        throw new AuthRefusedError("signed out");
      },
    });
    await settle();
    expect(client.state).toBe("closed");
    expect(events.errors.map((e) => e.name)).toEqual(["AuthRefusedError"]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("in ticket mode offers userhub.v1 and ticket.<ticket>, fetching a new ticket for every connect", async () => {
    let n = 0;
    const fetch = vi.fn(async () => Response.json({ ticket: `tkt${++n}`, expiresAt: 0 }));
    const { client } = newClient({ token: undefined, ticket: ticketFrom("https://hub.example/ws/ticket", "jwt-1", { fetch }) });
    await settle();
    const first = ScriptedWebSocket.latest();
    expect(first.protocols).toEqual(["userhub.v1", "ticket.tkt1"]);
    first.welcome();
    await vi.advanceTimersByTimeAsync(10_000); // stable
    first.receive("pong");
    first.serverClose(4001);
    await settle();
    expect(ScriptedWebSocket.latest().protocols).toEqual(["userhub.v1", "ticket.tkt2"]);
    client.close();
  });
});

describe("UserhubClient: token lifetime", () => {
  it("reconnects at once after 4001 on a connection that had stayed open stableAfterMs, with a freshly fetched token", async () => {
    const { client, socket, token, events } = await openClient();
    await vi.advanceTimersByTimeAsync(10_000);
    socket.receive("pong");
    socket.serverClose(4001, "token expired");
    expect(events.states.at(-1)).toEqual({ state: "reconnecting", attempt: 1, delayMs: 0 });
    await settle(); // the provider's answer; no time passes
    expect(ScriptedWebSocket.instances).toHaveLength(2);
    expect(token).toHaveBeenCalledTimes(2);
    expect(ScriptedWebSocket.latest().protocols).toEqual(["userhub.v1", "bearer.tok-2"]);
    client.close();
  });

  it("backs off, attempts counted, after a 4001 soon after the welcome (a provider handing out a token the hub deems expired)", async () => {
    const { client, socket, token, events } = await openClient();
    await vi.advanceTimersByTimeAsync(1_000);
    socket.serverClose(4001, "token expired");
    expect(events.states.at(-1)).toEqual({ state: "reconnecting", attempt: 1, delayMs: 250 });
    await settle();
    expect(ScriptedWebSocket.instances).toHaveLength(1);
    for (const [attempt, delayMs] of [[2, 500], [3, 1_000], [4, 2_000]] as const) {
      await vi.advanceTimersByTimeAsync(events.states.at(-1)!.delayMs!);
      const next = ScriptedWebSocket.latest();
      next.welcome();
      next.serverClose(4001, "token expired"); // at once: the same cached token
      expect(events.states.at(-1)).toEqual({ state: "reconnecting", attempt, delayMs });
    }
    // About 4 s and 4 connections, where reconnecting at once would have made one per round trip.
    expect(ScriptedWebSocket.instances).toHaveLength(4);
    expect(token).toHaveBeenCalledTimes(4);
    client.close();
  });

  it("backs off on a second 4001 in a row, even after a stable connection; a stable one after another close is replaced at once again", async () => {
    const { client, socket, events } = await openClient();
    await vi.advanceTimersByTimeAsync(10_000);
    socket.receive("pong");
    socket.serverClose(4001, "token expired");
    expect(events.states.at(-1)).toMatchObject({ state: "reconnecting", delayMs: 0 });
    await settle();
    const second = ScriptedWebSocket.latest();
    second.welcome();
    await vi.advanceTimersByTimeAsync(10_000);
    second.receive("pong");
    second.serverClose(4001, "token expired");
    // Stable, so the counter starts over, but through the backoff: a delay drawn from [0, baseMs].
    expect(events.states.at(-1)).toEqual({ state: "reconnecting", attempt: 1, delayMs: 250 });
    await vi.advanceTimersByTimeAsync(250);
    const third = ScriptedWebSocket.latest();
    third.welcome();
    await vi.advanceTimersByTimeAsync(10_000);
    third.receive("pong");
    third.serverClose(1001);
    await vi.advanceTimersByTimeAsync(events.states.at(-1)!.delayMs!);
    const fourth = ScriptedWebSocket.latest();
    fourth.welcome();
    await vi.advanceTimersByTimeAsync(10_000);
    fourth.receive("pong");
    fourth.serverClose(4001, "token expired");
    expect(events.states.at(-1)).toMatchObject({ state: "reconnecting", delayMs: 0 });
    client.close();
  });

  it("refreshes in band at 80% of the time left, and again after the hub's answer", async () => {
    const now = Date.now();
    // A heartbeat slower than the test, so that only the refresh is on the wire.
    const heartbeat = { intervalMs: 1_000_000, timeoutMs: 2_500_000 };
    const { client, socket, token } = await openClient({}, { expiresAt: now + 100_000, heartbeat });
    await vi.advanceTimersByTimeAsync(79_999);
    expect(socket.sentFrames()).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(token).toHaveBeenCalledTimes(2);
    expect(socket.sentFrames()).toEqual([{ type: "auth", token: "tok-2" }]);

    socket.receive({ type: "auth", expiresAt: Date.now() + 50_000 });
    await vi.advanceTimersByTimeAsync(40_000);
    expect(socket.sentFrames()).toEqual([
      { type: "auth", token: "tok-2" },
      { type: "auth", token: "tok-3" },
    ]);
    client.close();
  });

  it("refreshes at least 1 s before expiry when 80% would be later", async () => {
    const { client, socket } = await openClient({}, { expiresAt: Date.now() + 3_000 });
    await vi.advanceTimersByTimeAsync(1_999);
    expect(socket.sentFrames()).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(socket.sentFrames()).toEqual([{ type: "auth", token: "tok-2" }]);
    client.close();
  });

  it("on auth_failed reports a ServerError and does nothing else; the hub's 4001 then brings a fresh connection", async () => {
    const { client, socket, events } = await openClient({}, { expiresAt: Date.now() + 10_000 });
    await vi.advanceTimersByTimeAsync(8_000);
    socket.receive({ type: "error", code: "auth_failed", message: "token expired" });
    expect(events.errors.at(-1)).toBeInstanceOf(ServerError);
    expect(events.errors.at(-1)).toMatchObject({ code: "auth_failed", message: "token expired" });
    expect(client.state).toBe("open");
    await vi.advanceTimersByTimeAsync(2_000); // expiry: the connection had stayed open 10 s
    socket.receive("pong");
    socket.serverClose(4001);
    await settle();
    expect(ScriptedWebSocket.instances).toHaveLength(2);
    client.close();
  });

  it("stops asking when the provider returns no fresher token (the answer's expiresAt did not move)", async () => {
    const expiresAt = Date.now() + 10_000;
    const { client, socket } = await openClient({ token: () => "same" }, { expiresAt });
    await vi.advanceTimersByTimeAsync(8_000);
    socket.receive({ type: "auth", expiresAt });
    await vi.advanceTimersByTimeAsync(1_999);
    expect(socket.sentFrames()).toEqual([{ type: "auth", token: "same" }]);
    client.close();
  });
});

describe("UserhubClient: heartbeat", () => {
  it("sends exactly `ping` every heartbeat.intervalMs from the welcome", async () => {
    const { client, socket } = await openClient({}, { heartbeat: { intervalMs: 5_000, timeoutMs: 12_500 } });
    await vi.advanceTimersByTimeAsync(4_999);
    expect(socket.sent).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(socket.sent).toEqual(["ping"]);
    socket.receive("pong");
    await vi.advanceTimersByTimeAsync(5_000);
    expect(socket.sent).toEqual(["ping", "ping"]);
    client.close();
  });

  it("keeps a connection that answers its pings for as long as it answers", async () => {
    const { client, socket } = await openClient({}, { heartbeat: { intervalMs: 1_000, timeoutMs: 2_500 } });
    for (let i = 0; i < 20; i++) {
      await vi.advanceTimersByTimeAsync(1_000);
      socket.receive("pong");
    }
    expect(socket.closedWith).toBeNull();
    expect(ScriptedWebSocket.instances).toHaveLength(1);
    client.close();
  });

  it("detects a half-open connection: no pong within timeoutMs → close 4000 and reconnect", async () => {
    const { client, socket, events } = await openClient({}, { heartbeat: { intervalMs: 1_000, timeoutMs: 2_500 } });
    await vi.advanceTimersByTimeAsync(2_499);
    expect(socket.sent).toEqual(["ping", "ping"]);
    expect(socket.closedWith).toBeNull();
    await vi.advanceTimersByTimeAsync(1);
    expect(socket.closedWith?.code).toBe(4000);
    expect(events.closes).toEqual([{ code: 4000, byClient: true }]);
    expect(events.states.at(-1)).toEqual({ state: "reconnecting", attempt: 1, delayMs: 250 });
    // The dead socket's late close event, if it ever comes, changes nothing.
    socket.serverClose(1006);
    expect(events.closes).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(250);
    expect(ScriptedWebSocket.instances).toHaveLength(2);
    ScriptedWebSocket.latest().welcome();
    expect(client.state).toBe("open");
    client.close();
  });

  it("keeps a connection whose welcome announces a heartbeat timeout past setTimeout's 2^31 − 1 ms", async () => {
    const { client, socket, events } = await openClient({}, { heartbeat: { intervalMs: 30_000, timeoutMs: 3_000_000_000 } });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(socket.closedWith).toBeNull();
    expect(events.closes).toEqual([]);
    expect(socket.sent).toEqual(["ping", "ping"]);
    expect(client.state).toBe("open");
    client.close();
  });

  it("honours a connectTimeoutMs and backoff delays past setTimeout's 2^31 − 1 ms", async () => {
    const { client, events } = newClient({ connectTimeoutMs: 3_000_000_000, backoff: { baseMs: 10_000_000_000, maxMs: 10_000_000_000 } });
    await settle();
    ScriptedWebSocket.latest().open();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(events.closes).toEqual([]); // no connect timeout yet
    ScriptedWebSocket.latest().serverClose(1006);
    expect(events.states.at(-1)).toEqual({ state: "reconnecting", attempt: 1, delayMs: 5_000_000_000 });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(ScriptedWebSocket.instances).toHaveLength(1); // no retry yet
    client.close();
  });

  it("counts any frame, not only pong, as a sign of life", async () => {
    const { client, socket } = await openClient({}, { heartbeat: { intervalMs: 60_000, timeoutMs: 2_000 } });
    for (let seq = 1; seq <= 5; seq++) {
      await vi.advanceTimersByTimeAsync(1_500);
      socket.receive({ type: "message", seq, data: seq, at: 0 });
    }
    expect(socket.closedWith).toBeNull();
    client.close();
  });
});

describe("UserhubClient: sending", () => {
  it("queues sends until the welcome, then flushes them in order; later sends go straight out", async () => {
    const { client, events } = newClient();
    client.send("a");
    client.sendFrame({ type: "typing", on: true });
    client.send({ n: 3 });
    expect(client.queuedMessages).toBe(3);
    await settle();
    const socket = ScriptedWebSocket.latest();
    socket.open();
    expect(socket.sent).toEqual([]); // open is not enough: the welcome is
    socket.welcome();
    expect(socket.sentFrames()).toEqual([
      { type: "send", data: "a" },
      { type: "typing", on: true },
      { type: "send", data: { n: 3 } },
    ]);
    expect(client.queuedMessages).toBe(0);
    client.send("d");
    expect(socket.sentFrames().at(-1)).toEqual({ type: "send", data: "d" });
    expect(events.errors).toEqual([]);
    client.close();
  });

  it("throws QueueFullError synchronously when the queue is full, and still sends what it took", async () => {
    const { client } = newClient({ queue: { maxMessages: 2 } });
    client.send(1);
    client.send(2);
    expect(() => client.send(3)).toThrow(QueueFullError);
    await settle();
    const socket = ScriptedWebSocket.latest();
    socket.welcome();
    expect(socket.sentFrames()).toEqual([
      { type: "send", data: 1 },
      { type: "send", data: 2 },
    ]);
    client.close();
  });

  it("queues while reconnecting and flushes on the next welcome", async () => {
    const { client, socket } = await openClient();
    socket.serverClose(1006);
    client.send("while-away");
    expect(socket.sent).toEqual([]);
    await vi.advanceTimersByTimeAsync(250);
    const next = ScriptedWebSocket.latest();
    next.welcome();
    expect(next.sentFrames()).toEqual([{ type: "send", data: "while-away" }]);
    client.close();
  });

  it("throws MessageTooLargeError for a frame over the welcome's maxMessageBytes (UTF-8 bytes) and sends nothing", async () => {
    const { client, socket, events } = await openClient({}, { maxMessageBytes: 100 });
    // {"type":"send","data":"…"} is 25 bytes around the text: 38 "é" make 63 code units but 101 bytes.
    const error = (() => {
      try {
        client.send("é".repeat(38));
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(MessageTooLargeError);
    expect(error).toMatchObject({ name: "MessageTooLargeError", messageBytes: 101, maxMessageBytes: 100, frame: JSON.stringify({ type: "send", data: "é".repeat(38) }) });
    expect(() => client.sendFrame({ type: "note", data: "x".repeat(100) })).toThrow(MessageTooLargeError);
    expect(socket.sent).toEqual([]);
    expect(client.queuedMessages).toBe(0);
    client.send("é".repeat(37) + "a"); // exactly 100 bytes: the hub takes it
    expect(socket.sentFrames()).toEqual([{ type: "send", data: "é".repeat(37) + "a" }]);
    expect(events.errors).toEqual([]);
    expect(client.state).toBe("open");
    client.close();
  });

  it("drops a queued frame found too large at the flush, with an error event, and sends every other one in order", async () => {
    const { client, socket, events } = await openClient();
    socket.serverClose(1006);
    const big = "x".repeat(70 * 1024);
    for (let i = 1; i <= 200; i++) client.send(i === 60 ? big : i);
    expect(client.queuedMessages).toBe(200);
    await vi.advanceTimersByTimeAsync(250);
    const next = ScriptedWebSocket.latest();
    next.welcome(); // maxMessageBytes 65 536
    expect(next.sentFrames()).toEqual(Array.from({ length: 200 }, (_, i) => i + 1).filter((i) => i !== 60).map((i) => ({ type: "send", data: i })));
    expect(client.queuedMessages).toBe(0);
    expect(events.errors).toHaveLength(1);
    expect(events.errors[0]).toBeInstanceOf(MessageTooLargeError);
    expect(events.errors[0]).toMatchObject({ maxMessageBytes: 65_536, messageBytes: 70 * 1024 + 25, frame: JSON.stringify({ type: "send", data: big }) });
    expect(next.closedWith).toBeNull();
    expect(client.state).toBe("open");
    client.close();
  });

  it("stops flushing when an error listener closes the client on a frame too large", async () => {
    const { client, socket } = await openClient();
    socket.serverClose(1006);
    client.send(1);
    client.send("x".repeat(70 * 1024));
    client.send(3);
    client.addEventListener("error", ({ detail }) => {
      if (detail instanceof MessageTooLargeError) client.close();
    });
    await vi.advanceTimersByTimeAsync(250);
    const next = ScriptedWebSocket.latest();
    next.welcome();
    expect(next.sentFrames()).toEqual([{ type: "send", data: 1 }]);
    expect(client.state).toBe("closed");
  });

  it("sends frames of any size to a hub whose welcome names no maxMessageBytes (an older hub), as before", async () => {
    const { client, socket, events } = await openClient({}, { maxMessageBytes: undefined });
    client.send("x".repeat(70 * 1024));
    expect(socket.sent).toHaveLength(1);
    socket.serverClose(1006);
    client.send("y".repeat(70 * 1024));
    await vi.advanceTimersByTimeAsync(250);
    const next = ScriptedWebSocket.latest();
    next.welcome({ maxMessageBytes: undefined });
    expect(next.sent).toHaveLength(1);
    expect(events.errors).toEqual([]);
    client.close();
  });

  it("refuses a frame without a type", () => {
    const { client } = newClient();
    expect(() => client.sendFrame({ type: "" })).toThrow(TypeError);
    client.close();
  });
});

describe("UserhubClient: resume", () => {
  it("resumes with since/epoch (never the token), replays before flushing, and drops duplicates", async () => {
    const { client, socket, events } = await openClient({}, { seq: 3, epoch: "ep-A" });
    expect(client.lastSeq).toBe(3);
    socket.receive({ type: "message", seq: 4, data: "four", at: 1 });
    socket.receive({ type: "message", seq: 5, data: "five", at: 2, from: "conn-1" });
    socket.serverClose(1006);
    client.send("queued");

    await vi.advanceTimersByTimeAsync(250);
    const next = ScriptedWebSocket.latest();
    const url = new URL(next.url);
    expect(url.searchParams.get("since")).toBe("5");
    expect(url.searchParams.get("epoch")).toBe("ep-A");
    expect(next.url).not.toContain("tok-");
    expect(next.protocols[1]).toBe("bearer.tok-2");

    next.welcome({ seq: 7, epoch: "ep-A" });
    expect(next.sent).toEqual([]); // the replay (6, 7) is not in yet
    next.receive({ type: "message", seq: 5, data: "five again", at: 2 }); // duplicate
    next.receive({ type: "message", seq: 6, data: "six", at: 3 });
    expect(next.sent).toEqual([]);
    next.receive({ type: "message", seq: 6, data: "six again", at: 3 }); // duplicate
    next.receive({ type: "message", seq: 7, data: "seven", at: 4 });
    expect(next.sentFrames()).toEqual([{ type: "send", data: "queued" }]);
    next.receive({ type: "message", seq: 8, data: "eight", at: 5 });

    expect(events.messages).toEqual([
      { seq: 4, data: "four" },
      { seq: 5, data: "five" },
      { seq: 6, data: "six" },
      { seq: 7, data: "seven" },
      { seq: 8, data: "eight" },
    ]);
    expect(client.lastSeq).toBe(8);
    client.close();
  });

  it("exposes seq, data, at and from on every message", async () => {
    const { client, socket } = await openClient();
    const seen: unknown[] = [];
    client.addEventListener("message", ({ detail }) => seen.push(detail));
    socket.receive({ type: "message", seq: 1, data: { text: "hi" }, at: 42, from: "conn-9" });
    socket.receive({ type: "message", seq: 2, data: null, at: 43 });
    expect(seen).toEqual([
      { seq: 1, data: { text: "hi" }, at: 42, from: "conn-9" },
      { seq: 2, data: null, at: 43 },
    ]);
    client.close();
  });

  it("a reset frame moves tracking to its latest, dispatches reset, and flushes the queue", async () => {
    const { client, socket, events } = await openClient({}, { seq: 2 });
    socket.serverClose(1006);
    client.send("queued");
    await vi.advanceTimersByTimeAsync(250);
    const next = ScriptedWebSocket.latest();
    next.welcome({ seq: 900 });
    next.receive({ type: "reset", epoch: "e1", oldest: 800, latest: 900 });
    expect(events.resets).toEqual([{ type: "reset", epoch: "e1", oldest: 800, latest: 900 }]);
    expect(client.lastSeq).toBe(900);
    expect(next.sentFrames()).toEqual([{ type: "send", data: "queued" }]);
    next.receive({ type: "message", seq: 900, data: "old", at: 0 }); // not after latest: dropped
    next.receive({ type: "message", seq: 901, data: "new", at: 0 });
    expect(events.messages.map((m) => m.seq)).toEqual([901]);
    client.close();
  });

  it("a welcome with another epoch restarts tracking; the hub's reset frame is dispatched once", async () => {
    const { client, socket, events } = await openClient({}, { seq: 10, epoch: "old" });
    socket.serverClose(1006);
    await vi.advanceTimersByTimeAsync(250);
    const next = ScriptedWebSocket.latest();
    expect(new URL(next.url).searchParams.get("epoch")).toBe("old");
    next.welcome({ seq: 2, epoch: "new" });
    expect(client.epoch).toBe("new");
    expect(client.lastSeq).toBe(2);
    next.receive({ type: "reset", epoch: "new", oldest: 1, latest: 2 });
    next.receive({ type: "message", seq: 3, data: "live", at: 0 });
    expect(events.resets).toEqual([{ type: "reset", epoch: "new", oldest: 1, latest: 2 }]);
    expect(events.messages.map((m) => m.seq)).toEqual([3]); // 3 < 10 but of the new epoch: not a duplicate
    client.close();
  });

  it("a welcome with another epoch still dispatches reset if no reset frame follows", async () => {
    const { client, socket, events } = await openClient({}, { seq: 10, epoch: "old" });
    socket.serverClose(1006);
    await vi.advanceTimersByTimeAsync(250);
    const next = ScriptedWebSocket.latest();
    next.welcome({ seq: 2, epoch: "new" });
    next.receive({ type: "message", seq: 3, data: "live", at: 0 });
    expect(events.resets).toEqual([{ type: "reset", epoch: "new", oldest: 3, latest: 2 }]);
    expect(events.events.slice(-2)).toEqual(["reset", "message:3"]);
    client.close();
  });

  it("starts from resumeFrom when given", async () => {
    const { client } = newClient({ resumeFrom: { seq: 41, epoch: "saved" } });
    await settle();
    const url = new URL(ScriptedWebSocket.latest().url);
    expect([url.searchParams.get("since"), url.searchParams.get("epoch")]).toEqual(["41", "saved"]);
    client.close();
  });
});

describe("UserhubClient: other frames", () => {
  it("turns error frames into ServerError events and passes app frames through as 'frame'", async () => {
    const { client, socket, events } = await openClient();
    const frames: unknown[] = [];
    client.addEventListener("frame", ({ detail }) => frames.push(detail));
    socket.receive({ type: "error", code: "invalid_frame", message: '"data" must be a string' });
    socket.receive({ type: "presence", online: ["conn-2"] });
    socket.receive("not json");
    expect(events.errors).toHaveLength(1);
    expect(events.errors[0]).toBeInstanceOf(ServerError);
    expect(events.errors[0]).toMatchObject({ name: "ServerError", code: "invalid_frame" });
    expect(frames).toEqual([{ type: "presence", online: ["conn-2"] }]);
    expect(client.state).toBe("open");
    // A rate_limited frame's retryAfterMs comes with it (frames past a limit are dropped, not re-sent: the app decides).
    socket.receive({ type: "error", code: "rate_limited", message: "more than 200 frames per second", retryAfterMs: 250 });
    expect(events.errors[1]).toMatchObject({ name: "ServerError", code: "rate_limited", retryAfterMs: 250 });
    expect((events.errors[0] as ServerError).retryAfterMs).toBeUndefined();
    // An answer to a frame that carried an id names it; one that did not has none.
    socket.receive({ type: "error", code: "rate_limited", message: 'bob takes no more from you this minute', retryAfterMs: 900, id: "m7" });
    expect(events.errors[2]).toMatchObject({ name: "ServerError", code: "rate_limited", id: "m7" });
    expect((events.errors[1] as ServerError).id).toBeUndefined();
    client.close();
  });
});

describe("UserhubClient: signals", () => {
  it("surfaces signal frames as 'signal' events, not as messages or app frames, and leaves the resume point alone", async () => {
    const { client, socket } = await openClient();
    const signals: unknown[] = [];
    const others: unknown[] = [];
    client.addEventListener("signal", ({ detail }) => signals.push(detail));
    client.addEventListener("frame", ({ detail }) => others.push(detail));
    client.addEventListener("message", ({ detail }) => others.push(detail));
    const before = client.lastSeq;
    socket.receive({ type: "signal", data: { typing: true }, from: "conn-2" });
    expect(signals).toEqual([{ type: "signal", data: { typing: true }, from: "conn-2" }]);
    expect(others).toEqual([]);
    expect(client.lastSeq).toBe(before);
    client.close();
  });
});

describe("UserhubClient: the network", () => {
  it("stops retrying while offline and connects at once when online", async () => {
    const network = new EventTarget();
    const { client, socket, events } = await openClient({ network });
    socket.serverClose(1006);
    network.dispatchEvent(new Event("offline"));
    expect(events.states.at(-1)).toEqual({ state: "reconnecting", attempt: 1, offline: true });
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(600_000);
    expect(ScriptedWebSocket.instances).toHaveLength(1);

    network.dispatchEvent(new Event("online"));
    await settle();
    expect(ScriptedWebSocket.instances).toHaveLength(2);
    ScriptedWebSocket.latest().welcome();
    expect(client.state).toBe("open");

    // A close while offline waits for `online` instead of a delay.
    network.dispatchEvent(new Event("offline"));
    expect(client.state).toBe("open"); // an open connection is left to its heartbeat
    ScriptedWebSocket.latest().serverClose(1006);
    expect(events.states.at(-1)).toMatchObject({ state: "reconnecting", offline: true });
    expect(vi.getTimerCount()).toBe(0);
    network.dispatchEvent(new Event("online"));
    await settle();
    expect(ScriptedWebSocket.instances).toHaveLength(3);
    client.close();
  });
});

describe("UserhubClient: close()", () => {
  it("leaves no timer when open (heartbeat, liveness and refresh timers running)", async () => {
    const { client, socket, events } = await openClient({}, { expiresAt: Date.now() + 60_000 });
    expect(vi.getTimerCount()).toBeGreaterThanOrEqual(3);
    client.close();
    expect(vi.getTimerCount()).toBe(0);
    expect(socket.closedWith).toEqual({ code: 1000, reason: "client closed" });
    expect(client.state).toBe("closed");
    expect(events.events.slice(-2)).toEqual(["close:1000", "state:closed"]);
    await vi.advanceTimersByTimeAsync(600_000);
    expect(ScriptedWebSocket.instances).toHaveLength(1);
    expect(socket.sent).toEqual([]);
  });

  it("leaves no timer while waiting to reconnect, and never reconnects", async () => {
    const { client, socket } = await openClient();
    socket.serverClose(1006);
    expect(vi.getTimerCount()).toBe(1);
    client.close();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(600_000);
    expect(ScriptedWebSocket.instances).toHaveLength(1);
  });

  it("leaves no timer while connecting, even with the token provider still pending", async () => {
    let release!: (token: string) => void;
    const { client } = newClient({ token: () => new Promise<string>((resolve) => (release = resolve)) });
    await settle();
    expect(vi.getTimerCount()).toBe(1); // the connect timeout
    client.close();
    expect(vi.getTimerCount()).toBe(0);
    release("late");
    await settle();
    expect(ScriptedWebSocket.instances).toHaveLength(0);
  });

  it("before the first microtask: no connection is ever made", async () => {
    const { client, events } = newClient();
    client.close();
    await settle();
    expect(ScriptedWebSocket.instances).toHaveLength(0);
    expect(events.events).toEqual(["state:closed"]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("from inside a listener stops everything, and a second close() does nothing", async () => {
    const { client, socket } = await openClient();
    client.addEventListener("close", () => client.close());
    socket.serverClose(1011);
    expect(client.state).toBe("closed");
    expect(vi.getTimerCount()).toBe(0);
    client.close();
    expect(() => client.send("x")).toThrow(ClientClosedError);
  });
});

describe("UserhubClient: options", () => {
  it("refuses a missing credential provider and a URL that cannot be a WebSocket URL", () => {
    expect(() => new UserhubClient({ url: URL_WS, WebSocket: ScriptedWebSocket, network: null })).toThrow(TypeError);
    expect(() => new UserhubClient({ url: "ftp://hub.example/ws", token: () => "t", WebSocket: ScriptedWebSocket, network: null })).toThrow(TypeError);
    expect(() => new UserhubClient({ url: "/ws", token: () => "t", WebSocket: ScriptedWebSocket, network: null })).toThrow(TypeError);
  });

  it("turns https: into wss:", async () => {
    const { client } = newClient({ url: "https://hub.example/ws" });
    await settle();
    expect(ScriptedWebSocket.latest().url).toBe("wss://hub.example/ws?ack=1");
    client.close();
  });

  it("stops for good when new WebSocket throws (a bad URL or port is configuration): SocketSetupError", async () => {
    const thrown = new DOMException("port blocked", "SecurityError");
    class ThrowingWebSocket extends ScriptedWebSocket {
      constructor(url: string, protocols: string[]) {
        super(url, protocols);
        throw thrown;
      }
    }
    const { client, events } = newClient({ WebSocket: ThrowingWebSocket });
    await settle();
    expect(client.state).toBe("closed");
    expect(events.errors[0]).toBeInstanceOf(SocketSetupError);
    expect(events.errors[0]!.cause).toBe(thrown);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("ignores a welcome it cannot follow and lets the connect timeout replace the connection", async () => {
    const { client, events } = newClient();
    await settle();
    const first = ScriptedWebSocket.latest();
    first.open();
    first.receive({ type: "welcome", connectionId: "c", seq: "7", epoch: "e1" });
    expect(client.state).toBe("connecting");
    await vi.advanceTimersByTimeAsync(10_000);
    expect(first.closedWith?.code).toBe(4000);
    expect(events.closes).toEqual([{ code: 4000, byClient: true }]);
    client.close();
  });

  it("still closes the socket when close() is given a reason too long for a close frame", async () => {
    const { client, socket } = await openClient();
    const original = socket.close.bind(socket);
    socket.close = (code?: number, reason?: string) => {
      if (reason !== undefined && new TextEncoder().encode(reason).byteLength > 123) throw new DOMException("reason too long", "SyntaxError");
      original(code, reason);
    };
    client.close("x".repeat(200));
    expect(socket.closedWith).toEqual({ code: 1000, reason: undefined });
  });

  it("treats a token that cannot be a subprotocol as a provider failure: CredentialsError, retried with backoff", async () => {
    const token = vi.fn<() => string>().mockReturnValueOnce("has space").mockReturnValue("tok-ok");
    const { client, events } = newClient({ token });
    await settle();
    expect(ScriptedWebSocket.instances).toHaveLength(0);
    expect(events.errors[0]).toBeInstanceOf(CredentialsError);
    expect(events.errors[0]!.message).not.toContain("has space");
    expect(events.states.at(-1)).toEqual({ state: "reconnecting", attempt: 1, delayMs: 250 });
    await vi.advanceTimersByTimeAsync(250);
    expect(ScriptedWebSocket.latest().protocols).toEqual(["userhub.v1", "bearer.tok-ok"]);
    client.close();
  });

  it.each([[""], [undefined], [null]])("a token provider giving %j (a session still loading) is retried with backoff, not final", async (first) => {
    const token = vi.fn<() => string>().mockReturnValueOnce(first as unknown as string).mockReturnValue("tok-ok");
    const { client, events } = newClient({ token });
    await settle();
    expect(client.state).toBe("reconnecting");
    expect(events.errors).toHaveLength(1);
    expect(events.errors[0]).toBeInstanceOf(CredentialsError);
    await vi.advanceTimersByTimeAsync(250);
    const socket = ScriptedWebSocket.latest();
    expect(socket.protocols).toEqual(["userhub.v1", "bearer.tok-ok"]);
    socket.welcome();
    expect(client.state).toBe("open");
    client.close();
  });

  it("a ticket endpoint answering 200 without a usable ticket is retried with backoff; a good ticket then connects", async () => {
    const answers = [{ ticket: "has space" }, { ticket: "" }, { ticket: "tkt-good", expiresAt: 0 }];
    const fetch = vi.fn(async () => Response.json(answers.shift()));
    const { client, events } = newClient({ token: undefined, ticket: ticketFrom("https://hub.example/ws/ticket", "jwt-1", { fetch }) });
    await settle();
    expect(events.errors[0]).toBeInstanceOf(CredentialsError);
    expect(events.errors[0]!.cause).toBeInstanceOf(TicketRequestError);
    expect(events.errors[0]!.message).not.toContain("has space");
    expect(client.state).toBe("reconnecting");
    await vi.advanceTimersByTimeAsync(250);
    expect(events.errors[1]).toBeInstanceOf(CredentialsError);
    await vi.advanceTimersByTimeAsync(500);
    expect(fetch).toHaveBeenCalledTimes(3);
    expect(ScriptedWebSocket.latest().protocols).toEqual(["userhub.v1", "ticket.tkt-good"]);
    client.close();
  });

  it("an in-band refresh that gets no token sends nothing and reports a CredentialsError; the connection stays", async () => {
    const token = vi.fn<() => string>().mockReturnValueOnce("tok-1").mockReturnValue("");
    const { client, socket, events } = await openClient({ token }, { expiresAt: Date.now() + 10_000 });
    await vi.advanceTimersByTimeAsync(8_000);
    expect(token).toHaveBeenCalledTimes(2);
    expect(socket.sentFrames()).toEqual([]);
    expect(events.errors).toHaveLength(1);
    expect(events.errors[0]).toBeInstanceOf(CredentialsError);
    expect(client.state).toBe("open");
    client.close();
  });
});

describe("UserhubClient: acknowledgments", () => {
  it("asks for ack=1, and acknowledges in one ack frame per eighth of the hub's bound, nothing more", async () => {
    const { client, socket } = await openClient({}, { maxUnackedBytes: 8_000 });
    expect(new URL(socket.url).searchParams.get("ack")).toBe("1");
    const pad = "x".repeat(200);
    for (let seq = 1; seq <= 20; seq++) socket.receive({ type: "message", seq, data: pad, at: 1 });
    const acks = socket.sentFrames().filter((f) => (f as { type?: string }).type === "ack");
    // Each frame is 243 or 244 code units: the threshold of 1000 (8000 / 8) is reached every 5 deliveries.
    expect(JSON.stringify({ type: "message", seq: 1, data: pad, at: 1 }).length).toBe(243);
    expect(acks).toEqual([5, 10, 15, 20].map((seq) => ({ type: "ack", seq })));
    // Nothing else went out: heartbeats, if any, are the bare text "ping" the runtime answers by itself.
    expect(socket.sent.filter((text) => text !== "ping" && !text.startsWith('{"type":"ack"'))).toEqual([]);
    client.close();
  });

  it("sends no ack frame to a hub that announced no bound", async () => {
    const { client, socket } = await openClient();
    for (let seq = 1; seq <= 50; seq++) socket.receive({ type: "message", seq, data: "y".repeat(1000), at: 1 });
    expect(socket.sentFrames()).toEqual([]);
    client.close();
  });
});
