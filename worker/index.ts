/**
 * The demo Worker: userhub's router on `/ws`, a development token endpoint,
 * and server push. The demo page on `/` is a static asset (worker/public/),
 * served before this code runs. It is also the model of a deployer's own Worker.
 */
import { Hono } from "hono";
import { answerDevToken, answerError, createUserhubRouter, readAuthOptions, readList } from "../src/index.ts";
import { durableObjectHubs, UserHub as UserHubBase, type UserHubEnv } from "../durable-objects/index.ts";
import { fanOutApp } from "./demo-app.ts";

/** The demo's Durable Object (bound as `USER_HUB`, class `UserHub` in wrangler.toml): userhub's hub running the demo's application. */
export const UserHub = UserHubBase.with(fanOutApp);
export type UserHub = InstanceType<typeof UserHub>;

/** The demo Worker's bindings (see wrangler.toml and .dev.vars). */
export interface DemoEnv extends UserHubEnv {
  USER_HUB: DurableObjectNamespace<UserHub>;
  /** The HS256 secret for JWTs; `wrangler secret put JWT_SECRET` when deployed. (`JWKS_URL` and the other `JWT_*` variables come with `UserHubEnv`.) */
  JWT_SECRET?: string;
  /** Comma-separated origins allowed to open sockets; empty allows any. */
  ALLOWED_ORIGINS?: string;
  /** `"on"` only in local development (from .dev.vars): enables POST /dev/token. */
  DEV_TOKENS?: string;
  /** The server credential for `POST /users/:userId/messages`; unset turns that endpoint off. */
  PUSH_API_KEY?: string;
  /** Optional Workers Rate Limiting binding (`[[ratelimits]]`, see the README): each user's upgrade attempts, counted at the edge. */
  UPGRADE_LIMITER?: RateLimit;
}

const app = new Hono<{ Bindings: DemoEnv }>();

app.post("/dev/token", answerDevToken);
app.route(
  "/",
  createUserhubRouter<{ Bindings: DemoEnv }>({
    hubs: (c) => durableObjectHubs(c.env.USER_HUB),
    auth: (c) => readAuthOptions(c.env as unknown as Record<string, unknown>),
    allowedOrigins: (c) => readList(c.env as unknown as Record<string, unknown>, "ALLOWED_ORIGINS"),
    pushKey: (c) => c.env.PUSH_API_KEY,
    upgradeLimiter: (c) => c.env.UPGRADE_LIMITER,
  }),
);
app.onError(answerError);

export default app;
