/**
 * The process that hosts one benchmark server. The bench starts it as the
 * leader of a new process group (so its CPU and memory are exactly that
 * group's, and stopping it is one signal), with a JSON spec as its argument:
 *
 * - `workerd`: a bundled Worker in Miniflare (wrangler's copy), its Durable
 *   Objects on SQLite in `persistDir`. The client reaches the Worker's own
 *   socket directly (`unsafeDirectSockets`), with no dev proxy and no
 *   Miniflare entry worker in the path; the entry URL is printed too, for the
 *   comparison of ways to drive workerd.
 * - `node-ws`: the plain Node `ws` server of bench/targets/node-ws.
 *
 * It prints one line `{"ready":true,…}` with its URLs, then serves until
 * SIGTERM or until its stdin closes (the bench died), and cleans up.
 *
 * On stdin it takes one command, one JSON line each:
 * `{"id":1,"evict":{"className":"UserHub","names":["alice"]}}` evicts those
 * Durable Objects from memory with their sockets hibernated, as production
 * does to an idle hub; it answers `{"reply":1,"evicted":1}`.
 */
import { dirname } from "node:path";
import { loadWranglerMiniflare } from "./wrangler-miniflare.ts";

export type HostSpec =
  | {
      readonly kind: "workerd";
      readonly name: string;
      readonly bundle: string;
      readonly compatibilityDate: string;
      readonly durableObjects: Readonly<Record<string, string>>;
      readonly bindings: Readonly<Record<string, string>>;
      readonly persistDir: string;
      /** Open workerd's V8 inspector (for the hot-path profile only: an attached profiler costs time). */
      readonly inspect?: boolean;
    }
  | { readonly kind: "node-ws"; readonly dbPath: string };

export interface EvictCommand {
  readonly id: number;
  readonly evict: { readonly className: string; readonly names: readonly string[] };
}

export interface HostReady {
  readonly ready: true;
  /** The URL the bench drives: the Worker's own socket, or the Node server. */
  readonly directUrl: string;
  /** Miniflare's entry socket (an entry worker routes to the Worker), when there is one. */
  readonly entryUrl?: string;
  /** The V8 inspector of the Worker's isolate, when asked for. */
  readonly inspectorUrl?: string;
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? "") as HostSpec;
  let close: () => Promise<void>;
  let ready: HostReady;
  let evict: (className: string, name: string) => Promise<void> = async () => {
    throw new Error("this host runs no Durable Objects");
  };
  if (spec.kind === "workerd") {
    const { Miniflare, convertV4MiniflareOptions } = await loadWranglerMiniflare();
    const durableObjects = Object.fromEntries(Object.entries(spec.durableObjects).map(([binding, className]) => [binding, { className, useSQLite: true }]));
    const mf = new Miniflare(
      convertV4MiniflareOptions({
        name: spec.name,
        modules: true,
        modulesRoot: dirname(spec.bundle),
        scriptPath: spec.bundle,
        compatibilityDate: spec.compatibilityDate,
        durableObjects,
        bindings: spec.bindings,
        // Miniflare 5 keeps Durable Objects under this root (its v4 `durableObjectsPersist` is ignored);
        // everything else it writes goes to its temporary directory, which the bench points into the
        // same server directory through TMPDIR, so storage lives where the run chose and leaves with it.
        resourcePersistencePath: spec.persistDir,
        host: "127.0.0.1",
        port: 0,
        unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
        ...(spec.inspect ? { inspectorPort: 0 } : {}),
      } as Parameters<typeof convertV4MiniflareOptions>[0]),
    );
    const entry = await mf.ready;
    const direct = await mf.unsafeGetDirectURL();
    let inspectorUrl: string | undefined;
    if (spec.inspect) {
      const inspector = await mf.getInspectorURL();
      const list = (await (await fetch(new URL("/json/list", inspector.href.replace(/^ws/, "http")))).json()) as { title?: string; webSocketDebuggerUrl: string }[];
      inspectorUrl = list.find((entry) => entry.title?.includes(`core:user:${spec.name}`))?.webSocketDebuggerUrl;
    }
    ready = { ready: true, directUrl: trimSlash(direct.href), entryUrl: trimSlash(entry.href), ...(inspectorUrl ? { inspectorUrl } : {}) };
    close = () => mf.dispose();
    evict = async (className, name) => {
      try {
        await mf.unsafeEvictDurableObject(spec.name, className, { name, webSockets: "hibernate" });
      } catch (error) {
        // An object that is not in memory is already what eviction makes it.
        if (!String(error).includes("not currently running")) throw error;
      }
    };
  } else {
    const { startNodeWsServer } = await import("../targets/node-ws/server.ts");
    const server = await startNodeWsServer({ dbPath: spec.dbPath });
    ready = { ready: true, directUrl: server.url };
    close = server.close;
  }
  let closing = false;
  const shutdown = () => {
    if (closing) return;
    closing = true;
    void close().finally(() => process.exit(0));
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
  let pending = "";
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (chunk: string) => {
    pending += chunk;
    let newline: number;
    while ((newline = pending.indexOf("\n")) >= 0) {
      const command = JSON.parse(pending.slice(0, newline)) as EvictCommand;
      pending = pending.slice(newline + 1);
      void Promise.all(command.evict.names.map((name) => evict(command.evict.className, name))).then(
        () => process.stdout.write(`${JSON.stringify({ reply: command.id, evicted: command.evict.names.length })}\n`),
        (error: unknown) => process.stdout.write(`${JSON.stringify({ reply: command.id, error: String(error) })}\n`),
      );
    }
  });
  process.stdin.on("end", shutdown).on("close", shutdown);
  process.stdout.write(`${JSON.stringify(ready)}\n`);
}

function trimSlash(url: string): string {
  return url.replace(/\/$/, "");
}

await main();
