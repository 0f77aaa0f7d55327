// The README's "Use it in your own Worker" is a working Worker: its TypeScript
// and wrangler.toml, taken from the README, in a fresh project that imports the
// built package (`userhub`, `userhub/cloudflare` through package.json
// `exports`), type-check, bundle with `wrangler deploy --dry-run`, and serve
// a socket under `wrangler dev`.
import { spawn } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, test } from "vitest";
import WebSocket from "ws";
import { issueToken } from "../../src/index.ts";
import { startWranglerDev, type WranglerDev } from "../support/wrangler-dev.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SECRET = "readme-worker-test-secret";

let project: string;
let dev: WranglerDev | undefined;

/** The fenced block of `language` that follows `heading` in the README. */
async function readmeBlock(heading: string, language: string): Promise<string> {
  const readme = await readFile(join(ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf(heading));
  const match = new RegExp("```" + language + "\\n([\\s\\S]*?)```").exec(section);
  if (!match) throw new Error(`no ${language} block after "${heading}" in README.md`);
  return match[1]!;
}

function run(command: string, args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" } });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    child.on("close", (code) => resolve({ code, output }));
  });
}

beforeAll(async () => {
  project = await mkdtemp(join(tmpdir(), "userhub-readme-worker-"));
  // The package as npm would install it: package.json and the build `exports` points at.
  const installed = join(project, "node_modules", "userhub");
  await mkdir(installed, { recursive: true });
  await cp(join(ROOT, "package.json"), join(installed, "package.json"));
  const build = await run(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json", "--outDir", join(installed, "dist")], ROOT);
  expect(build.code, build.output).toBe(0);
  for (const dependency of ["hono", "@cloudflare/workers-types"]) {
    await mkdir(join(project, "node_modules", dependency, ".."), { recursive: true });
    await symlink(join(ROOT, "node_modules", dependency), join(project, "node_modules", dependency));
  }
  await mkdir(join(project, "src"));
  await writeFile(join(project, "src/index.ts"), await readmeBlock("## Use it in your own Worker", "ts"));
  const toml = await readmeBlock("## Use it in your own Worker", "toml");
  await writeFile(join(project, "wrangler.toml"), `name = "readme-worker"\nmain = "src/index.ts"\ncompatibility_date = "2026-10-01"\n\n${toml}`);
  await writeFile(join(project, ".dev.vars"), `JWT_SECRET=${SECRET}\n`);
  await writeFile(
    join(project, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: { target: "es2023", module: "esnext", moduleResolution: "bundler", lib: ["es2023"], types: ["@cloudflare/workers-types"], strict: true, noEmit: true, skipLibCheck: true },
      include: ["src"],
    }),
  );
}, 120_000);

afterAll(async () => {
  await dev?.stop();
  if (project) await rm(project, { recursive: true, force: true });
});

test("type-checks against the package's published types", async () => {
  const check = await run(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"], project);
  expect(check.code, check.output).toBe(0);
  // About 20 lines, as the README promises.
  const lines = (await readFile(join(project, "src/index.ts"), "utf8")).split("\n").filter((l) => l.trim() !== "");
  expect(lines.length).toBeLessThanOrEqual(20);
});

test("bundles for deployment with wrangler deploy --dry-run", async () => {
  const deploy = await run(process.execPath, [join(ROOT, "node_modules/wrangler/bin/wrangler.js"), "deploy", "--dry-run", "--outdir", join(project, "dist")], project);
  expect(deploy.code, deploy.output).toBe(0);
  expect(deploy.output).toContain("env.USER_HUB (UserHub)");
}, 60_000);

test("serves a socket under wrangler dev: 101 and the welcome", async () => {
  dev = await startWranglerDev({ cwd: project });
  const token = await issueToken("alice", { secret: SECRET });
  const socket = new WebSocket(`${dev.wsUrl}/ws`, { headers: { Authorization: `Bearer ${token}` } });
  const welcome = await new Promise<Record<string, unknown>>((resolve, reject) => {
    socket.once("message", (data) => resolve(JSON.parse(String(data)) as Record<string, unknown>));
    socket.once("error", reject);
  });
  expect(welcome).toMatchObject({ type: "welcome", userId: "alice", connections: 1 });
  socket.close(1000);
}, 120_000);
