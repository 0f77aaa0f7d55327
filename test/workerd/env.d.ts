import type { DemoEnv } from "../../worker/index.ts";

// The bindings `cloudflare:test` hands the tests: the demo Worker's, with the
// overrides from vitest.config.ts (short heartbeat, small limits, dev tokens on).
declare global {
  namespace Cloudflare {
    interface Env extends DemoEnv {}
  }
}
