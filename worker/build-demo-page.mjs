// Bundles the demo page's script (worker/demo/demo-page.ts and the client it
// uses) into worker/public/demo.js, the static asset index.html loads.
// wrangler runs it before `wrangler dev` and `wrangler deploy` ([build] in
// wrangler.toml), with the esbuild that wrangler itself bundles Workers with.
//
// Servers that run beside each other (tests start several `wrangler dev` and
// Deno demos at once) each run this step while others serve the page: a file
// is written only when its bytes change, and then whole (a temporary file
// renamed over it), so that no server ever reads a half-written script.
import { build } from "esbuild";
import { readFile, rename, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

const { outputFiles } = await build({
  absWorkingDir: root,
  entryPoints: ["worker/demo/demo-page.ts"],
  outfile: "worker/public/demo.js",
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  sourcemap: "linked",
  legalComments: "none",
  logLevel: "warning",
  write: false,
});

for (const { path, contents } of outputFiles) {
  const current = await readFile(path).catch(() => undefined);
  if (current?.equals(contents)) continue;
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, contents);
  await rename(temporary, path);
}
