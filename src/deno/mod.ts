/**
 * userhub on Deno: the same hub logic and router as on Cloudflare, with an
 * in-process host. One hub per connected user lives in a
 * {@link LocalHubNamespace} the application owns; `serve` puts it behind
 * `Deno.serve`.
 *
 * @example
 * ```ts
 * import { readAuthOptions, readHubConfig } from "userhub";
 * import { serve } from "userhub/deno";
 *
 * const env = Deno.env.toObject();
 * serve({ auth: readAuthOptions(env), config: readHubConfig(env), port: 8000 });
 * ```
 *
 * @module
 */
export { LocalHubNamespace, type LocalHubNamespaceOptions, type LocalHubStats } from "./local-hub-namespace.ts";
export { LocalHub, type LocalHubOptions } from "./local-hub.ts";
export { LocalHubHost, type LocalHubHostOptions } from "./local-hub-host.ts";
export { serve, type ServeCommonOptions, type ServeGivenHubsOptions, type ServeOptions, type ServeOwnHubsOptions, type UserhubServer } from "./serve.ts";
export { KvDeliveryLog, KvLogConflictError } from "./kv-delivery-log.ts";
