// The README's "Typed frames and connection state" example, run as printed on
// the Deno host: its first TypeScript block is written into a scratch folder
// inside the repository (so that `valibot` resolves from node_modules), with
// `from "userhub"` pointed at src/, imported, and served; a real socket then
// sees the refusal the README quotes, a delivery with the nick it set, and
// the nick of another socket of the same user unset.
import { deepStrictEqual as assertEquals } from "node:assert";
import { issueToken, readHubConfig } from "../../src/index.ts";
import { serve } from "../../src/deno/mod.ts";
import { importReadmeApp } from "./readme-app.ts";
import { ofType, openSocket } from "./socket-client.ts";

const SECRET = "deno-readme-typed-frames-secret";

Deno.test("the README's typed chat app: the quoted refusal, a delivery with the socket's nick, state per connection", async () => {
  const app = await importReadmeApp("## Typed frames and connection state", "chat");
  const server = serve({ secret: SECRET, config: readHubConfig({}), port: 0, app });
  const url = `${server.url.replace(/^http/, "ws")}/ws`;
  const token = await issueToken("alice", { secret: SECRET, ttlSeconds: 600 });
  const laptop = openSocket(url, token);
  const phone = openSocket(url, token);
  try {
    await laptop.next(ofType("welcome"));
    await phone.next(ofType("welcome"));
    laptop.send(JSON.stringify({ type: "say", data: { text: 5 } }));
    assertEquals(await laptop.next(ofType("error")), {
      type: "error",
      code: "invalid_frame",
      message: "data.text: Invalid type: Expected string but received 5",
    });
    laptop.send(JSON.stringify({ type: "nick", data: "  ada " }));
    laptop.send(JSON.stringify({ type: "say", data: { text: "hello" } }));
    const message = await phone.next(ofType("message"));
    assertEquals(message.data, { nick: "ada", text: "hello" });
    phone.send(JSON.stringify({ type: "say", data: { text: "hi" } }));
    const reply = await laptop.next((f) => typeof f === "object" && f.type === "message" && (f.data as { text: string }).text === "hi");
    assertEquals(reply.data, { nick: "anonymous", text: "hi" });
  } finally {
    await laptop.close(1000);
    await phone.close(1000);
    await server.shutdown();
  }
});
