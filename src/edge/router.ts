import { type Context, type Env, Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { AuthError, type AuthOptions, findCredentials, type Identity, type JwtAlgorithm, MISSING_CREDENTIALS_CHALLENGE, selectProtocol, verifyToken } from "./auth.ts";
import { disconnectRoute } from "./disconnect-route.ts";
import { KeySetUnavailableError } from "./jwks-key-set.ts";
import { ConfigError } from "../hub/config.ts";
import type { HubNamespace } from "../hub/hub-namespace.ts";
import type { ResumeRequest } from "../hub/hub-handoff.ts";
import { HttpStatus } from "../protocol/http-status.ts";
import { pushRoute } from "./push-route.ts";
import { fanOutRoute } from "./fan-out-route.ts";
import type { FanOutQueue } from "./fan-out.ts";
import { ticketUserId } from "../hub/ticket.ts";
import { PROTOCOL } from "../protocol/frames.ts";
import { UpgradeError, validateUpgrade } from "./validate-upgrade.ts";

/** Options for {@link createUserhubRouter}. Functions of the context read bindings per request. */
export interface UserhubRouterOptions<E extends Env> {
  /** Where users' hubs live (e.g. `durableObjectHubs(c.env.USER_HUB)`). */
  hubs: (c: Context<E>) => HubNamespace;
  /** The JWT secret for HMAC tokens. With neither a secret nor a key set, upgrades answer 500 naming both, never 401. */
  secret?: (c: Context<E>) => string | undefined;
  /** The one JWT algorithm accepted with `secret`. Default `HS256`. */
  algorithm?: JwtAlgorithm;
  /**
   * How tokens are verified, in full: secret, key set (`jwksUrl`),
   * algorithms, issuer, audience, user claim. Its fields win over `secret`
   * and `algorithm`. `readAuthOptions(c.env)` reads them from the variables.
   */
  auth?: (c: Context<E>) => AuthOptions;
  /** Origins allowed to connect (exact `scheme://host[:port]`); empty or absent allows any. Requests without `Origin` (not from a browser) are allowed. */
  allowedOrigins?: (c: Context<E>) => readonly string[];
  /** The server credential for `POST /users/:userId/messages`, `/disconnect` and `POST /messages`; absent or empty turns them off (404). */
  pushKey?: (c: Context<E>) => string | undefined;
  /**
   * The queue (a Cloudflare Queues producer binding) that takes `POST /messages` lists longer than
   * `directRecipients`, consumed by `consumeFanOut` (`userhubWorker`'s `queue` handler). Absent: such lists get 413.
   */
  fanOutQueue?: (c: Context<E>) => FanOutQueue | undefined;
  /** Users a `POST /messages` pushes to itself before it hands the list to `fanOutQueue`. Default 50 (a Workers Free invocation's subrequests). */
  directRecipients?: number;
  /** The upgrade route. Default `/ws`; tickets are issued at `${path}/ticket`. */
  path?: string;
  /**
   * A Workers Rate Limiting binding (`[[ratelimits]]` in wrangler.toml) counting attempts at the edge, before
   * any hub is reached; past it, 429. Keys: `upgrade:<user>` for a verified token's upgrade or ticket request,
   * `upgrade-address:<CF-Connecting-IP>` for an upgrade with a ticket (whose user is unproven until the hub
   * redeems it). Absent: only the hubs' own limits apply.
   */
  upgradeLimiter?: (c: Context<E>) => EdgeRateLimiter | undefined;
}

/** The part of a Workers Rate Limiting binding the router uses. */
export interface EdgeRateLimiter {
  limit(options: { key: string }): Promise<{ success: boolean }>;
}

/** The `Retry-After` of an edge refusal: the binding says only "no", and its period is at most 60 s. */
const EDGE_RETRY_AFTER_SECONDS = 60;

/**
 * A Hono app with userhub's routes:
 * - `GET /ws`: validates the upgrade, checks the origin, verifies the
 *   caller's JWT (or passes a ticket to the user's hub to redeem), and hands
 *   the socket to that user's hub; `?since=<seq>&epoch=<epoch>` resumes;
 * - `POST /ws/ticket`: trades a verified token for a single-use connect ticket;
 * - `POST /users/:userId/messages`: a server pushes to a user (when `pushKey` is set);
 * - `POST /users/:userId/disconnect`: a server closes a user's sockets with 4003 and may revoke their older tokens (when `pushKey` is set);
 * - `POST /messages`: a server pushes one piece of data to many users, directly or through `fanOutQueue` (when `pushKey` is set).
 * Every refusal is an HTTP answer that names the problem, before any hub is touched.
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
  const path = options.path ?? "/ws";
  const authOf = (c: Context<E>): AuthOptions => ({
    secret: options.secret?.(c),
    ...(options.algorithm ? { algorithm: options.algorithm } : {}),
    ...options.auth?.(c),
  });
  /** The caller's identity, or the answer that refuses it (401, or 503 when the key set was never reachable). */
  const identify = async (c: Context<E>, token: string): Promise<Identity | Response> => {
    try {
      return await verifyToken(token, authOf(c));
    } catch (error) {
      if (error instanceof AuthError) return c.text(`${error.message}\n`, error.status, { "WWW-Authenticate": error.challenge });
      if (error instanceof KeySetUnavailableError) return c.text(`${error.message}\n`, error.status, { "Retry-After": "5" });
      throw error;
    }
  };
  /**
   * The edge limiter's 429, or null to go on. `key` is only ever a verified
   * user id or the caller's own address: never a user id the caller merely
   * named, which would let anyone spend a victim's attempts.
   */
  const edgeRefusal = async (c: Context<E>, key: string, whose: string): Promise<Response | null> => {
    const limiter = options.upgradeLimiter?.(c);
    if (!limiter || (await limiter.limit({ key })).success) return null;
    return c.text(`429 Too Many Requests: too many connection attempts ${whose}; retry later.\n`, HttpStatus.TooManyRequests, {
      "Retry-After": String(EDGE_RETRY_AFTER_SECONDS),
    });
  };
  const originRefusal = (c: Context<E>): Response | null => {
    const origin = c.req.header("Origin");
    const allowed = options.allowedOrigins?.(c) ?? [];
    if (origin === undefined || allowed.length === 0 || allowed.includes(origin)) return null;
    return c.text(`403 Forbidden: origin ${JSON.stringify(origin)} is not allowed to connect.\n`, HttpStatus.Forbidden);
  };

  app.post(`${path}/ticket`, async (c) => {
    const refused = originRefusal(c);
    if (refused) return refused;
    const credentials = findCredentials(c.req.raw.headers);
    if (credentials === null || credentials.carrier !== "authorization") {
      return c.text('401 Unauthorized: send "Authorization: Bearer <jwt>" to get a ticket.\n', HttpStatus.Unauthorized, {
        "WWW-Authenticate": MISSING_CREDENTIALS_CHALLENGE,
      });
    }
    const identity = await identify(c, credentials.token);
    if (identity instanceof Response) return identity;
    const limited = await edgeRefusal(c, `upgrade:${identity.userId}`, "for this user");
    if (limited) return limited;
    const issued = await options.hubs(c).issueTicket(identity);
    if ("refused" in issued) return c.text(`401 Unauthorized: ${issued.refused}.\n`, HttpStatus.Unauthorized, { "WWW-Authenticate": challenge(issued.refused) });
    if ("retryAfterMs" in issued) {
      const seconds = Math.ceil(issued.retryAfterMs / 1000);
      return c.text(`429 Too Many Requests: too many tickets for this user; retry in ${seconds} s.\n`, HttpStatus.TooManyRequests, { "Retry-After": String(seconds) });
    }
    return c.json(issued);
  });

  app.all(path, async (c) => {
    let protocols: readonly string[];
    try {
      ({ protocols } = validateUpgrade(c.req.raw));
    } catch (error) {
      if (error instanceof UpgradeError) return c.text(error.message, error.status as ContentfulStatusCode, error.headers);
      throw error;
    }
    const refused = originRefusal(c);
    if (refused) return refused;
    const protocol = selectProtocol(protocols);
    if (protocol === undefined) {
      return c.text(`400 Bad Request: Sec-WebSocket-Protocol must include "${PROTOCOL}".\n`, HttpStatus.BadRequest);
    }
    const resume = readResume(c.req.query("since"), c.req.query("epoch"));
    if (typeof resume === "string") return c.text(`400 Bad Request: ${resume}.\n`, HttpStatus.BadRequest);
    const acks = c.req.query("ack") === "1";
    const credentials = findCredentials(c.req.raw.headers);
    if (credentials === null) {
      return c.text(
        `401 Unauthorized: no credentials. Send "Authorization: Bearer <jwt>", or from a browser the subprotocols "${PROTOCOL}, bearer.<jwt>" (or "${PROTOCOL}, ticket.<ticket>").\n`,
        HttpStatus.Unauthorized,
        { "WWW-Authenticate": MISSING_CREDENTIALS_CHALLENGE },
      );
    }
    if (credentials.carrier === "ticket") {
      const userId = ticketUserId(credentials.ticket);
      if (userId === null) {
        return c.text("401 Unauthorized: malformed ticket.\n", HttpStatus.Unauthorized, {
          "WWW-Authenticate": 'Bearer realm="userhub", error="invalid_token", error_description="malformed ticket"',
        });
      }
      // The user a ticket names is not proven until the hub redeems it, so the
      // edge never counts it against that user (a forged ticket naming a victim
      // would spend the victim's attempts). Ticket upgrades count against the
      // caller's address instead; the user's own count was taken when the
      // ticket was issued to a verified token.
      const address = c.req.header("CF-Connecting-IP");
      const limited = address === undefined ? null : await edgeRefusal(c, `upgrade-address:${address}`, "from this address");
      if (limited) return limited;
      return await options.hubs(c).connect(c.req.raw, { userId, protocol, resume, acks, ticket: credentials.ticket });
    }
    const identity = await identify(c, credentials.token);
    if (identity instanceof Response) return identity;
    const limited = await edgeRefusal(c, `upgrade:${identity.userId}`, "for this user");
    if (limited) return limited;
    return await options.hubs(c).connect(c.req.raw, { userId: identity.userId, protocol, resume, acks, identity });
  });

  if (options.pushKey) {
    const pushKey = options.pushKey;
    app.post("/users/:userId/messages", pushRoute<E>({ hubs: options.hubs, pushKey, auth: authOf }));
    app.post("/users/:userId/disconnect", disconnectRoute<E>({ hubs: options.hubs, pushKey, auth: authOf }));
    app.post(
      "/messages",
      fanOutRoute<E>({
        hubs: options.hubs,
        pushKey,
        auth: authOf,
        ...(options.fanOutQueue ? { fanOutQueue: options.fanOutQueue } : {}),
        ...(options.directRecipients === undefined ? {} : { directRecipients: options.directRecipients }),
      }),
    );
  }
  app.onError(answerError);
  return app;
}

function challenge(reason: string): string {
  return `Bearer realm="userhub", error="invalid_token", error_description="${reason}"`;
}

/** The resume point a client asked for with `?since=<seq>&epoch=<epoch>`, null for none, or what is wrong with it. */
function readResume(since: string | undefined, epoch: string | undefined): ResumeRequest | null | string {
  if (since === undefined) return epoch === undefined ? null : '"epoch" needs "since"';
  if (!/^\d{1,15}$/.test(since)) return '"since" must be a sequence number (a whole number >= 0)';
  if (epoch !== undefined && !/^[A-Za-z0-9-]{1,64}$/.test(epoch)) return '"epoch" must be the epoch from a welcome frame';
  return { since: Number(since), epoch: epoch ?? null };
}

/**
 * The error answer of every userhub app: a 500 that names a configuration
 * problem, or says only "internal error"; one log line, never a stack trace.
 */
export function answerError(error: Error, c: Context): Response {
  if (error instanceof KeySetUnavailableError) return c.text(`${error.message}\n`, error.status, { "Retry-After": "5" });
  if (error instanceof ConfigError) {
    console.error(`userhub: configuration error: ${error.message}`);
    return c.text(`500 Internal Server Error: server misconfigured: ${error.message}.\n`, HttpStatus.InternalServerError);
  }
  console.error(`userhub: request failed: ${error.name}: ${error.message.split("\n")[0]}`);
  return c.text("500 Internal Server Error.\n", HttpStatus.InternalServerError);
}
