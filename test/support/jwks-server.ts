/**
 * A real key server for tests: a Node HTTP server on a loopback port that
 * publishes a JWKS document the test controls (rotate keys, change
 * Cache-Control), counts the requests it gets, and stops for real (its
 * port then refuses connections, as a provider that is down would).
 */
import { createServer, type Server } from "node:http";

export interface JwksServer {
  /** `http://127.0.0.1:PORT/.well-known/jwks.json` */
  readonly url: string;
  readonly port: number;
  /** Requests answered so far. */
  readonly requests: number;
  /** The document served from now on. */
  publish(document: unknown): void;
  /** Closes the listener and every open connection; idempotent. */
  stop(): Promise<void>;
}

export const JWKS_PATH = "/.well-known/jwks.json";

/** Starts a key server on `port` (0 picks a free one) serving `document`. */
export async function startJwksServer(document: unknown, options: { port?: number; cacheControl?: string } = {}): Promise<JwksServer> {
  let current = JSON.stringify(document);
  let requests = 0;
  const server: Server = createServer((request, response) => {
    requests++;
    if (request.method !== "GET" || request.url !== JWKS_PATH) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { "Content-Type": "application/json", ...(options.cacheControl ? { "Cache-Control": options.cacheControl } : {}) });
    response.end(current);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: options.port ?? 0 }, () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("the key server has no port");
  let stopped = false;
  return {
    url: `http://127.0.0.1:${address.port}${JWKS_PATH}`,
    port: address.port,
    get requests() {
      return requests;
    },
    publish(next) {
      current = JSON.stringify(next);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
