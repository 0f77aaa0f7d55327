/**
 * The demo Worker: userhub's routes on `/ws`, a development token endpoint,
 * and server push, from one `userhubWorker` call, with the demo's
 * application in its Durable Object. The demo page on `/` is a static asset
 * (worker/public/), served before this code runs. It is also the model of a
 * deployer's own Worker (see the README's "Use it in your own Worker").
 */
import { UserHub as UserHubBase, type UserHubEnv, userhubWorker } from "../durable-objects/index.ts";
import type { FanOutMessage } from "../src/host.ts";
import { fanOutApp } from "./demo-app.ts";

/** The demo's Durable Object (bound as `USER_HUB`, class `UserHub` in wrangler.toml): userhub's hub running the demo's application. */
export const UserHub = UserHubBase.with(fanOutApp);
export type UserHub = InstanceType<typeof UserHub>;

/** The demo Worker's bindings (see wrangler.toml and .dev.vars); `userhubWorker` reads them by name. */
export interface DemoEnv extends UserHubEnv {
  USER_HUB: DurableObjectNamespace<UserHub>;
  /** The HS256 secret for JWTs; a secret when deployed. (`JWKS_URL` and the other `JWT_*` variables come with `UserHubEnv`.) */
  JWT_SECRET?: string;
  /** Comma-separated origins allowed to open sockets; empty allows any. */
  ALLOWED_ORIGINS?: string;
  /** `"on"` only in local development (from .dev.vars): enables POST /dev/token. */
  DEV_TOKENS?: string;
  /** The server credential for `POST /users/:userId/messages`, `/disconnect` and `POST /messages`; unset turns them off. */
  PUSH_API_KEY?: string;
  /** The queue that takes `POST /messages` lists of more than 50 users (`[[queues.producers]]`); this Worker consumes it too. */
  FAN_OUT_QUEUE?: Queue<FanOutMessage>;
  /** Optional Workers Rate Limiting binding (`[[ratelimits]]`, see the README): each user's upgrade attempts, counted at the edge. */
  UPGRADE_LIMITER?: RateLimit;
}

export default userhubWorker({ hub: "USER_HUB", upgradeLimiter: "UPGRADE_LIMITER", fanOutQueue: "FAN_OUT_QUEUE" });
