// The deploy configuration does not expose POST /dev/token: `wrangler deploy
// --dry-run` (offline) binds DEV_TOKENS "off" (the Worker answers /dev/token
// with 404 unless it is "on"), and neither its output nor the bundle carries
// the local secrets from .dev.vars, which only `wrangler dev` reads.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stripVTControlCharacters } from "node:util";
import { afterAll, beforeAll, expect, test } from "vitest";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The values .dev.vars sets, by name (read at run time, never written here). */
function devVars(): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of readFileSync(join(REPO_ROOT, ".dev.vars"), "utf8").split("\n")) {
    const match = /^\s*([A-Z_][A-Z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (match) vars[match[1]!] = match[2]!.replace(/^"(.*)"$/, "$1");
  }
  return vars;
}

interface Run {
  code: number | null;
  output: string;
}

let outdir: string;
let run: Run;

beforeAll(async () => {
  outdir = await mkdtemp(join(tmpdir(), "userhub-deploy-dry-run-"));
  run = await new Promise<Run>((resolve, reject) => {
    const child = spawn("npx", ["--no-install", "wrangler", "deploy", "--dry-run", "--outdir", outdir], {
      cwd: REPO_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false", CI: "true", NO_COLOR: "1" },
    });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (output += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (output += c));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`wrangler deploy --dry-run did not finish within 60 s:\n${output}`));
    }, 60_000);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output: stripVTControlCharacters(output) });
    });
  });
});

afterAll(async () => {
  if (outdir) await rm(outdir, { recursive: true, force: true });
});

test(".dev.vars has the local values this test looks for", () => {
  const vars = devVars();
  expect(vars.DEV_TOKENS).toBe("on");
  expect(vars.JWT_SECRET?.length ?? 0).toBeGreaterThanOrEqual(8);
  expect(vars.PUSH_API_KEY?.length ?? 0).toBeGreaterThanOrEqual(8);
});

test("wrangler deploy --dry-run succeeds offline and writes a bundle", () => {
  expect(run.code, run.output).toBe(0);
  expect(run.output).toContain("--dry-run: exiting now.");
  expect(readdirSync(outdir)).toContain("index.js");
});

test("the deploy bindings list DEV_TOKENS as \"off\" and do not bind the local secrets", () => {
  const bindings = run.output.split("\n").filter((line) => line.startsWith("env."));
  expect(bindings.some((line) => line.startsWith("env.USER_HUB "))).toBe(true);
  const devTokens = bindings.filter((line) => line.startsWith("env.DEV_TOKENS "));
  expect(devTokens).toHaveLength(1);
  expect(devTokens[0]).toMatch(/^env\.DEV_TOKENS \("off"\)\s+Environment Variable/);
  // Secrets are set with `wrangler secret put`, never from .dev.vars.
  expect(bindings.some((line) => line.startsWith("env.JWT_SECRET "))).toBe(false);
  expect(bindings.some((line) => line.startsWith("env.PUSH_API_KEY "))).toBe(false);
  expect(run.output).not.toContain(".dev.vars");
});

test("neither the output nor the bundle contains the .dev.vars secret values", () => {
  const { JWT_SECRET: jwtSecret, PUSH_API_KEY: pushKey } = devVars();
  expect(jwtSecret).toBeTruthy();
  expect(pushKey).toBeTruthy();
  expect(run.output).not.toContain(jwtSecret);
  expect(run.output).not.toContain(pushKey);
  const files = readdirSync(outdir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
  expect(files.length).toBeGreaterThan(0);
  for (const file of files) {
    const text = readFileSync(join(file.parentPath, file.name), "utf8");
    expect(text, file.name).not.toContain(jwtSecret);
    expect(text, file.name).not.toContain(pushKey);
  }
  // The bundle is the demo Worker: the dev-token route is in it, guarded by DEV_TOKENS.
  const bundle = readFileSync(join(outdir, "index.js"), "utf8");
  expect(bundle).toContain("/dev/token");
  expect(bundle).toMatch(/DEV_TOKENS\s*!==\s*"on"/);
});
