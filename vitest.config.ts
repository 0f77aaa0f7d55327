import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { SlowFirstSequencer } from "./test/support/slow-first-sequencer.ts";

// Five projects, run by test/run-all.mjs (two at a time, e2e beside the others):
// - workerd: tests that need the runtime (Durable Objects, the Worker's routes, SQLite), inside workerd (the demo Worker's wrangler.toml);
// - unit: tests of runtime-free code of src/ (protocol, limits, tickets, upgrade checks, heartbeat, key set) under Node 22, no workerd;
// - client: unit tests of the browser client (src/client/, web standards only) under Node 22;
// - e2e: Node tests that drive a real `wrangler dev` on a free port;
// - browser: Node tests that drive Chromium (test/support/chromium.ts finds one) against `wrangler dev`.
export default defineConfig({
  test: {
    // Long files first (the e2e project runs three files at a time).
    sequence: { sequencer: SlowFirstSequencer },
    projects: [
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                JWT_SECRET: "workerd-test-secret",
                DEV_TOKENS: "on",
                HEARTBEAT_INTERVAL_MS: "1000",
                HEARTBEAT_TIMEOUT_MS: "3000",
                // The eager sweep (an alarm per timeout), so heartbeat closes come within seconds; the defaults are tested on the Hub itself.
                HEARTBEAT_SWEEP_MS: "3000",
                MAX_CONNECTIONS_PER_USER: "4",
                MAX_MESSAGE_BYTES: "1024",
                LOG_RETENTION: "20",
                // At most the retention: a hub that slept counts a sender's minute from what its log kept.
                DIRECT_DELIVERIES_PER_MINUTE: "20",
                // Well above MAX_UNACKED_BYTES, so that a socket closed with 4002 can still resume from the log; the bound is
                // set, not left at its default (half of LOG_RETENTION_BYTES), so the 4002 tests reach it in a few pushes.
                LOG_RETENTION_BYTES: "4194304",
                MAX_UNACKED_BYTES: "524288",
              },
            },
          }),
        ],
        test: { name: "workerd", include: ["test/workerd/**/*.test.ts"] },
      },
      {
        test: { name: "unit", include: ["test/unit/**/*.test.ts"], environment: "node" },
      },
      {
        test: { name: "client", include: ["test/client/**/*.test.ts"], environment: "node" },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts", "test/conformance/**/*.test.ts", "test/support/**/*.test.ts", "bench/**/*.test.ts"],
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 90_000,
          // Three files at a time: each starts its own servers (wrangler dev, the Deno demo, key servers, proxies) on free
          // ports with their own temporary state, and most of a file's time is spent waiting on them and on timeouts.
          // The soak (CPU-bound, the longest) starts first; the others pass beside it.
          maxWorkers: 3,
        },
      },
      {
        test: {
          name: "browser",
          include: ["test/browser/**/*.test.ts"],
          environment: "node",
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
          // Each poll waits on a round trip through wrangler dev and Chromium while the e2e soak loads both cores:
          // vitest's 1 s default is a deadline such a machine can miss (a poll that passes returns at once).
          expect: { poll: { timeout: 10_000 } },
        },
      },
    ],
  },
});
