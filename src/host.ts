/**
 * userhub for whoever writes a host (as `durable-objects/` and `src/deno/`
 * do): the hub logic and the interface it runs on, delivery logs, tickets
 * and revocation, the sender, heartbeat and sweep, rate limits, the wire
 * protocol's frames, upgrade validation, the key set, and the router's
 * building blocks. A deployer needs only `userhub`.
 *
 * @module
 */
export { BYTE_RATE_LIMIT_REASON, CloseReason, FRAME_RATE_LIMIT_REASON, MESSAGE_BACKLOG_REASON, replyCloseCode, UNACKED_BYTES_REASON } from "./close-code.ts";
export { curlUpgradeLine, tokenList, UpgradeError, type UpgradeRequest, validateUpgrade, type ValidateUpgradeOptions } from "./validate-upgrade.ts";
export {
  type Credentials,
  DEFAULT_KEY_SET_ALGORITHMS,
  DEFAULT_SECRET_ALGORITHMS,
  findCredentials,
  isHmacAlgorithm,
  isValidUserId,
  JWT_ALGORITHMS,
  MISSING_CREDENTIALS_CHALLENGE,
  selectProtocol,
} from "./auth.ts";
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
  type AckFrame,
  type AuthFrame,
  BEARER_PROTOCOL_PREFIX,
  type ClientFrame,
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
  PROTOCOL,
  type ResetFrame,
  type ServerFrame,
  type SignalFrame,
  TICKET_PROTOCOL_PREFIX,
  type WelcomeFrame,
} from "./protocol.ts";
export { type GoneReason, Sender, type SenderOptions, type SendOutcome, type WritableSocket } from "./sender.ts";
export { DEFAULT_HEARTBEAT, heartbeatDeadline, lastSignOfLife, type Liveness, staleAt, staleReason } from "./heartbeat.ts";
export { DEFAULT_HEARTBEAT_SWEEP_MS, ZombieSweep } from "./zombie-sweep.ts";
export { retentionOf } from "./config.ts";
export {
  type AppendResult,
  type Delivery,
  type DeliveryLog,
  jsonBytes,
  MemoryDeliveryLog,
  type NewDelivery,
  payloadBytes,
  type ReplayResult,
} from "./delivery-log.ts";
export { DEFAULT_RETENTION, isKeyRemembered, isRetained, type RetentionFloor, retentionFloor, type RetentionPolicy } from "./retention.ts";
export { DEFAULT_TICKET_TTL_MS, MemoryTicketStore, newTicket, type TicketStore, ticketUserId } from "./ticket.ts";
export { type ConnectionAttachment, type HubHost } from "./hub-host.ts";
export { type Acceptance, type AcceptOptions, type Admission, Hub, type HubOptions } from "./hub.ts";
export { type HubHandoff, type HubNamespace, type ResumePoint, type TicketResult } from "./hub-namespace.ts";
export {
  isUnserializablePayload,
  messageFrameText,
  type SerializedDelivery,
  serializeDelivery,
  UNSERIALIZABLE_PAYLOAD_PREFIX,
  UnserializablePayloadError,
} from "./delivery-frame.ts";
export { NOTICE_INTERVAL_MS, type RateLimitName, type RateVerdict, SocketRateLimit, type SocketRateSettings, STREAK_GAP_MS } from "./socket-rate-limit.ts";
export { PerMinuteLimit, TokenBucket } from "./token-bucket.ts";
export { UnackedDeliveries } from "./unacked-deliveries.ts";
export { UserRateLimits } from "./user-rate-limits.ts";
export { MAX_PUSH_BATCH, MAX_PUSH_BODY_BYTES, pushRoute, type PushRouteOptions, refuseUnlessServerKey } from "./push-route.ts";
export { disconnectRoute, MAX_CLOSE_REASON_BYTES, readDisconnectOptions } from "./disconnect-route.ts";
