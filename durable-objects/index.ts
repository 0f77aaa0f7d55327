/**
 * userhub on Cloudflare: the `UserHub` Durable Object and the namespace the
 * router hands sockets to.
 *
 * @module
 */
export { UserHub, type UserHubEnv } from "./user-hub.ts";
export { durableObjectHubs } from "./hub-namespace.ts";
export { DurableObjectHost } from "./durable-object-host.ts";
export { SqliteDeliveryLog } from "./sqlite-delivery-log.ts";
export { SqliteTicketStore } from "./sqlite-ticket-store.ts";
export { SqliteRevocationWatermark } from "./sqlite-revocation-watermark.ts";
export { HANDOFF_HEADER, handoffRequest, readHandoff } from "./handoff.ts";
