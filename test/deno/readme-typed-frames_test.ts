// The README's "Typed frames and connection state" example, run as printed on
// the Deno host: its first TypeScript block is written into a scratch folder
// inside the repository (so that `valibot` resolves from node_modules), with
// `from "userhub"` pointed at src/, imported, and served; a real socket then
// sees the refusal the README quotes, a delivery with the nick it set, and
// the nick of another socket of the same user unset.
import { deepStrictEqual as assertEquals } from "node:assert";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { type HubApp, issueToken, readHubConfig } from "../../src/index.ts";
import { serve } from "../../src/deno/mod.ts";
import { ofType, openSocket } from "./socket-client.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SECRET = "deno-readme-typed-frames-secret";

function readmeBlock(): string {
  const readme = Deno.readTextFileSync(join(ROOT, "README.md"));
  const start = readme.indexOf("\n## Typed frames and connection state\n");
  if (start === -1) throw new Error('README.md has no "## Typed frames and connection state" section');
  const section = readme.slice(start + 1, readme.indexOf("\n## ", start + 1));
  const block = /^```ts\n([\s\S]*?)^```/m.exec(section);
  if (!block) throw new Error("the section has no ts block");
  return block[1]!;
}

Deno.test("the README's typed chat app: the quoted refusal, a delivery with the socket's nick, state per connection", async () => {
  const code = readmeBlock().replace('from "userhub"', `from ${JSON.stringify(join(ROOT, "src/index.ts"))}`);
  const scratch = await Deno.makeTempDir({ dir: join(ROOT, "test/deno"), prefix: ".readme-" });
  let app: HubApp;
  try {
    app = await loadApp(code, scratch);
  } finally {
    await Deno.remove(scratch, { recursive: true });
  }
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

/** Writes the block as a module and imports it (not type-checked here: `deno check` of it takes half a minute; test/workerd/typed-frames-types.test.ts holds the same typing to tsc). */
async function loadApp(code: string, dir: string): Promise<HubApp> {
  const file = join(dir, "chat.ts");
  await Deno.writeTextFile(file, code);
  const module = (await import(pathToFileURL(file).href)) as { chat: HubApp };
  return module.chat;
}
