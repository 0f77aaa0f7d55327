/**
 * userhub: per-user WebSocket hubs. This entry point is the runtime-agnostic
 * core: upgrade validation, authentication, the wire protocol, the send
 * helper, the heartbeat policy, the hub logic and the Hono router factory.
 *
 * @module
 */
export { CloseCode, CloseReason, replyCloseCode } from "./close-code.ts";
export { HttpStatus } from "./http-status.ts";
export { curlUpgradeLine, tokenList, UpgradeError, type UpgradeRequest, validateUpgrade, type ValidateUpgradeOptions } from "./validate-upgrade.ts";
export {
  AuthError,
  type AuthOptions,
  type Credentials,
  findCredentials,
  type Identity,
  isValidUserId,
  issueToken,
  type JwtAlgorithm,
  MISSING_CREDENTIALS_CHALLENGE,
  selectProtocol,
  verifyToken,
} from "./auth.ts";
export {
  BEARER_PROTOCOL_PREFIX,
  PROTOCOL,
  TICKET_PROTOCOL_PREFIX,
  type ClientFrame,
  ErrorCode,
  type ErrorFrame,
  errorFrame,
  frameBytes,
  HEARTBEAT_PING,
  HEARTBEAT_PONG,
  type HeartbeatSettings,
  isLargerThan,
  type MessageFrame,
  parseClientFrame,
  type ParsedFrame,
  type ResetFrame,
  type AuthFrame,
  type ServerFrame,
  type SignalFrame,
  type WelcomeFrame,
} from "./protocol.ts";
export { type GoneReason, type SendOutcome, Sender, type SenderOptions, type WritableSocket } from "./sender.ts";
export { DEFAULT_HEARTBEAT, heartbeatDeadline, lastSignOfLife, type Liveness, staleAt, staleReason } from "./heartbeat.ts";
export { DEFAULT_HEARTBEAT_SWEEP_MS, ZombieSweep } from "./zombie-sweep.ts";
export { ConfigError, DEFAULT_CONFIG, type HubConfig, readHubConfig, readList, retentionOf } from "./config.ts";
export {
  type AppendResult,
  DEFAULT_RETENTION,
  type Delivery,
  type DeliveryLog,
  MemoryDeliveryLog,
  type NewDelivery,
  jsonBytes,
  payloadBytes,
  type ReplayResult,
  type RetentionPolicy,
} from "./delivery-log.ts";
export { DEFAULT_TICKET_TTL_MS, MemoryTicketStore, newTicket, type TicketStore, ticketUserId } from "./ticket.ts";
export type { ConnectionAttachment, HubHost } from "./hub-host.ts";
export { type Connection, fanOutApp, FrameError, type FrameHandler, type HubApp, type HubContext, type PresenceFrame } from "./hub-app.ts";
export { type Admission, Hub, type HubOptions } from "./hub.ts";
export type { HubHandoff, HubNamespace, PushOptions, PushResult, ResumePoint } from "./hub-namespace.ts";
export { answerError, createUserhubRouter, type UserhubRouterOptions } from "./router.ts";
export { answerDevToken } from "./dev-token.ts";
export { MAX_PUSH_BATCH, MAX_PUSH_BODY_BYTES, pushRoute, type PushRouteOptions } from "./push-route.ts";
