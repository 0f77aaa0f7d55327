// The README's nginx block ("Running behind a proxy"), as printed, in a real
// nginx on loopback in front of a real `wrangler dev`: the page, /dev/token,
// the upgrade and push all pass through, and the 426 body's curl hint keeps
// the port the client used. Without nginx the file is skipped with a line
// saying what to install (.ci/run installs it).
import { spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import WebSocket from "ws";
import { freePort } from "../support/free-port.ts";
import { stopProcessGroup, trackProcessGroup } from "../support/process-group.ts";
import { codeBlock, README_DEV_HOST, readmeSection } from "../support/readme.ts";
import { startWranglerDev, type WranglerDev } from "../support/wrangler-dev.ts";

const PUSH_KEY = "userhub-local-push-key"; // .dev.vars

function findNginx(): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(delimiter).filter(Boolean), "/usr/sbin", "/usr/local/sbin", "/usr/local/nginx/sbin"];
  for (const dir of dirs) {
    const candidate = join(dir, "nginx");
    if (spawnSync(candidate, ["-v"]).status === 0) return candidate;
  }
  return undefined;
}

const NGINX = findNginx();
if (!NGINX) console.warn("skipping the README's nginx block: no nginx (apt-get install nginx)");

describe.skipIf(!NGINX)(`the README's nginx block in front of wrangler dev${NGINX ? "" : " (skipped: no nginx; apt-get install nginx)"}`, () => {
  let dev: WranglerDev;
  let dir: string;
  let pgid = 0;
  let port: number;
  let base: string;
  let nginxOutput = "";

  beforeAll(async () => {
    dev = await startWranglerDev();
    dir = await mkdtemp(join(tmpdir(), "userhub-nginx-"));
    port = await freePort();
    base = `http://127.0.0.1:${port}`;

    // The README's block, with its two addresses moved to this test's ports.
    const block = codeBlock(readmeSection("## Running behind a proxy"), "nginx");
    expect(block.match(/listen 80;/g), "the block listens on port 80 once").toHaveLength(1);
    expect(block.split(README_DEV_HOST), "the block proxies to the README's local server once").toHaveLength(2);
    const server = block.replace("listen 80;", `listen 127.0.0.1:${port};`).replace(README_DEV_HOST, `127.0.0.1:${dev.port}`);
    const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((what) => `  ${what}_temp_path ${join(dir, what)};`).join("\n");
    await writeFile(
      join(dir, "nginx.conf"),
      [
        "daemon off;",
        "worker_processes 1;",
        `pid ${join(dir, "nginx.pid")};`,
        "error_log stderr warn;",
        // As root, nginx's workers would run as nobody, who cannot write this temp folder.
        process.getuid?.() === 0 ? "user root;" : "",
        "events { worker_connections 64; }",
        "http {",
        "  access_log off;",
        temp,
        server,
        "}",
      ].join("\n"),
    );
    const child = spawn(NGINX!, ["-p", dir, "-c", join(dir, "nginx.conf"), "-e", "stderr"], { detached: true, stdio: ["ignore", "pipe", "pipe"] });
    pgid = child.pid!;
    trackProcessGroup(pgid, dir);
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (nginxOutput += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (nginxOutput += chunk));
    await vi.waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}:\n${nginxOutput}`);
        expect((await fetch(`${base}/`)).status).toBe(200);
      },
      { timeout: 20_000, interval: 200 },
    );
  }, 120_000);

  afterAll(async () => {
    if (pgid) await stopProcessGroup(pgid);
    await dev?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("the page passes through", async () => {
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await page.text()).toContain("userhub");
  });

  test("/dev/token, the upgrade, frames and a push pass through", async () => {
    const issued = await fetch(`${base}/dev/token`, { method: "POST", body: JSON.stringify({ userId: "nginx-alice" }) });
    expect(issued.status).toBe(200);
    const { token } = (await issued.json()) as { token: string };

    const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`, ["userhub.v1", `bearer.${token}`]);
    const frames: Array<Record<string, unknown>> = [];
    socket.on("message", (data) => frames.push(JSON.parse(String(data)) as Record<string, unknown>));
    await new Promise<void>((resolve, reject) => {
      socket.once("open", () => resolve());
      socket.once("error", reject);
    });
    try {
      expect(socket.protocol).toBe("userhub.v1");
      await vi.waitFor(() => expect(frames[0]).toMatchObject({ type: "welcome", userId: "nginx-alice", connections: 1 }), { timeout: 10_000 });

      socket.send(JSON.stringify({ type: "send", data: "through nginx" }));
      await vi.waitFor(() => expect(frames).toContainEqual(expect.objectContaining({ type: "message", data: "through nginx" })), { timeout: 10_000 });

      const pushed = await fetch(`${base}/users/nginx-alice/messages`, {
        method: "POST",
        headers: { Authorization: `Bearer ${PUSH_KEY}`, "Content-Type": "application/json" },
        body: JSON.stringify({ data: { text: "pushed through nginx" } }),
      });
      expect(pushed.status).toBe(200);
      expect(await pushed.json()).toMatchObject({ delivered: 1, duplicate: false });
      await vi.waitFor(() => expect(frames).toContainEqual(expect.objectContaining({ type: "message", data: { text: "pushed through nginx" } })), { timeout: 10_000 });
    } finally {
      socket.close(1000);
    }
  });

  test("a plain GET /ws gets 426, and the body's curl hint names nginx's port, not the one behind it", async () => {
    const plain = await fetch(`${base}/ws`);
    expect(plain.status).toBe(426);
    const body = await plain.text();
    expect(body).toContain(`http://127.0.0.1:${port}/ws`);
    expect(body).not.toContain(`:${dev.port}/`);
    expect(body).not.toMatch(/http:\/\/127\.0\.0\.1\/ws/);
  });
});
