/**
 * What people run on a VM: one Node process with the `ws` package. The same
 * work as the platform floor: `/ws/<user>` joins the user's set of sockets,
 * every text frame goes to every socket of the user, `ping` is answered
 * `pong`. `POST /push/<user>` writes one row to SQLite (node:sqlite, WAL,
 * synchronous=NORMAL, the usual production setting) and then sends the body
 * to every socket of the user. No wakes exist here: the process never sleeps.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { DatabaseSync } from "node:sqlite";
import { WebSocketServer, type RawData, type WebSocket } from "ws";

export interface NodeWsServer {
  readonly url: string;
  close(): Promise<void>;
}

export async function startNodeWsServer(options: { dbPath: string }): Promise<NodeWsServer> {
  const db = new DatabaseSync(options.dbPath);
  db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
    CREATE TABLE IF NOT EXISTS log (seq INTEGER PRIMARY KEY, user TEXT NOT NULL, at INTEGER NOT NULL, data TEXT NOT NULL)`);
  const insert = db.prepare("INSERT INTO log (user, at, data) VALUES (?, ?, ?)");
  const users = new Map<string, Set<WebSocket>>();
  const sockets = new WebSocketServer({ noServer: true, perMessageDeflate: false });

  const server = createServer((request, response) => void answer(request, response));
  async function answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = request.url ?? "/";
    if (path === "/__bench/wakes") return void response.writeHead(200, { "Content-Type": "application/json" }).end("{}");
    if (request.method === "POST" && path.startsWith("/push/")) {
      const user = decodeURIComponent(path.slice(6));
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const text = Buffer.concat(chunks).toString("utf8");
      insert.run(user, Date.now(), text);
      let delivered = 0;
      for (const socket of users.get(user) ?? []) {
        socket.send(text);
        delivered++;
      }
      return void response.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ delivered }));
    }
    response.writeHead(426).end("GET /ws/<user> with Upgrade: websocket\n");
  }

  server.on("upgrade", (request, socket, head) => {
    const path = request.url ?? "";
    const user = path.startsWith("/ws/") ? decodeURIComponent(path.slice(4)) : "";
    if (!user) return void socket.destroy();
    sockets.handleUpgrade(request, socket, head, (ws) => join(user, ws));
  });

  function join(user: string, ws: WebSocket): void {
    let room = users.get(user);
    if (!room) users.set(user, (room = new Set()));
    room.add(ws);
    ws.on("message", (data: RawData, isBinary: boolean) => {
      if (!isBinary && (data as Buffer).length === 4 && data.toString() === "ping") return void ws.send("pong");
      for (const socket of room) socket.send(data, { binary: isBinary });
    });
    ws.on("close", () => {
      room.delete(ws);
      if (room.size === 0) users.delete(user);
    });
    ws.on("error", () => ws.terminate());
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      for (const ws of sockets.clients) ws.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      db.close();
    },
  };
}
