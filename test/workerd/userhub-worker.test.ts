// userhubWorker, the one-call Worker of the README, inside workerd: mounted
// into an app of the deployer's own with `app.route`, reading its bindings by
// name, with the dev token where DEV_TOKENS is on, a named 500 for a binding
// that is not there, and for a hub variable that cannot be used (before any
// hub exists or anything is queued; its queue handler hands such a batch back).
import { createExecutionContext, createMessageBatch, env, getQueueResult, listDurableObjectIds } from "cloudflare:test";
import { Hono } from "hono";
import { describe, expect, it, vi } from "vitest";
import { userhubWorker } from "../../durable-objects/index.ts";
import type { FanOutMessage } from "../../src/host.ts";
import { accept, tokenFor, upgradeHeaders } from "./hub-client.ts";

describe("userhubWorker", () => {
  it("mounts into an app of your own: your routes and userhub's side by side, a socket gets its welcome and its hub runs the bound class's app", async () => {
    const app = new Hono();
    app.get("/health", (c) => c.text("ok"));
    app.route("/", userhubWorker({ hub: "USER_HUB" }));
    expect(await (await app.request("https://hub.test/health", {}, env)).text()).toBe("ok");
    const token = await tokenFor("mounted-1");
    const client = await accept(await app.request("https://hub.test/ws", { headers: upgradeHeaders({ Authorization: `Bearer ${token}` }) }, env));
    expect(await client.frame(0)).toMatchObject({ type: "welcome", userId: "mounted-1" });
    // USER_HUB is the demo's `UserHub.with(fanOutApp)`: a class expression, bound and running its app.
    client.socket.send(JSON.stringify({ type: "send", data: "hi" }));
    expect(await client.frame(1)).toMatchObject({ type: "message", seq: 1, data: "hi" });
    client.socket.close(1000);
  });

  it("serves POST /dev/token only where DEV_TOKENS is on", async () => {
    const app = userhubWorker({ hub: "USER_HUB" });
    const ask = (bindings: Record<string, unknown>) =>
      app.request("https://hub.test/dev/token", { method: "POST", body: JSON.stringify({ userId: "alice" }) }, bindings);
    const on = await ask({ ...env, DEV_TOKENS: "on" });
    expect(on.status).toBe(200);
    expect(await on.json()).toMatchObject({ token: expect.any(String) });
    expect((await ask({ ...env, DEV_TOKENS: undefined })).status).toBe(404);
  });

  it("answers 500 naming a hub binding that is not there, and the Cloudflare way to set a missing secret", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const app = userhubWorker({ hub: "NO_SUCH_HUB" });
      const token = await tokenFor("mounted-2");
      const missing = await app.request("https://hub.test/ws", { headers: upgradeHeaders({ Authorization: `Bearer ${token}` }) }, env);
      expect(missing.status).toBe(500);
      expect(await missing.text()).toContain("NO_SUCH_HUB: is not a Durable Object binding");
      const noSecret = await userhubWorker({ hub: "USER_HUB" }).request(
        "https://hub.test/ws",
        { headers: upgradeHeaders({ Authorization: `Bearer ${token}` }) },
        { ...env, JWT_SECRET: undefined },
      );
      expect(noSecret.status).toBe(500);
      expect(await noSecret.text()).toContain("JWT_SECRET");
      expect(errors.mock.calls.flat().join("\n")).toContain("wrangler secret put JWT_SECRET");
    } finally {
      errors.mockRestore();
    }
  });

  describe("with a hub variable that cannot be used (LOG_RETENTION=abc)", () => {
    const NAMED = '500 Internal Server Error: server misconfigured: LOG_RETENTION: must be a positive whole number, got "abc".\n';
    const LOG_LINE = 'userhub: configuration error: LOG_RETENTION: must be a positive whole number, got "abc"';

    it("answers 500 naming it on every route that reaches a hub, before any hub exists or anything is queued, and logs one line without a stack", async () => {
      const sent: unknown[] = [];
      const bad = { ...env, LOG_RETENTION: "abc", FAN_OUT_QUEUE: { sendBatch: async (batch: unknown) => void sent.push(batch) } };
      const app = userhubWorker({ hub: "USER_HUB", fanOutQueue: "FAN_OUT_QUEUE" });
      const key = { Authorization: `Bearer ${env.PUSH_API_KEY}`, "Content-Type": "application/json" };
      const token = await tokenFor("bad-config-1");
      const many = Array.from({ length: 60 }, (_, i) => `bad-config-many-${i}`);
      const requests: [string, string, RequestInit][] = [
        ["push", "/users/bad-config-1/messages", { method: "POST", headers: key, body: '{"data":1}' }],
        ["disconnect", "/users/bad-config-1/disconnect", { method: "POST", headers: key, body: "{}" }],
        ["fan-out, direct", "/messages", { method: "POST", headers: { ...key, "Idempotency-Key": "bc-1" }, body: JSON.stringify({ userIds: ["bad-config-1", "bad-config-2"], data: 1 }) }],
        ["fan-out, queued", "/messages", { method: "POST", headers: { ...key, "Idempotency-Key": "bc-2" }, body: JSON.stringify({ userIds: many, data: 1 }) }],
        ["upgrade", "/ws", { headers: upgradeHeaders({ Authorization: `Bearer ${token}` }) }],
        ["ticket", "/ws/ticket", { method: "POST", headers: { Authorization: `Bearer ${token}` } }],
      ];
      const errors = vi.spyOn(console, "error").mockImplementation(() => {});
      try {
        const before = (await listDurableObjectIds(env.USER_HUB)).length;
        for (const [route, path, init] of requests) {
          const response = await app.request(`https://hub.test${path}`, init, bad);
          expect({ route, status: response.status, body: await response.text() }).toEqual({ route, status: 500, body: NAMED });
        }
        expect((await listDurableObjectIds(env.USER_HUB)).length - before).toBe(0);
        expect(sent).toEqual([]);
        const logged = errors.mock.calls.map((call) => call.join(" "));
        expect(logged).toEqual(requests.map(() => LOG_LINE));
        expect(logged.join("\n")).not.toContain(token);
        expect(logged.join("\n")).not.toContain(env.PUSH_API_KEY!);
      } finally {
        errors.mockRestore();
      }
    });

    it("its queue handler hands the whole batch back for retry, with one line naming it, and calls no hub", async () => {
      const userIds = ["bad-config-q-1", "bad-config-q-2"];
      const batch = createMessageBatch<FanOutMessage>("userhub-fan-out", [{ id: "q0", timestamp: 0, attempts: 1, body: { v: 1, key: "bcq", userIds, data: 1 } }]);
      const ctx = createExecutionContext();
      const errors = vi.spyOn(console, "error").mockImplementation(() => {});
      try {
        const before = (await listDurableObjectIds(env.USER_HUB)).length;
        await userhubWorker({ hub: "USER_HUB" }).queue(batch, { ...env, LOG_RETENTION: "abc" }, ctx);
        const result = await getQueueResult(batch, ctx);
        expect(result.retryBatch.retry).toBe(true);
        expect(result.explicitAcks).toEqual([]);
        expect((await listDurableObjectIds(env.USER_HUB)).length - before).toBe(0);
        expect(errors.mock.calls.map((call) => call.join(" "))).toEqual([
          `userhub: queue userhub-fan-out: configuration error: LOG_RETENTION: must be a positive whole number, got "abc"; 1 message(s) handed back for retry, no hub called`,
        ]);
      } finally {
        errors.mockRestore();
      }
    });
  });
});
