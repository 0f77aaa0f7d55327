// The README's "Use it in your own Worker" is a working Worker, built against
// the package as a deployer installs it: `npm pack` (which builds dist/ on
// prepare), then the README's install line with that tarball, into a fresh
// project outside the repository. Its TypeScript and its complete
// wrangler.toml, taken from the README, type-check, bundle with `wrangler
// deploy --dry-run`, and serve a socket under `wrangler dev`.
//
// No network: `hono` (userhub's one dependency) is given to npm as a folder
// (the repository's copy), so `npm install --offline` resolves everything
// locally; wrangler, TypeScript and the Workers types are linked from the
// repository's node_modules rather than installed again.
import { spawn } from "node:child_process";
import { access, lstat, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, test } from "vitest";
import WebSocket from "ws";
import { issueToken } from "../../src/index.ts";
import { codeBlock, codeBlocks, readmeSection } from "../support/readme.ts";
import { startWranglerDev, type WranglerDev } from "../support/wrangler-dev.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SECRET = "readme-worker-test-secret";
const SECTION = readmeSection("## Use it in your own Worker");

let scratch: string;
let project: string;
let tarball: string;
let dev: WranglerDev | undefined;

function run(command: string, args: string[], cwd: string): Promise<{ code: number | null; output: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" } });
    let output = "";
    let stdout = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    child.on("close", (code) => resolve({ code, output, stdout }));
  });
}

/**
 * The README's `npm install` line for userhub, with the tarball this test
 * packed in place of the README's, and the repository's hono folder in place
 * of `hono` (the same package, without the registry).
 */
function installLine(): string[] {
  const line = codeBlock(SECTION, "sh").split("\n").find((l) => /^npm install [^-]/.test(l));
  expect(line, "the README's own-Worker section has an `npm install` line").toBeDefined();
  const args = line!.replace(/#.*/, "").trim().split(/\s+/).slice(2);
  const readmeTarball = args.findIndex((arg) => /\.tgz$/.test(arg));
  expect(readmeTarball, "the install line names a tarball").toBeGreaterThanOrEqual(0);
  args[readmeTarball] = tarball;
  return args.map((arg) => (arg === "hono" ? join(ROOT, "node_modules/hono") : arg));
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "userhub-readme-worker-"));
  project = join(scratch, "my-worker");
  await mkdir(join(project, "src"), { recursive: true });

  // Pack as a release would: prepare builds dist/, `files` picks what ships.
  const pack = await run("npm", ["pack", "--pack-destination", scratch, "--json"], ROOT);
  expect(pack.code, pack.output).toBe(0);
  const [packed] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf("["))) as Array<{ filename: string }>;
  tarball = join(scratch, packed!.filename);

  await writeFile(join(project, "package.json"), JSON.stringify({ name: "my-worker", private: true, type: "module" }));
  const install = await run("npm", ["install", ...installLine(), "--offline", "--no-audit", "--no-fund"], project);
  expect(install.code, install.output).toBe(0);
  for (const tool of ["wrangler", "typescript", "@cloudflare/workers-types"]) {
    await mkdir(join(project, "node_modules", tool, ".."), { recursive: true });
    await symlink(join(ROOT, "node_modules", tool), join(project, "node_modules", tool));
  }

  const blocks = codeBlocks(SECTION, "ts");
  const file = (name: string) => {
    const block = blocks.find((b) => b.startsWith(`// ${name}`));
    expect(block, `the README's own-Worker section shows ${name}`).toBeDefined();
    return block!;
  };
  await writeFile(join(project, "src/index.ts"), file("src/index.ts"));
  await writeFile(join(project, "src/chat.ts"), file("src/chat.ts"));
  await writeFile(join(project, "wrangler.toml"), codeBlock(SECTION, "toml"));
  await writeFile(join(project, ".dev.vars"), `JWT_SECRET=${SECRET}\n`);
  await writeFile(
    join(project, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: { target: "es2023", module: "esnext", moduleResolution: "bundler", lib: ["es2023"], types: ["@cloudflare/workers-types"], strict: true, noEmit: true, skipLibCheck: true },
      include: ["src"],
    }),
  );
}, 180_000);

afterAll(async () => {
  await dev?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

test("the tarball is the built package: dist/ with its types, no tests, and userhub installed as a copy, not a link", async () => {
  const installed = join(project, "node_modules/userhub");
  expect((await lstat(installed)).isSymbolicLink()).toBe(false);
  const manifest = JSON.parse(await readFile(join(installed, "package.json"), "utf8")) as { exports: Record<string, { types: string; import: string }> };
  for (const [entry, { types, import: js }] of Object.entries(manifest.exports)) {
    await expect(access(join(installed, types)), `${entry} types`).resolves.toBeUndefined();
    await expect(access(join(installed, js)), `${entry} module`).resolves.toBeUndefined();
  }
  await expect(access(join(installed, "test")), "no tests in the package").rejects.toThrow();
  const listing = await run("tar", ["tzf", tarball], scratch);
  expect(listing.output).not.toMatch(/\.test\.ts$|_test\.ts$/m);
});

test("the README's wrangler.toml is complete: name, main and compatibility_date", () => {
  const toml = codeBlock(SECTION, "toml");
  expect(toml).toMatch(/^name = "/m);
  expect(toml).toMatch(/^main = "src\/index\.ts"$/m);
  expect(toml).toMatch(/^compatibility_date = "\d{4}-\d{2}-\d{2}"$/m);
});

test("type-checks against the package's published types", async () => {
  const check = await run(process.execPath, [join(project, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"], project);
  expect(check.code, check.output).toBe(0);
  // About ten lines, as the issue asks: the whole Worker (the application is its own file).
  const lines = (await readFile(join(project, "src/index.ts"), "utf8")).split("\n").filter((l) => l.trim() !== "");
  expect(lines.length).toBeLessThanOrEqual(10);
});

test("bundles for deployment with wrangler deploy --dry-run", async () => {
  const deploy = await run(process.execPath, [join(project, "node_modules/wrangler/bin/wrangler.js"), "deploy", "--dry-run", "--outdir", join(scratch, "out")], project);
  expect(deploy.code, deploy.output).toBe(0);
  expect(deploy.output).toContain("env.USER_HUB (ChatHub)");
}, 60_000);

test("serves a socket under wrangler dev: 101, the welcome, and the README's chat app delivering a send (a class expression as the Durable Object)", async () => {
  dev = await startWranglerDev({ cwd: project });
  const token = await issueToken("alice", { secret: SECRET });
  const socket = new WebSocket(`${dev.wsUrl}/ws`, { headers: { Authorization: `Bearer ${token}` } });
  const welcome = await new Promise<Record<string, unknown>>((resolve, reject) => {
    socket.once("message", (data) => resolve(JSON.parse(String(data)) as Record<string, unknown>));
    socket.once("error", reject);
  });
  expect(welcome).toMatchObject({ type: "welcome", userId: "alice", connections: 1 });
  const delivered = new Promise<Record<string, unknown>>((resolve) => socket.once("message", (data) => resolve(JSON.parse(String(data)) as Record<string, unknown>)));
  socket.send(JSON.stringify({ type: "send", data: "hello" }));
  expect(await delivered).toMatchObject({ type: "message", seq: 1, data: "hello" });
  socket.close(1000);
}, 120_000);
