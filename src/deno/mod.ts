/**
 * userhub on Deno: the same hub logic and router as on Cloudflare, with an
 * in-process host. One hub per connected user lives in a
 * {@link LocalHubNamespace} the application owns; `serve` puts it behind
 * `Deno.serve`.
 *
 * @example
 * ```ts
 * import { readHubConfig } from "userhub";
 * import { serve } from "userhub/deno";
 *
 * serve({ secret: Deno.env.get("JWT_SECRET"), config: readHubConfig(Deno.env.toObject()), port: 8000 });
 * ```
 *
 * @module
 */
export { LocalHubNamespace, type LocalHubNamespaceOptions, type LocalHubStats } from "./local-hub-namespace.ts";
export { LocalHub, type LocalHubOptions } from "./local-hub.ts";
export { LocalHubHost, type LocalHubHostOptions } from "./local-hub-host.ts";
export { serve, type ServeOptions, type UserhubServer } from "./serve.ts";
export { KvDeliveryLog, KvLogConflictError } from "./kv-delivery-log.ts";
