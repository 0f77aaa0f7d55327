/**
 * The hosts of the demo's public contract (DESIGN.md, "The public contract
 * of the demo Worker"): the Worker under `wrangler dev` and the Deno demo
 * server. Each starts one server on a free port with the given vars (over
 * .dev.vars) and answers the same shape, so that one suite runs against both.
 */
import { startDenoDemo } from "../support/deno-demo.ts";
import { startWranglerDev } from "../support/wrangler-dev.ts";

/** A running server of one host. */
export interface HostServer {
  /** http://127.0.0.1:PORT */
  url: string;
  /** ws://127.0.0.1:PORT */
  wsUrl: string;
  /** Stops every process of the server; idempotent. */
  stop(): Promise<void>;
  /** What the server printed so far (for failure messages). */
  output(): string;
}

export type HostName = "cloudflare (wrangler dev)" | "deno";

export interface Host {
  name: HostName;
  /** Starts a server with these vars (e.g. `HEARTBEAT_TIMEOUT_MS`), over those of .dev.vars. */
  start(vars: Record<string, string>): Promise<HostServer>;
}

export const hosts: readonly Host[] = [
  {
    name: "cloudflare (wrangler dev)",
    async start(vars) {
      const dev = await startWranglerDev({ vars });
      return { url: dev.url, wsUrl: dev.wsUrl, stop: () => dev.stop(), output: () => dev.output() };
    },
  },
  {
    name: "deno",
    async start(vars) {
      const demo = await startDenoDemo({ vars });
      return { url: demo.url, wsUrl: demo.wsUrl, stop: () => demo.stop(), output: () => demo.output() };
    },
  },
];
