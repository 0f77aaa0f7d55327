import { type Context, type Env, Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { AuthError, findCredentials, type JwtAlgorithm, MISSING_CREDENTIALS_CHALLENGE, selectProtocol, verifyToken } from "./auth.ts";
import { ConfigError } from "./config.ts";
import type { HubNamespace } from "./hub-namespace.ts";
import { HttpStatus } from "./http-status.ts";
import { PROTOCOL, UpgradeError, validateUpgrade } from "./validate-upgrade.ts";

/** Options for {@link createUserhubRouter}. Functions of the context read bindings per request. */
export interface UserhubRouterOptions<E extends Env> {
  /** Where users' hubs live (e.g. `durableObjectHubs(c.env.USER_HUB)`). */
  hubs: (c: Context<E>) => HubNamespace;
  /** The JWT secret. A missing secret answers 500 and names the variable, never 401. */
  secret: (c: Context<E>) => string | undefined;
  /** The one JWT algorithm accepted. Default `HS256`. */
  algorithm?: JwtAlgorithm;
  /** Origins allowed to connect (exact `scheme://host[:port]`); empty or absent allows any. Requests without `Origin` (not from a browser) are allowed. */
  allowedOrigins?: (c: Context<E>) => readonly string[];
  /** The upgrade route. Default `/ws`. */
  path?: string;
}

/**
 * A Hono app serving the upgrade route: it validates the upgrade, checks
 * the origin, verifies the caller's JWT, and hands the socket to that user's
 * hub. Every refusal is an HTTP answer that names the problem, before any
 * hub is touched.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { createUserhubRouter } from "userhub";
 * import { durableObjectHubs, UserHub } from "userhub/cloudflare";
 *
 * type Env = { Bindings: { USER_HUB: DurableObjectNamespace<UserHub>; JWT_SECRET: string } };
 * const app = new Hono<Env>();
 * app.route("/", createUserhubRouter<Env>({
 *   hubs: (c) => durableObjectHubs(c.env.USER_HUB),
 *   secret: (c) => c.env.JWT_SECRET,
 * }));
 * export { UserHub };
 * export default app;
 * ```
 */
export function createUserhubRouter<E extends Env = Env>(options: UserhubRouterOptions<E>): Hono<E> {
  const app = new Hono<E>();
  app.all(options.path ?? "/ws", async (c) => {
    let protocols: readonly string[];
    let origin: string | null;
    try {
      ({ protocols, origin } = validateUpgrade(c.req.raw));
    } catch (error) {
      if (error instanceof UpgradeError) return c.text(error.message, error.status as ContentfulStatusCode, error.headers);
      throw error;
    }
    const allowed = options.allowedOrigins?.(c) ?? [];
    if (origin !== null && allowed.length > 0 && !allowed.includes(origin)) {
      return c.text(`403 Forbidden: origin ${JSON.stringify(origin)} is not allowed to connect.\n`, HttpStatus.Forbidden);
    }
    const protocol = selectProtocol(protocols);
    if (protocol === undefined) {
      return c.text(`400 Bad Request: Sec-WebSocket-Protocol must include "${PROTOCOL}".\n`, HttpStatus.BadRequest);
    }
    const credentials = findCredentials(c.req.raw.headers);
    if (credentials === null) {
      return c.text(
        `401 Unauthorized: no credentials. Send "Authorization: Bearer <jwt>", or from a browser the subprotocols "${PROTOCOL}, bearer.<jwt>".\n`,
        HttpStatus.Unauthorized,
        { "WWW-Authenticate": MISSING_CREDENTIALS_CHALLENGE },
      );
    }
    const secret = options.secret(c);
    if (!secret) throw new ConfigError("JWT_SECRET", "is not set; set it with `wrangler secret put JWT_SECRET`");
    try {
      const identity = await verifyToken(credentials.token, { secret, algorithm: options.algorithm ?? "HS256" });
      return await options.hubs(c).connect(c.req.raw, { identity, protocol });
    } catch (error) {
      if (error instanceof AuthError) {
        return c.text(`${error.message}\n`, error.status, { "WWW-Authenticate": error.challenge });
      }
      throw error;
    }
  });
  app.onError(answerError);
  return app;
}

/**
 * The error answer of every userhub app: a 500 that names a configuration
 * problem, or says only "internal error"; one log line, never a stack trace.
 */
export function answerError(error: Error, c: Context): Response {
  if (error instanceof ConfigError) {
    console.error(`userhub: configuration error: ${error.message}`);
    return c.text(`500 Internal Server Error: server misconfigured: ${error.message}.\n`, HttpStatus.InternalServerError);
  }
  console.error(`userhub: request failed: ${error.name}: ${error.message.split("\n")[0]}`);
  return c.text("500 Internal Server Error.\n", HttpStatus.InternalServerError);
}
