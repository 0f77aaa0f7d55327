/**
 * Puts deliveries in hubs' logs before a phase that wakes them, so a hub
 * that rebuilds its view of the log on waking does so over a log of the
 * size a real user's has (LOG_RETENTION). Only targets with a batch
 * push have such a log; for the others this does nothing.
 */
import { Agent, request } from "node:http";
import type { Target } from "../targets.ts";
import type { TargetServer } from "../target-server.ts";

export async function fillLogs(server: Pick<TargetServer, "url">, target: Target, users: readonly string[], deliveries: number): Promise<void> {
  if (!target.batchPushRequest || deliveries <= 0) return;
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  try {
    await Promise.all(
      users.map(async (user) => {
        for (let sent = 0; sent < deliveries; sent += 100) {
          const { path, headers, body } = target.batchPushRequest!(user, Math.min(100, deliveries - sent));
          await new Promise<void>((resolve, reject) => {
            const req = request(`${server.url}${path}`, { method: "POST", agent, headers: { ...headers, "Content-Length": Buffer.byteLength(body) } }, (response) => {
              response.resume();
              response.once("end", () => (response.statusCode === 200 ? resolve() : reject(new Error(`${target.name}: batch push answered ${response.statusCode}`))));
            });
            req.once("error", reject);
            req.end(body);
          });
        }
      }),
    );
  } finally {
    agent.destroy();
  }
}
