/**
 * The demo on Deno, with the same public contract as the Worker under
 * `npm start`: the demo page on `/`, `POST /dev/token` in local development
 * only, sockets on `/ws`, and `POST /users/:userId/messages` when
 * `PUSH_API_KEY` is set. `deno task dev` runs it with `.dev.vars`, as
 * `wrangler dev` does; variables set in the environment win over that file.
 * With `DENO_KV_PATH` set, each user's delivery log lives in Deno KV there.
 *
 * @module
 */
import { Hono } from "hono";
import { serveStatic } from "hono/deno";
import { answerDevToken, ConfigError, readAuthOptions, readHubConfig } from "../src/index.ts";
import { readList } from "../src/host.ts";
import { retentionOf } from "../src/host.ts";
import { KvDeliveryLog, serve, type UserhubServer } from "../src/deno/mod.ts";
import { fanOutApp } from "./demo-app.ts";

/** The demo page's static assets, the same files Workers static assets serve (its script is built by `deno task dev`). */
const DEMO_ASSETS = new URL("./public/", import.meta.url).pathname;

/** The demo's port when `PORT` is not set: the same as `npm start`. */
export const DEFAULT_PORT = 8787;

/** What the demo's own routes read from the environment. */
type DemoBindings = { DEV_TOKENS?: string; JWT_SECRET?: string; JWT_ISSUER?: string; JWT_AUDIENCE?: string; JWT_USER_CLAIM?: string };

/**
 * Starts the demo with the variables in `env` (the Worker's `vars` and
 * secrets, plus `PORT`).
 *
 * @throws {ConfigError} naming the variable that cannot be used.
 *
 * @example
 * ```ts
 * const demo = startDemo({ JWT_SECRET: "dev-secret", DEV_TOKENS: "on", PORT: "0" });
 * console.log(demo.url);
 * await demo.shutdown();
 * ```
 */
export function startDemo(
  env: Readonly<Record<string, string | undefined>>,
  options: { onListen?: (url: string) => void; kv?: Deno.Kv } = {},
): UserhubServer {
  const config = readHubConfig(env);
  const auth = readAuthOptions(env);
  const port = readPort(env.PORT);
  const routes = new Hono<{ Bindings: DemoBindings }>();
  routes.post("/dev/token", answerDevToken);
  routes.get("/*", serveStatic({ root: DEMO_ASSETS }));
  return serve<{ Bindings: DemoBindings }>({
    auth,
    config,
    app: fanOutApp,
    ...(options.kv ? { log: (userId: string) => new KvDeliveryLog(options.kv!, userId, retentionOf(config)) } : {}),
    allowedOrigins: readList(env, "ALLOWED_ORIGINS"),
    router: { pushKey: () => env.PUSH_API_KEY },
    routes,
    bindings: {
      DEV_TOKENS: env.DEV_TOKENS,
      JWT_SECRET: env.JWT_SECRET,
      JWT_ISSUER: env.JWT_ISSUER,
      JWT_AUDIENCE: env.JWT_AUDIENCE,
      JWT_USER_CLAIM: env.JWT_USER_CLAIM,
    },
    port,
    onListen: ({ hostname, port }) => options.onListen?.(`http://${hostname}:${port}`),
  });
}

function readPort(value: string | undefined): number {
  if (value === undefined || value.trim() === "") return DEFAULT_PORT;
  const port = Number(value.trim());
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError("PORT", `must be a port number (0 picks a free one), got ${JSON.stringify(value)}`);
  }
  return port;
}

/**
 * Bundles the demo page's script, as wrangler's `[build]` step does for `npm start`.
 * It runs in a child Deno (`Deno.execPath()`), because inside `deno task` the
 * name `deno` resolves to the npm package's launcher rather than this binary.
 */
async function buildDemoPage(): Promise<void> {
  const root = new URL("../", import.meta.url).pathname;
  const { success, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write=worker/public", "--allow-env", "--allow-run", "worker/build-demo-page.mjs"],
    cwd: root,
    stdout: "inherit",
    stderr: "piped",
  }).output();
  if (!success) throw new Error(`building the demo page failed: ${new TextDecoder().decode(stderr).trim()}`);
}

if (import.meta.main) {
  const env = Deno.env.toObject();
  await buildDemoPage();
  // DENO_KV_PATH keeps each user's delivery log in Deno KV (a local file), so resume survives a restart as on Cloudflare.
  const kvPath = env.DENO_KV_PATH;
  if (kvPath && kvPath.includes("/")) await Deno.mkdir(kvPath.slice(0, kvPath.lastIndexOf("/")), { recursive: true });
  const kv = kvPath ? await Deno.openKv(kvPath) : undefined;
  let demo: UserhubServer;
  try {
    demo = startDemo(env, {
      ...(kv ? { kv } : {}),
      onListen: (url) => {
        console.log(`userhub on Deno: ${url} (demo page /, sockets ${url.replace(/^http/, "ws")}/ws)`);
        console.log(`dev tokens ${env.DEV_TOKENS === "on" && env.JWT_SECRET ? "on: POST /dev/token" : "off"}`);
        console.log(`delivery log: ${kv ? `Deno KV at ${env.DENO_KV_PATH}` : "in memory (set DENO_KV_PATH to keep it across restarts)"}`);
        if (!env.JWT_SECRET && !env.JWKS_URL) console.log("neither JWT_SECRET nor JWKS_URL is set: every upgrade will answer 500 until one is.");
        if (env.JWKS_URL) console.log("tokens are also verified against the key set at JWKS_URL");
      },
    });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`userhub: configuration error: ${error.message}`);
    Deno.exit(1);
  }
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    // Close every socket with 1001 (going away) rather than dropping the connections.
    Deno.addSignalListener(signal, () => void demo.shutdown().finally(() => Deno.exit(0)));
  }
}
