/**
 * Bundles one target Worker into a single ES module, as `wrangler deploy`
 * would (esbuild, workerd conditions, `cloudflare:*` left to the runtime),
 * so Miniflare can run it without wrangler in between.
 */
import { build } from "esbuild";

/**
 * @param options.sourcemap Also write `<outfile>.map`, which the in-process echo's instruction count reads to name
 * the JavaScript it counted by its source file and line. @default false
 */
export async function bundleWorker(entry: string, outfile: string, options: { sourcemap?: boolean } = {}): Promise<void> {
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
    sourcemap: options.sourcemap ? "external" : false,
    logLevel: "error",
  });
}
