// Bundles the demo page's script (worker/demo/demo-page.ts and the client it
// uses) into worker/public/demo.js, the static asset index.html loads.
// wrangler runs it before `wrangler dev` and `wrangler deploy` ([build] in
// wrangler.toml), with the esbuild that wrangler itself bundles Workers with.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

await build({
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
});
