/**
 * Miniflare exactly as `wrangler dev` runs it: the copy (and workerd binary)
 * wrangler itself depends on, not whichever copy another package hoisted to
 * node_modules/miniflare. Benchmarks then measure the runtime a deployer
 * develops against.
 */
import { createRequire } from "node:module";

type MiniflareModule = typeof import("miniflare");

export async function loadWranglerMiniflare(): Promise<MiniflareModule> {
  const fromHere = createRequire(import.meta.url);
  const fromWrangler = createRequire(fromHere.resolve("wrangler/package.json"));
  return (await import(fromWrangler.resolve("miniflare"))) as MiniflareModule;
}
