// The README's curl lines ("Get a token and connect with curl"), run as
// printed with real bash, curl and openssl against a real `wrangler dev`.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, test } from "vitest";
import { startWranglerDev, type WranglerDev } from "../support/wrangler-dev.ts";

const README = readFileSync(fileURLToPath(new URL("../../README.md", import.meta.url)), "utf8");
/** The README's local server origin (the `[dev]` host and port of wrangler.toml). */
const README_ORIGIN = /http:\/\/(?:127\.0\.0\.1|localhost):\d+/g;

let dev: WranglerDev;

beforeAll(async () => {
  dev = await startWranglerDev();
});

afterAll(async () => {
  await dev?.stop();
});

/** The README section that starts with the heading `### <title>`, up to the next heading. */
function section(title: string): string {
  const start = README.indexOf(`### ${title}\n`);
  expect(start, `README has a "### ${title}" section`).toBeGreaterThanOrEqual(0);
  const rest = README.slice(start + 1);
  const end = rest.search(/\n#{1,3} /);
  return end === -1 ? rest : rest.slice(0, end);
}

function lineStartingWith(text: string, prefix: string): string {
  const lines = text.split("\n").filter((l) => l.startsWith(prefix));
  expect(lines, `exactly one line starting with ${prefix}`).toHaveLength(1);
  return lines[0]!;
}

/** The README's text with its local origin replaced by this test's server. */
function forThisServer(text: string): string {
  expect(text, "names the README's local origin").toMatch(README_ORIGIN);
  return text.replace(README_ORIGIN, dev.url);
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a script with `bash -c`; kills its process group if it outlives `timeoutMs`. */
function bash(script: string, timeoutMs = 20_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-c", script], { detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("latin1").on("data", (c: string) => (stdout += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
      reject(new Error(`bash -c did not finish within ${timeoutMs} ms; stdout so far:\n${stdout}\nstderr:\n${stderr}`));
    }, timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test("the README's TOKEN= and curl upgrade lines get 101 and alice's welcome frame", async () => {
  const readmeSection = section("Get a token and connect with curl");
  const tokenLine = lineStartingWith(readmeSection, "TOKEN=");
  const curlLine = lineStartingWith(readmeSection, 'curl -i -N -H "Connection: Upgrade"');

  // curl -N keeps streaming the socket; --max-time ends it (exit code 28, expected).
  const script = [
    "set -u",
    forThisServer(tokenLine),
    'test -n "$TOKEN" || { echo "TOKEN is empty" >&2; exit 90; }',
    `${forThisServer(curlLine)} --max-time 8`,
  ].join("\n");
  const run = await bash(script);

  expect(run.code, run.stderr).toBe(28);
  expect(run.stdout).toContain("HTTP/1.1 101 Switching Protocols");
  // The welcome frame follows the headers as it travels (README): a text frame's
  // header, 0x81, then 0x7E and two bytes of length (it is over 125 bytes), then the JSON.
  const afterHeaders = run.stdout.slice(run.stdout.indexOf("\r\n\r\n") + 4);
  const bytes = Buffer.from(afterHeaders, "latin1");
  expect([bytes[0], bytes[1]]).toEqual([0x81, 0x7e]);
  const length = bytes.readUInt16BE(2);
  expect(JSON.parse(bytes.subarray(4, 4 + length).toString("utf8"))).toMatchObject({ type: "welcome", userId: "alice" });
  expect(afterHeaders).toContain('"type":"welcome"');
  expect(afterHeaders).toContain('"userId":"alice"');
  expect(afterHeaders).toMatch(/"connections":1\b/);
  expect(afterHeaders).toMatch(/"seq":0\b/);
  // The demo Worker's defaults (README, "Configuration"): this server runs without overrides.
  expect(afterHeaders).toContain('"heartbeat":{"intervalMs":30000,"timeoutMs":75000}');
});

test("the README's plain curl -i <url>/ws gets 426 and a body that prints the README's curl line", async () => {
  const readmeSection = section("Get a token and connect with curl");
  const plain = /`(curl -i http:\/\/[^`\s]+\/ws)`/.exec(readmeSection)?.[1];
  expect(plain, "the README shows a plain curl -i <url>/ws").toBeDefined();
  const curlLine = lineStartingWith(readmeSection, 'curl -i -N -H "Connection: Upgrade"');

  const run = await bash(`${forThisServer(plain!)} --max-time 10`);

  expect(run.code, run.stderr).toBe(0);
  expect(run.stdout).toMatch(/^HTTP\/1\.1 426 Upgrade Required\r\n/);
  const body = run.stdout.slice(run.stdout.indexOf("\r\n\r\n") + 4);
  expect(body).toMatch(/Missing or wrong: Upgrade .*Connection /);
  // The very line the README shows, pointing at this server.
  expect(body).toContain(forThisServer(curlLine));
});
