/**
 * userhub: per-user WebSocket hubs. This entry point is the runtime-agnostic
 * core: upgrade validation, authentication, the wire protocol, the send
 * helper, the heartbeat policy, the hub logic and the Hono router factory.
 *
 * @module
 */
export { CloseCode, CloseReason, replyCloseCode } from "./close-code.ts";
export { BYTE_RATE_LIMIT_REASON, FRAME_RATE_LIMIT_REASON, MESSAGE_BACKLOG_REASON, UNACKED_BYTES_REASON } from "./close-code.ts";
export { HttpStatus } from "./http-status.ts";
export { curlUpgradeLine, tokenList, UpgradeError, type UpgradeRequest, validateUpgrade, type ValidateUpgradeOptions } from "./validate-upgrade.ts";
export {
  AuthError,
  type AuthOptions,
  DEFAULT_KEY_SET_ALGORITHMS,
  DEFAULT_SECRET_ALGORITHMS,
  isHmacAlgorithm,
  JWT_ALGORITHMS,
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
export { readAuthOptions } from "./auth-config.ts";
export {
  DEFAULT_KEY_SET_MAX_AGE_MS,
  FAILED_FETCH_RETRY_MS,
  JwksKeySet,
  type JwksKeySetOptions,
  KEY_SET_FETCH_TIMEOUT_MS,
  KeySetUnavailableError,
  MAX_KEY_SET_MAX_AGE_MS,
  MIN_KEY_SET_MAX_AGE_MS,
  type PublicJwk,
  sharedKeySet,
  UNKNOWN_KID_REFETCH_MS,
} from "./jwks-key-set.ts";
export { isRevoked, MemoryRevocationWatermarks, type RevocationWatermark } from "./revocation.ts";
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
  type AckFrame,
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
  type Delivery,
  type DeliveryLog,
  MemoryDeliveryLog,
  type NewDelivery,
  jsonBytes,
  payloadBytes,
  type ReplayResult,
} from "./delivery-log.ts";
export { DEFAULT_RETENTION, isKeyRemembered, isRetained, type RetentionFloor, retentionFloor, type RetentionPolicy } from "./retention.ts";
export { DEFAULT_TICKET_TTL_MS, MemoryTicketStore, newTicket, type TicketStore, ticketUserId } from "./ticket.ts";
export type { ConnectionAttachment, HubHost } from "./hub-host.ts";
export { type Connection, fanOutApp, FrameError, type FrameHandler, type HubApp, type HubContext, type PresenceFrame } from "./hub-app.ts";
export { type AcceptOptions, type Acceptance, type Admission, Hub, type HubOptions } from "./hub.ts";
export type {
  DisconnectOptions,
  DisconnectResult,
  HubHandoff,
  HubNamespace,
  PushOptions,
  PushResult,
  ResumePoint,
  TicketResult,
} from "./hub-namespace.ts";
export { isUnserializablePayload, messageFrameText, serializeDelivery, type SerializedDelivery, UNSERIALIZABLE_PAYLOAD_PREFIX, UnserializablePayloadError } from "./delivery-frame.ts";
export { NOTICE_INTERVAL_MS, type RateLimitName, type RateVerdict, SocketRateLimit, type SocketRateSettings, STREAK_GAP_MS } from "./socket-rate-limit.ts";
export { PerMinuteLimit, TokenBucket } from "./token-bucket.ts";
export { UnackedDeliveries } from "./unacked-deliveries.ts";
export { UserRateLimits } from "./user-rate-limits.ts";
export { answerError, createUserhubRouter, type EdgeRateLimiter, type UserhubRouterOptions } from "./router.ts";
export { answerDevToken } from "./dev-token.ts";
export { MAX_PUSH_BATCH, MAX_PUSH_BODY_BYTES, pushRoute, type PushRouteOptions, refuseUnlessServerKey } from "./push-route.ts";
export { disconnectRoute, MAX_CLOSE_REASON_BYTES, readDisconnectOptions } from "./disconnect-route.ts";
