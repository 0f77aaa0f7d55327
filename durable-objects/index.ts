/**
 * userhub on Cloudflare: `userhubWorker` (a whole Worker in one call), the
 * `UserHub` Durable Object (`UserHub.with(app)`), and the namespace the
 * router hands sockets to.
 *
 * @module
 */
export { UserHub, type UserHubEnv } from "./user-hub.ts";
export { durableObjectHubs } from "./hub-namespace.ts";
export { type UserhubWorker, userhubWorker, type UserhubWorkerEnv, type UserhubWorkerOptions } from "./userhub-worker.ts";
export { consumeFanOut } from "../src/edge/fan-out-consumer.ts";
export { DurableObjectHost } from "./durable-object-host.ts";
export { SqliteDeliveryLog } from "./sqlite-delivery-log.ts";
export { SqliteTicketStore } from "./sqlite-ticket-store.ts";
export { SqliteRevocationWatermark } from "./sqlite-revocation-watermark.ts";
export { HANDOFF_HEADER, handoffRequest, readHandoff } from "./handoff.ts";
