// userhubWorker, the one-call Worker of the README, inside workerd: mounted
// into an app of the deployer's own with `app.route`, reading its bindings by
// name, with the dev token where DEV_TOKENS is on and a named 500 for a
// binding that is not there.
import { env } from "cloudflare:test";
import { Hono } from "hono";
import { describe, expect, it, vi } from "vitest";
import { userhubWorker } from "../../durable-objects/index.ts";
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
});
