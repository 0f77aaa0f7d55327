/**
 * Bundles one target Worker into a single ES module, as `wrangler deploy`
 * would (esbuild, workerd conditions, `cloudflare:*` left to the runtime),
 * so Miniflare can run it without wrangler in between.
 */
import { build } from "esbuild";

export async function bundleWorker(entry: string, outfile: string): Promise<void> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: "esm",
    target: "es2023",
    platform: "neutral",
    // What wrangler resolves for Workers: a package's workerd/worker/browser build.
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    external: ["cloudflare:*"],
    minify: false,
    logLevel: "error",
  });
}
