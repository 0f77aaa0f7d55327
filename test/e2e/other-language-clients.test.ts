// The README's "Connect from other languages": its Python (`websockets`) and
// Go (`gorilla/websocket`) clients, taken from the README as printed, run
// against a real `wrangler dev` with short heartbeats. They exchange frames,
// get a push, and stay up past two heartbeat timeouts. Beside them, a client
// of each language that keeps alive with protocol-level PINGs only (what
// those libraries offer) gets its PONGs and is still closed with 4000, with a
// reason that names the text `ping`.
//
// Without python3-websockets or Go with gorilla/websocket, that language's
// tests are skipped, their names saying what to install (.ci/run installs both).
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { codeBlock, codeBlocks, README_DEV_HOST, readmeSection } from "../support/readme.ts";
import { startWranglerDev, type WranglerDev } from "../support/wrangler-dev.ts";

const INTERVAL_MS = 1_000;
const TIMEOUT_MS = 3_000;
const PUSH_KEY = "userhub-local-push-key"; // .dev.vars
const LINE_TIMEOUT_MS = 30_000;
const FIXTURES = fileURLToPath(new URL("./other-languages/", import.meta.url));

const SECTION = readmeSection("### Connect from other languages");
const README_RUN_LINES = codeBlocks(SECTION, "sh").join("\n");

/** How to run a program in a language, or why it cannot be run here. */
interface Language {
  readonly name: string;
  readonly file: string;
  readonly code: string;
  /** A command line for `file`, or a sentence saying what to install. */
  readonly runner: { command: string; args: (file: string) => string[]; env: NodeJS.ProcessEnv } | { missing: string };
}

function findPython(): Language["runner"] {
  // Debian's python3-websockets belongs to /usr/bin/python3; PATH's python3 may be another (pyenv).
  for (const python of ["/usr/bin/python3", "python3"]) {
    const probe = spawnSync(python, ["-c", "import websockets, sys; sys.exit(0 if int(websockets.__version__.split('.')[0]) >= 10 else 1)"]);
    if (probe.status === 0) return { command: python, args: (file) => [file], env: {} };
  }
  return { missing: "no python3 with websockets ≥ 10: apt-get install python3-websockets (or pip install websockets)" };
}

function findGo(): Language["runner"] {
  // GOPATH mode, as the README runs it: Debian's packages live in /usr/share/gocode.
  const gopath = [process.env.GOPATH ?? join(homedir(), "go"), "/usr/share/gocode"].join(delimiter);
  const env = { GO111MODULE: "off", GOPATH: gopath, GOFLAGS: "" };
  const probe = spawnSync("go", ["list", "github.com/gorilla/websocket"], { env: { ...process.env, ...env } });
  if (probe.status === 0) return { command: "go", args: (file) => ["run", file], env };
  return { missing: "no Go with gorilla/websocket: apt-get install golang-go golang-github-gorilla-websocket-dev" };
}

/** A running client: its stdout as lines, its stdin, its exit. */
class ClientProcess {
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;
  #stderr = "";
  #waiters: Array<() => void> = [];

  constructor(readonly child: ChildProcessWithoutNullStreams) {
    let partial = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      const parts = (partial + chunk).split("\n");
      partial = parts.pop()!;
      this.lines.push(...parts);
      for (const wake of this.#waiters.splice(0)) wake();
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (this.#stderr += chunk));
    this.exited = new Promise((resolve) => child.once("close", (code) => {
      for (const wake of this.#waiters.splice(0)) wake();
      resolve(code);
    }));
  }

  /** The first line from index `from` on that `matches`, waiting for it (no more than LINE_TIMEOUT_MS). */
  async line(matches: (line: string) => boolean, what: string, from = 0): Promise<string> {
    const deadline = Date.now() + LINE_TIMEOUT_MS;
    for (;;) {
      const found = this.lines.slice(from).find(matches);
      if (found !== undefined) return found;
      if (this.child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`no line: ${what}\nstdout:\n${this.lines.join("\n")}\nstderr:\n${this.#stderr}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1_000);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The message frame whose `data` equals `data`, once printed. */
  async message(data: unknown, from = 0): Promise<Record<string, unknown>> {
    const expected = JSON.stringify(data);
    const line = await this.line((l) => l.startsWith("{") && JSON.stringify((JSON.parse(l) as { data?: unknown }).data) === expected, `message ${expected}`, from);
    return JSON.parse(line) as Record<string, unknown>;
  }

  get stderr(): string {
    return this.#stderr;
  }

  stop(): void {
    if (this.child.exitCode === null) this.child.kill("SIGKILL");
  }
}

let dev: WranglerDev;
let scratch: string;
const running: ClientProcess[] = [];

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "userhub-other-languages-"));
  // The eager sweep (a janitor alarm every timeout): a silent socket is closed about one timeout after its last sign of
  // life even when nothing else wakes its hub, so the text-ping loops are what keeps the README's clients up.
  dev = await startWranglerDev({
    vars: { HEARTBEAT_INTERVAL_MS: String(INTERVAL_MS), HEARTBEAT_TIMEOUT_MS: String(TIMEOUT_MS), HEARTBEAT_SWEEP_MS: String(TIMEOUT_MS) },
  });
});

afterAll(async () => {
  for (const client of running) client.stop();
  await Promise.all(running.map((client) => client.exited));
  await dev?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function tokenFor(userId: string): Promise<string> {
  const response = await fetch(`${dev.url}/dev/token`, { method: "POST", body: JSON.stringify({ userId }) });
  expect(response.status).toBe(200);
  return ((await response.json()) as { token: string }).token;
}

async function start(runner: Exclude<Language["runner"], { missing: string }>, file: string, userId: string): Promise<ClientProcess> {
  const token = await tokenFor(userId);
  const child = spawn(runner.command, [...runner.args(file), `${dev.wsUrl}/ws`], {
    cwd: scratch,
    env: { ...process.env, ...runner.env, TOKEN: token },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const client = new ClientProcess(child);
  running.push(client);
  return client;
}

const languages: Array<{ name: string; file: string; language: string; pingOnly: string; runner: () => Language["runner"] }> = [
  { name: "Python", file: "userhub_client.py", language: "python", pingOnly: "protocol_ping_only.py", runner: findPython },
  { name: "Go", file: "userhub_client.go", language: "go", pingOnly: "protocol_ping_only.go", runner: findGo },
];

// Every test runs at once: each has its own user and client process on the one server, and each mostly waits
// (heartbeat timeouts, the hub's sweep), so together they take about as long as the longest.
for (const { name, file, language, pingOnly, runner: find } of languages) {
  const runner = find();
  describe.concurrent(`${name}`, () => {
    if ("missing" in runner) {
      console.warn(`skipping the README's ${name} client: ${runner.missing}`);
      test.skip(`the README's ${name} client (${runner.missing})`, () => {});
      return;
    }

    test(`the README shows how to run its ${name} client`, () => {
      expect(README_RUN_LINES).toContain(file);
      expect(README_RUN_LINES).toContain(`ws://${README_DEV_HOST}/ws`);
    });

    test(`the README's ${name} client connects, exchanges frames, gets a push and stays up past two heartbeat timeouts`, async () => {
      const path = join(scratch, file);
      await writeFile(path, codeBlock(SECTION, language));
      const userId = `${language}-${randomUUID().slice(0, 8)}`;
      const client = await start(runner, path, userId);

      const welcome = JSON.parse(await client.line((l) => l.includes('"type":"welcome"'), "the welcome")) as Record<string, unknown>;
      expect(welcome).toMatchObject({ type: "welcome", userId, connections: 1, heartbeat: { intervalMs: INTERVAL_MS, timeoutMs: TIMEOUT_MS } });
      const welcomedAt = Date.now();

      client.child.stdin.write(`hello from ${name}\n`);
      expect(await client.message(`hello from ${name}`)).toMatchObject({ type: "message", seq: 1, from: welcome.connectionId });

      const pushed = await fetch(`${dev.url}/users/${userId}/messages`, {
        method: "POST",
        headers: { Authorization: `Bearer ${PUSH_KEY}`, "Content-Type": "application/json" },
        body: JSON.stringify({ data: { text: "from the server" } }),
      });
      expect(pushed.status).toBe(200);
      expect(await client.message({ text: "from the server" })).toMatchObject({ type: "message", seq: 2 });

      // Two heartbeat timeouts, and one interval of the hub's sweep grace, pass in silence but for its pings.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, welcomedAt + 2 * TIMEOUT_MS + INTERVAL_MS - Date.now())));
      const before = client.lines.length;
      client.child.stdin.write("still here\n");
      expect(await client.message("still here", before)).toMatchObject({ type: "message", seq: 3 });
      expect(client.lines.filter((l) => l.startsWith("closed"))).toEqual([]);

      // End of input: it closes with 1000 and exits cleanly.
      client.child.stdin.end();
      expect(await client.line((l) => l.startsWith("closed"), "its close")).toMatch(/^closed 1000\b/);
      expect(await client.exited, client.stderr).toBe(0);
    });

    test(`a ${name} client that keeps alive with protocol-level PINGs only gets PONGs, yet is closed with 4000 naming the text "ping"`, async () => {
      const client = await start(runner, join(FIXTURES, pingOnly), `${language}-pings-${randomUUID().slice(0, 8)}`);
      await client.line((l) => l.includes('"type":"welcome"'), "the welcome");
      const closed = await client.line((l) => l.startsWith("closed"), "its close");
      expect(closed).toBe('closed 4000 heartbeat timeout: send the text "ping" every heartbeat.intervalMs; protocol-level pings never reach the hub');
      const pongs = Number(/^pongs (\d+)$/.exec(await client.line((l) => l.startsWith("pongs"), "its pong count"))![1]);
      expect(pongs).toBeGreaterThan(0);
      expect(await client.exited, client.stderr).toBe(0);
    });
  });
}
