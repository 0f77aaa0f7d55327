import { type Context, Hono } from "hono";
import { answerDevToken, answerError, ConfigError, createUserhubRouter, readAuthOptions } from "../src/index.ts";
import { consumeFanOut, type EdgeRateLimiter, type FanOutBatch, type FanOutQueue, type HubNamespace, type PeerHubs, readList } from "../src/host.ts";
import { hubConfigOf } from "./env-config.ts";
import { durableObjectHubs } from "./hub-namespace.ts";
import type { UserHub } from "./user-hub.ts";

/** Options of {@link userhubWorker}: the names of the Worker's bindings, and where the routes go. */
export interface UserhubWorkerOptions {
  /** The Durable Object binding of the hub class (`[[durable_objects.bindings]] name`), e.g. `"USER_HUB"`. */
  readonly hub: string;
  /** A Workers Rate Limiting binding (`[[ratelimits]] name`) counting each user's upgrade attempts at the edge. Default: none. */
  readonly upgradeLimiter?: string;
  /** The upgrade route. Default `/ws`; tickets are issued at `${path}/ticket`. */
  readonly path?: string;
  /**
   * A Cloudflare Queues producer binding (`[[queues.producers]] binding`) that takes `POST /messages` lists
   * longer than `directRecipients`; this Worker's `queue` handler consumes it (`[[queues.consumers]]`).
   * Default: none, and such lists get 413.
   */
  readonly fanOutQueue?: string;
  /** Users a `POST /messages` pushes to itself before it queues the list. Default 50 (a Workers Free invocation's subrequests). */
  readonly directRecipients?: number;
}

/** A userhub Worker: the Hono app, and the queue handler that delivers `POST /messages` lists handed to the queue. */
export type UserhubWorker = Hono<UserhubWorkerEnv> & {
  /** Consumes the fan-out queue (see `consumeFanOut`): each message acknowledged once all its users have the data, retried otherwise. */
  queue(batch: MessageBatch, env: object, ctx?: ExecutionContext): Promise<void>;
};

/** What a userhub Worker's handlers see as `c.env`: its bindings, read by name. */
export type UserhubWorkerEnv = { Bindings: Record<string, unknown> };

/**
 * A whole userhub Worker in one call: a Hono app with userhub's routes (the
 * upgrade on `/ws`, tickets, and, with `PUSH_API_KEY` set, push and
 * disconnect), `POST /dev/token` where `DEV_TOKENS` is `"on"` (a 404
 * elsewhere), and the error answer. It reads its bindings by name on each
 * request: the hub's Durable Object binding, `JWT_SECRET` or `JWKS_URL` and
 * the other `JWT_*` variables, `ALLOWED_ORIGINS`, `PUSH_API_KEY`, and the
 * fan-out queue. Export it as the Worker (its `queue` handler consumes the
 * fan-out queue), or mount it into an app of your own with `app.route("/", …)`
 * and call its `queue` from your own handler.
 *
 * Before any route reaches a hub, it reads the hubs' configuration from the
 * same bindings (`readHubConfig`, once per `env`), so that a variable that
 * cannot be used is answered 500 naming it on every such route, and a
 * `POST /messages` is never accepted (202) for hubs that cannot take it. Its
 * `queue` handler, meeting such a variable (set after a message was
 * accepted), hands the whole batch back for retry with one log line naming it.
 *
 * @throws {ConfigError} (answered 500, naming it) when the hub binding is not a Durable Object namespace, or a hub variable cannot be used.
 *
 * @example
 * ```ts
 * import { UserHub, userhubWorker } from "userhub/cloudflare";
 * import { chat } from "./chat";
 *
 * export const ChatHub = UserHub.with(chat);
 * export default userhubWorker({ hub: "USER_HUB", fanOutQueue: "FAN_OUT_QUEUE" });
 * ```
 */
export function userhubWorker(options: UserhubWorkerOptions): UserhubWorker {
  const vars = (c: Context<UserhubWorkerEnv>): Readonly<Record<string, unknown>> => c.env ?? {};
  const app = new Hono<UserhubWorkerEnv>();
  // The core's message is host-neutral; here is where a Cloudflare deployer learns how to set a secret.
  // (The router answers its own errors, so this looks at what it answered rather than catching.)
  app.use(async (c, next) => {
    await next();
    if (c.error instanceof ConfigError && c.error.variable === "JWT_SECRET") console.error(SECRET_HINT);
  });
  app.post("/dev/token", (c) => answerDevToken(c as unknown as Parameters<typeof answerDevToken>[0]));
  app.route(
    "/",
    createUserhubRouter<UserhubWorkerEnv>({
      hubs: (c) => hubsOf(vars(c), options.hub),
      auth: (c) => readAuthOptions(vars(c)),
      allowedOrigins: (c) => readList(vars(c), "ALLOWED_ORIGINS"),
      pushKey: (c) => stringOrUndefined(vars(c).PUSH_API_KEY),
      ...(options.path ? { path: options.path } : {}),
      ...(options.upgradeLimiter ? { upgradeLimiter: (c) => vars(c)[options.upgradeLimiter!] as EdgeRateLimiter | undefined } : {}),
      ...(options.fanOutQueue ? { fanOutQueue: (c) => queueBinding(vars(c), options.fanOutQueue!) } : {}),
      ...(options.directRecipients === undefined ? {} : { directRecipients: options.directRecipients }),
    }),
  );
  app.onError(answerError);
  // The runtime calls the default export's `queue` for each batch of a queue this Worker consumes.
  return Object.assign(app, {
    async queue(batch: MessageBatch, env: object): Promise<void> {
      let hubs: HubNamespace;
      try {
        hubs = hubsOf((env ?? {}) as Readonly<Record<string, unknown>>, options.hub);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        // Accepted while the configuration was good (the route checks it first): kept for after the fix, or the dead letter queue.
        console.error(`userhub: queue ${batch.queue}: configuration error: ${error.message}; ${batch.messages.length} message(s) handed back for retry, no hub called`);
        batch.retryAll();
        return;
      }
      await consumeFanOut(hubs, batch as unknown as FanOutBatch);
    },
  });
}

/** The fan-out queue's producer binding, or undefined when the Worker has none by that name (long lists then get 413). */
function queueBinding(vars: Readonly<Record<string, unknown>>, name: string): FanOutQueue | undefined {
  const binding = vars[name] as { sendBatch?: unknown } | undefined;
  return typeof binding?.sendBatch === "function" ? (binding as unknown as FanOutQueue) : undefined;
}

const SECRET_HINT = "userhub: on Cloudflare, set JWT_SECRET with `wrangler secret put JWT_SECRET` (locally, in .dev.vars), or set JWKS_URL";

/**
 * The users' hubs behind the binding `name`, once the hubs' configuration in
 * the same `vars` (what every `UserHub` of this Worker reads) is usable: a
 * variable that cannot be used is answered here, 500 naming it, before any
 * push is taken or queued. Read once per `env`, like the hub's own.
 */
function hubsOf(vars: Readonly<Record<string, unknown>>, name: string): HubNamespace & PeerHubs {
  const binding = hubBinding(vars, name);
  hubConfigOf(vars);
  return durableObjectHubs(binding);
}

function hubBinding(vars: Readonly<Record<string, unknown>>, name: string): DurableObjectNamespace<UserHub> {
  const binding = vars[name] as { idFromName?: unknown } | undefined;
  if (typeof binding?.idFromName !== "function") {
    throw new ConfigError(name, "is not a Durable Object binding; declare it under [[durable_objects.bindings]] in wrangler.toml");
  }
  return binding as unknown as DurableObjectNamespace<UserHub>;
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}
