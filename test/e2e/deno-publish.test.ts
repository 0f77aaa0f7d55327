// The Deno entry points are ready for JSR: `deno publish --dry-run` checks
// them (types, slow types, license, the file list) without publishing.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

test("deno publish --dry-run passes, with the license, and ships the source but no tests", () => {
  // --allow-dirty: the check is of the files, committed or not.
  const result = spawnSync("./node_modules/deno/deno", ["publish", "--dry-run", "--allow-dirty"], { cwd: ROOT, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  const output = `${result.stdout}\n${result.stderr}`;
  expect(result.status, output).toBe(0);
  expect(output).toMatch(/Dry run complete/);
  expect(output).toMatch(/\/LICENSE\b/);
  expect(output).toMatch(/\/src\/deno\/mod\.ts\b/);
  expect(output).not.toMatch(/_test\.ts|\.test\.ts|\/test\//);
}, 60_000);
