/**
 * The README's Deno setup, run exactly as shown: its `main.ts` block and the
 * `chat` application of "Use it in your own Worker", written to a scratch
 * folder with the package's specifiers (`userhub`, `userhub/deno`) mapped to
 * this checkout, then run by real Deno on a free port. A socket with a token
 * gets its welcome, and a `send` frame comes back as a delivery.
 */
import { deepStrictEqual, ok } from "node:assert";
import { issueToken } from "../../src/index.ts";
import { ofType, openSocket } from "./socket-client.ts";

const ROOT = new URL("../../", import.meta.url);
const README = await Deno.readTextFile(new URL("README.md", ROOT));
const SECRET = "readme-deno-test-secret";

/** The fenced `ts` blocks of the README section under `heading`. */
function tsBlocks(heading: string): string[] {
  const start = README.indexOf(`\n${heading}\n`);
  ok(start !== -1, `README.md has a "${heading}" section`);
  const rest = README.slice(start + heading.length + 2);
  const end = rest.search(/^## /m);
  const section = end === -1 ? rest : rest.slice(0, end);
  return [...section.matchAll(/^```ts\n([\s\S]*?)^```/gm)].map((m) => m[1]!);
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

Deno.test("the README's Deno setup serves the README's chat app: welcome, then a send comes back as a delivery", async () => {
  const main = tsBlocks("## Run it on Deno").find((block) => block.includes('from "userhub/deno"'));
  ok(main, "the Deno section shows a main.ts importing userhub/deno");
  const chat = tsBlocks("## Use it in your own Worker").find((block) => block.includes("export const chat"));
  ok(chat, "the README shows the chat HubApp");
  deepStrictEqual(main.split("\n").filter((line) => line.trim() !== "").length <= 12, true, "about ten lines");

  const dir = await Deno.makeTempDir({ prefix: "userhub-readme-deno-" });
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    // The README's permissions exactly (its comment line), plus the checkout's deno.json for `hono`.
    args: ["run", "--allow-net", "--allow-env", "--config", new URL("deno.json", ROOT).pathname, `${dir}/main.ts`],
    env: { JWT_SECRET: SECRET, PORT: String(port) },
    stdout: "piped",
    stderr: "piped",
  });
  try {
    // The package's names point at this checkout; its deno.json (passed with --config) resolves `hono` from node_modules.
    const toCheckout = (code: string) =>
      code.replaceAll('from "userhub"', `from "${new URL("src/index.ts", ROOT).href}"`).replaceAll('from "userhub/deno"', `from "${new URL("src/deno/mod.ts", ROOT).href}"`);
    await Deno.writeTextFile(`${dir}/chat.ts`, toCheckout(chat));
    await Deno.writeTextFile(`${dir}/main.ts`, toCheckout(main));
    const process = child.spawn();
    try {
      const token = await issueToken("alice", { secret: SECRET });
      const url = `ws://127.0.0.1:${port}/ws`;
      // Wait for the server to listen: a socket that closes before it opens is retried.
      for (let attempt = 0; ; attempt++) {
        const socket = openSocket(url, token);
        try {
          await socket.opened;
        } catch (error) {
          if (attempt >= 300) throw error;
          await new Promise((resolve) => setTimeout(resolve, 100));
          continue;
        }
        const welcome = await socket.next<{ userId: string }>(ofType("welcome"));
        deepStrictEqual(welcome.userId, "alice");
        socket.send(JSON.stringify({ type: "send", data: "hello" }));
        const message = await socket.next<{ data: unknown }>(ofType("message"));
        deepStrictEqual(message.data, "hello");
        await socket.close(1000, "done");
        break;
      }
    } finally {
      try {
        process.kill("SIGTERM");
      } catch {
        // It already exited (the test failed before): its output says why.
      }
      const { stderr } = await process.output();
      const errors = new TextDecoder().decode(stderr);
      if (errors.includes("error:")) console.error(errors);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
