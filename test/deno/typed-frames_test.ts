// Typed frames and connection state on the Deno host, with a real schema
// library (valibot, from node_modules): a refusal names the first issue's
// path, the handler gets the schema's output, and connection state is per
// connection, bounded, and kept while the socket lives.
import { deepStrictEqual as assertEquals, match as assertMatch } from "node:assert";
import * as v from "valibot";
import { MAX_CONNECTION_STATE_BYTES } from "../../src/host.ts";
import { ErrorCode, type HubApp, issueToken, readHubConfig, withSchema } from "../../src/index.ts";
import { serve } from "../../src/deno/mod.ts";
import { ofType, openSocket } from "./socket-client.ts";

const SECRET = "deno-typed-frames-secret";

const Rename = v.object({ type: v.literal("rename"), data: v.object({ name: v.pipe(v.string(), v.trim(), v.minLength(1)) }) });

const app: HubApp = {
  frames: {
    rename: withSchema(Rename, async (frame, connection) => {
      connection.setState({ name: frame.data.name });
      await connection.send({ type: "renamed", state: connection.state });
    }),
    pad: async (frame, connection) => {
      connection.setState({ pad: "x".repeat(Number(frame.length)) });
      await connection.send({ type: "padded" });
    },
    whoami: async (_frame, connection) => void (await connection.send({ type: "whoami", state: connection.state })),
  },
};

Deno.test("a valibot-checked frame on Deno: refusal names the path, the handler gets the output, state is per connection and bounded", async () => {
  const server = serve({ secret: SECRET, config: readHubConfig({}), port: 0, app });
  const url = `${server.url.replace(/^http/, "ws")}/ws`;
  const token = await issueToken("alice", { secret: SECRET, ttlSeconds: 600 });
  const a = openSocket(url, token);
  const b = openSocket(url, token);
  try {
    await a.next(ofType("welcome"));
    await b.next(ofType("welcome"));
    a.send(JSON.stringify({ type: "rename", data: { name: 42 } }));
    const refused = await a.next(ofType("error"));
    assertEquals(refused.code, ErrorCode.InvalidFrame);
    assertMatch(String(refused.message), /^data\.name: Invalid type: Expected string/);

    a.send(JSON.stringify({ type: "rename", data: { name: "  laptop " } }));
    assertEquals(await a.next(ofType("renamed")), { type: "renamed", state: { name: "laptop" } });
    b.send(JSON.stringify({ type: "whoami" }));
    assertEquals(await b.next(ofType("whoami")), { type: "whoami", state: null });

    a.send(JSON.stringify({ type: "pad", length: MAX_CONNECTION_STATE_BYTES }));
    const tooLarge = await a.next((f) => typeof f === "object" && f.code === ErrorCode.StateTooLarge);
    assertMatch(String(tooLarge.message), /over the 2048-byte limit; it was not changed/);
    a.send(JSON.stringify({ type: "whoami" }));
    assertEquals(await a.next(ofType("whoami")), { type: "whoami", state: { name: "laptop" } });
  } finally {
    await a.close(1000);
    await b.close(1000);
    await server.shutdown();
  }
});
