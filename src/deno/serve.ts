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
import { LocalHubNamespace, type LocalHubNamespaceOptions } from "./local-hub-namespace.ts";

/** Options of {@link serve}. */
export interface ServeOptions<E extends Env = Env> {
  /** The JWT secret for HMAC tokens. With neither it nor a key set (`auth.jwksUrl`), upgrades answer 500 naming both, as on Cloudflare. */
  readonly secret?: string | undefined;
  /** The one JWT algorithm accepted with `secret`. Default `HS256`. */
  readonly algorithm?: JwtAlgorithm;
  /**
   * How tokens are verified, in full (key set, algorithms, issuer, audience,
   * user claim; `readAuthOptions(Deno.env.toObject())` reads the variables).
   * Its fields win over `secret` and `algorithm`. Used at the upgrade and for in-band `auth` frames.
   */
  readonly auth?: AuthOptions;
  /** Where users' hubs live. Default: a new {@link LocalHubNamespace} with `config` and `app`, which verifies in-band tokens with `secret`. */
  readonly hubs?: LocalHubNamespace;
  /** The hubs' configuration, when `hubs` is not given. */
  readonly config?: HubConfig;
  /** The application, when `hubs` is not given. */
  readonly app?: HubApp;
  /** Opens each user's delivery log, when `hubs` is not given. Default: in memory (e.g. `KvDeliveryLog` for a durable one). */
  readonly log?: LocalHubNamespaceOptions["log"];
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
 * import { readHubConfig } from "userhub";
 *
 * const server = serve({ secret: Deno.env.get("JWT_SECRET"), config: readHubConfig(Deno.env.toObject()), port: 8000 });
 * console.log(`sockets on ${server.url.replace("http", "ws")}/ws`);
 * ```
 */
export function serve<E extends Env = Env>(options: ServeOptions<E>): UserhubServer {
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
