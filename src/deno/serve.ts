import { type Env, Hono } from "hono";
import {
  answerError,
  type AuthOptions,
  createUserhubRouter,
  type HubApp,
  type HubConfig,
  type JwtAlgorithm,
  type UserhubRouterOptions,
  verifyToken,
} from "../index.ts";
import { MAX_FAN_OUT_RECIPIENTS } from "../host.ts";
import { LocalHubNamespace, type LocalHubNamespaceOptions } from "./local-hub-namespace.ts";

/** What every {@link serve} takes, whichever way its hubs are made. */
export interface ServeCommonOptions<E extends Env = Env> {
  /** The JWT secret for HMAC tokens. With neither it nor a key set (`auth.jwksUrl`), upgrades answer 500 naming both, as on Cloudflare. */
  readonly secret?: string | undefined;
  /** The one JWT algorithm accepted with `secret`. Default `HS256`. */
  readonly algorithm?: JwtAlgorithm;
  /**
   * How tokens are verified, in full (key set, algorithms, issuer, audience,
   * user claim; `readAuthOptions(Deno.env.toObject())` reads the variables).
   * Its fields win over `secret` and `algorithm`. Used at the upgrade and, by
   * the hubs `serve` makes, for in-band `auth` frames.
   */
  readonly auth?: AuthOptions;
  /** Origins allowed to open sockets; empty or absent allows any. */
  readonly allowedOrigins?: readonly string[];
  /** Further options of the userhub router (e.g. its `path`). */
  readonly router?: Omit<UserhubRouterOptions<E>, "hubs" | "secret" | "algorithm" | "auth" | "allowedOrigins">;
  /** Your own routes (a page, a token endpoint), served beside userhub's. */
  readonly routes?: Hono<E>;
  /** What your routes see as `c.env`. */
  readonly bindings?: E["Bindings"];
  /** Default 8787, like `npm start`; 0 picks a free port. */
  readonly port?: number;
  /** Default `127.0.0.1`. */
  readonly hostname?: string;
  /** Aborting it shuts the server down. */
  readonly signal?: AbortSignal;
  /** Called once the server listens. Default: nothing is printed. */
  readonly onListen?: (address: Deno.NetAddr) => void;
}

/** `serve` makes the hubs: a new {@link LocalHubNamespace} from these, verifying in-band tokens as the upgrade does. */
export interface ServeOwnHubsOptions<E extends Env = Env> extends ServeCommonOptions<E> {
  readonly hubs?: undefined;
  /** The hubs' configuration. Default: `readHubConfig({})`, the documented defaults. */
  readonly config?: HubConfig;
  /** The application every hub runs. Default `PUSH_ONLY_APP`. */
  readonly app?: HubApp;
  /** Opens each user's delivery log. Default: in memory (e.g. `KvDeliveryLog` for a durable one). */
  readonly log?: LocalHubNamespaceOptions["log"];
}

/** Hubs you made: their configuration, application and logs are theirs, so `serve` takes none of its own. */
export interface ServeGivenHubsOptions<E extends Env = Env> extends ServeCommonOptions<E> {
  /** Where users' hubs live. */
  readonly hubs: LocalHubNamespace;
  readonly config?: never;
  readonly app?: never;
  readonly log?: never;
}

/**
 * Options of {@link serve}: either the hubs' `config`, `app` and `log`, or a
 * `hubs` namespace that already has them, never both (TypeScript refuses
 * both; so does `serve`, with a `TypeError`, for a caller it cannot check).
 */
export type ServeOptions<E extends Env = Env> = ServeOwnHubsOptions<E> | ServeGivenHubsOptions<E>;

/** A running userhub server. */
export interface UserhubServer {
  /** `http://host:port` */
  readonly url: string;
  readonly port: number;
  readonly hubs: LocalHubNamespace;
  /** Settles once the server has shut down. */
  readonly finished: Promise<void>;
  /** Stops accepting connections, closes the open sockets (1001) and waits for the server to finish. */
  shutdown(): Promise<void>;
}

/**
 * Serves userhub on Deno: `Deno.serve` with the same Hono router as the
 * Worker, handing each socket to its user's hub in this process.
 *
 * @example
 * ```ts
 * import { serve } from "userhub/deno";
 * import { readAuthOptions, readHubConfig } from "userhub";
 *
 * const env = Deno.env.toObject();
 * const server = serve({ auth: readAuthOptions(env), config: readHubConfig(env), port: 8000 });
 * console.log(`sockets on ${server.url.replace("http", "ws")}/ws`);
 * ```
 */
export function serve<E extends Env = Env>(options: ServeOptions<E>): UserhubServer {
  if (options.hubs) {
    const ignored = (["config", "app", "log"] as const).filter((name) => (options as unknown as Partial<Record<string, unknown>>)[name] !== undefined);
    if (ignored.length > 0) throw new TypeError(`serve: ${ignored.join(", ")} would be ignored with "hubs"; give them to the LocalHubNamespace instead`);
  }
  const auth: AuthOptions = {
    secret: options.secret,
    ...(options.algorithm ? { algorithm: options.algorithm } : {}),
    ...options.auth,
  };
  const canVerify = Boolean(auth.secret || auth.jwksUrl || auth.keySet);
  const hubs = options.hubs ?? new LocalHubNamespace({
    ...(options.config ? { config: options.config } : {}),
    ...(options.app ? { app: options.app } : {}),
    ...(options.log ? { log: options.log } : {}),
    ...(canVerify ? { verifyToken: (token: string) => verifyToken(token, auth) } : {}),
  });
  const app = new Hono<E>();
  if (options.routes) app.route("/", options.routes);
  app.route(
    "/",
    createUserhubRouter<E>({
      // The hubs are in this process: every POST /messages list is pushed by the request itself (no queue), 16 at a time.
      directRecipients: MAX_FAN_OUT_RECIPIENTS,
      ...options.router,
      hubs: () => hubs,
      auth: () => auth,
      allowedOrigins: () => options.allowedOrigins ?? [],
    }),
  );
  app.onError(answerError);
  const server = Deno.serve(
    {
      port: options.port ?? 8787,
      hostname: options.hostname ?? "127.0.0.1",
      ...(options.signal ? { signal: options.signal } : {}),
      onListen: (address) => options.onListen?.(address),
    },
    (request) => app.fetch(request, options.bindings),
  );
  const address = server.addr;
  const host = address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    hubs,
    finished: server.finished,
    shutdown: () => server.shutdown(),
  };
}
