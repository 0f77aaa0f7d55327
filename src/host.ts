/**
 * userhub for whoever writes a host (as `durable-objects/` and `src/deno/`
 * do): the hub logic and the interface it runs on, delivery logs, tickets
 * and revocation, the sender, heartbeat and sweep, rate limits, the wire
 * protocol's frames, upgrade validation, the key set, and the router's
 * building blocks. A deployer needs only `userhub`.
 *
 * @module
 */
export { BYTE_RATE_LIMIT_REASON, CloseReason, FRAME_RATE_LIMIT_REASON, MAX_CLOSE_REASON_BYTES, MESSAGE_BACKLOG_REASON, replyCloseCode, UNACKED_BYTES_REASON } from "./protocol/close-code.ts";
export { curlUpgradeLine, UpgradeError, type UpgradeRequest, validateUpgrade, type ValidateUpgradeOptions } from "./edge/validate-upgrade.ts";
export { tokenList } from "./edge/token-list.ts";
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
} from "./edge/auth.ts";
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
} from "./edge/jwks-key-set.ts";
export { isRevoked, MemoryRevocationWatermarks, type RevocationWatermark } from "./hub/revocation.ts";
export {
  type AckFrame,
  answerTo,
  type AuthFrame,
  BEARER_PROTOCOL_PREFIX,
  type ClientFrame,
  type ClosingFrame,
  type ErrorFrame,
  errorFrame,
  frameBytes,
  HEARTBEAT_PING,
  HEARTBEAT_PONG,
  type HeartbeatSettings,
  isLargerThan,
  MAX_FRAME_ID_CHARS,
  MAX_TIMER_DELAY_MS,
  type MessageFrame,
  parseClientFrame,
  type ParsedFrame,
  PROTOCOL,
  type ResetFrame,
  type ServerFrame,
  type SignalFrame,
  TICKET_PROTOCOL_PREFIX,
  type WelcomeFrame,
} from "./protocol/frames.ts";
export { type GoneReason, Sender, type SenderOptions, type SendOutcome, type WritableSocket } from "./hub/sender.ts";
export { DEFAULT_HEARTBEAT, heartbeatDeadline, lastSignOfLife, type Liveness, staleAt, staleReason } from "./hub/heartbeat.ts";
export { DEFAULT_HEARTBEAT_SWEEP_MS, ZombieSweep } from "./hub/zombie-sweep.ts";
export { readList, retentionOf } from "./hub/config.ts";
export { HttpStatus } from "./protocol/http-status.ts";
export type { EdgeRateLimiter } from "./edge/router.ts";
export {
  type AppendResult,
  type Delivery,
  type DeliveryLog,
  deliveryOrigin,
  jsonBytes,
  MemoryDeliveryLog,
  type NewDelivery,
  newDelivery,
  payloadBytes,
  type ReplayResult,
} from "./hub/delivery-log.ts";
export { DEFAULT_RETENTION, isKeyRemembered, isRetained, type RetentionFloor, retentionFloor, type RetentionPolicy } from "./hub/retention.ts";
export { DEFAULT_TICKET_TTL_MS, MemoryTicketStore, newTicket, type TicketStore, ticketUserId } from "./hub/ticket.ts";
export { type ConnectionAttachment, type HubHost } from "./hub/hub-host.ts";
export type { Acceptance, AcceptOptions, Admission } from "./hub/admission.ts";
export { Hub, type HubOptions } from "./hub/hub.ts";
export { type HubHandoff, type ResumeRequest } from "./hub/hub-handoff.ts";
export { type HubNamespace } from "./hub/hub-namespace.ts";
export { type TicketResult } from "./hub/ticket-result.ts";
export {
  checkUserDelivery,
  checkUserId,
  type DirectDelivery,
  DirectDeliveryRateLimitedError,
  type DirectRefusal,
  type LoggedDelivery,
  MAX_USER_DELIVERY_KEY_CHARS,
  type PeerHubs,
  PeerHubsMissingError,
  type UserDeliveryOptions,
  type UserDeliveryResult,
} from "./hub/user-delivery.ts";
export {
  checkIdempotencyKey,
  directKey,
  InvalidIdempotencyKeyError,
  isIdempotencyKeyString,
  type KeySource,
  logKey,
  MAX_IDEMPOTENCY_KEY_CHARS,
} from "./hub/idempotency-key.ts";
export { checkPush, InvalidPushError, MAX_PUSH_BATCH } from "./hub/push.ts";
export { checkDisconnect, InvalidDisconnectOptionsError } from "./hub/disconnect.ts";
export {
  isUnserializablePayload,
  messageFrameText,
  type SerializedDelivery,
  serializeDelivery,
  signalFrameText,
  UNSERIALIZABLE_PAYLOAD_PREFIX,
  UnserializablePayloadError,
} from "./protocol/delivery-frame.ts";
export {
  NOTICE_INTERVAL_MS,
  type RateLimitName,
  type RateLimitScope,
  type RateVerdict,
  SocketRateLimit,
  type SocketRateSettings,
  STREAK_GAP_MS,
  USER_RATE_FACTOR,
  UserFrameBudget,
} from "./hub/socket-rate-limit.ts";
export { PerMinuteLimit, TokenBucket } from "./hub/token-bucket.ts";
export { DirectSenderLimits, MAX_DIRECT_SENDERS } from "./hub/direct-sender-limits.ts";
export { UnackedDeliveries } from "./hub/unacked-deliveries.ts";
export { UserRateLimits } from "./hub/user-rate-limits.ts";
export { isIdempotencyKey, MAX_PUSH_BODY_BYTES, pushRoute, type PushRouteOptions, refuseUnlessServerKey } from "./edge/push-route.ts";
export { disconnectRoute, readDisconnectOptions } from "./edge/disconnect-route.ts";
export { FrameSchemaError, type SchemaFrameHandler } from "./hub/frame-schema.ts";
export { ConnectionStateUnserializableError, type ConnectionStateUpdate, MAX_CONNECTION_STATE_BYTES } from "./hub/connection-state.ts";
export {
  DEFAULT_DIRECT_RECIPIENTS,
  FAN_OUT_CONCURRENCY,
  type FanOutMessage,
  type FanOutOutcome,
  fanOutPushOptions,
  type FanOutQueue,
  MAX_FAN_OUT_BODY_BYTES,
  MAX_FAN_OUT_DATA_BYTES,
  MAX_FAN_OUT_DATA_DEPTH,
  MAX_FAN_OUT_RECIPIENTS,
  nestsDeeperThan,
  pushToEach,
  readFanOutMessage,
  USERS_PER_QUEUED_MESSAGE,
} from "./edge/fan-out.ts";
export { consumeFanOut, type FanOutBatch, type FanOutBatchOutcome, type FanOutQueueMessage } from "./edge/fan-out-consumer.ts";
export { type FanOutAnswer, fanOutRoute, type FanOutRouteOptions, readFanOutBody } from "./edge/fan-out-route.ts";
