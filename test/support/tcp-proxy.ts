/**
 * A TCP proxy on a free port in front of a server, for tests that need to
 * drop connections abruptly: `dropAll()` resets every connection through it
 * (RST, no close frame), the way a train entering a tunnel drops a phone's;
 * `setOffline(true)` does that and then resets every new connection until
 * `setOffline(false)`, the way a device that lost its network cannot reconnect.
 */
import { createServer, type Socket, connect } from "node:net";

export interface TcpProxy {
  /** The port to connect to instead of the server's. */
  readonly port: number;
  /** Connections ever accepted. */
  readonly accepted: number;
  /** Resets every open connection, both sides, without a goodbye. */
  dropAll(): number;
  /** While true, every connection is reset at once: the open ones, and each new one as it arrives. */
  setOffline(offline: boolean): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, host = "127.0.0.1"): Promise<TcpProxy> {
  const pairs = new Set<[Socket, Socket]>();
  let accepted = 0;
  let offline = false;
  const server = createServer((downstream) => {
    accepted++;
    if (offline) {
      downstream.on("error", () => {});
      downstream.resetAndDestroy();
      return;
    }
    const upstream = connect(targetPort, host);
    const pair: [Socket, Socket] = [downstream, upstream];
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      downstream.destroy();
      upstream.destroy();
    };
    for (const socket of pair) {
      socket.setNoDelay(true);
      socket.on("error", end);
      socket.on("close", end);
    }
    downstream.pipe(upstream);
    upstream.pipe(downstream);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port: 0 }, resolve);
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("tcp proxy: no port");
  const dropAll = () => {
    const dropped = pairs.size;
    for (const [downstream, upstream] of [...pairs]) {
      downstream.resetAndDestroy();
      upstream.resetAndDestroy();
    }
    pairs.clear();
    return dropped;
  };
  return {
    port: address.port,
    get accepted() {
      return accepted;
    },
    dropAll,
    setOffline(next) {
      offline = next;
      if (offline) dropAll();
    },
    async close() {
      dropAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
