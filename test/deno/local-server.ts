import { issueToken, readHubConfig } from "../../src/index.ts";
import { serve, type UserhubServer } from "../../src/deno/mod.ts";
import { fanOutApp } from "../../worker/demo-app.ts";

export const TEST_SECRET = "deno-test-secret";

/** A userhub server on a free loopback port, configured from `vars` like the Worker's. */
export interface LocalServer extends AsyncDisposable {
  readonly server: UserhubServer;
  /** `ws://127.0.0.1:<port>/ws` */
  readonly wsUrl: string;
  /** A token for `userId`, signed with the server's secret. */
  token(userId: string, ttlSeconds?: number): Promise<string>;
}

export function startLocalServer(vars: Record<string, string> = {}): LocalServer {
  const server = serve({ secret: TEST_SECRET, config: readHubConfig(vars), app: fanOutApp, port: 0 });
  return {
    server,
    wsUrl: `${server.url.replace(/^http/, "ws")}/ws`,
    token: (userId, ttlSeconds = 3600) => issueToken(userId, { secret: TEST_SECRET, ttlSeconds }),
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** The status line and headers of a raw HTTP/1.1 request, read straight off the wire (no client rewrites headers). */
export async function rawRequest(
  url: string,
  method: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Headers }> {
  const { hostname, port, pathname } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  try {
    const lines = [
      `${method} ${pathname} HTTP/1.1`,
      `Host: ${hostname}:${port}`,
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
      "",
      "",
    ];
    await conn.write(new TextEncoder().encode(lines.join("\r\n")));
    let text = "";
    const buffer = new Uint8Array(4096);
    while (!text.includes("\r\n\r\n")) {
      const n = await conn.read(buffer);
      if (n === null) break;
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
    const [statusLine = "", ...headerLines] = text.split("\r\n\r\n")[0]!.split("\r\n");
    const answer = new Headers();
    for (const line of headerLines) {
      const colon = line.indexOf(":");
      if (colon > 0) answer.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    }
    return { status: Number(statusLine.split(" ")[1]), headers: answer };
  } finally {
    conn.close();
  }
}

/** Headers of a valid upgrade, plus `extra`. */
export function upgradeHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return {
    Connection: "Upgrade",
    Upgrade: "websocket",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16)))),
    ...extra,
  };
}
