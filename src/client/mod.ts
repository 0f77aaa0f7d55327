/**
 * userhub/client: the browser client of userhub, web standards only (it runs
 * unchanged in browsers, Deno and Node 22). `UserhubClient` keeps one
 * logical connection to the signed-in user's hub: reconnects with backoff,
 * heartbeats, refreshes its token in band, resumes without duplicates and
 * queues what is sent while offline.
 *
 * @example
 * ```ts
 * import { UserhubClient } from "userhub/client";
 *
 * const client = new UserhubClient({ url: "wss://example.com/ws", token: () => auth.getAccessToken() });
 * client.addEventListener("message", ({ detail }) => console.log(detail.seq, detail.data));
 * client.send({ text: "hello" });
 * ```
 *
 * @module
 */
export { UserhubClient, type UserhubClientOptions, DEFAULT_CONNECT_TIMEOUT_MS } from "./userhub-client.ts";
export type {
  AppFrame,
  ClientListenerOptions,
  ConnectionClosed,
  ConnectionState,
  ReceivedMessage,
  ReceivedSignal,
  SendData,
  StateChange,
  TypedFrame,
  UserhubClientEventMap,
} from "./client-events.ts";
export { subprotocolsFor, type TicketFetch, ticketFrom, type TicketProvider, type TokenProvider } from "./credentials.ts";
export {
  AuthRefusedError,
  ClientClosedError,
  CredentialsError,
  MessageTooLargeError,
  PolicyViolationError,
  RevokedError,
  QueueFullError,
  type QueueLimit,
  ServerError,
  SocketSetupError,
  TicketRequestError,
  UserhubClientError,
} from "./errors.ts";
export { Backoff, type BackoffOptions, DEFAULT_BACKOFF, delayCeiling, fullJitterDelay } from "./backoff.ts";
export { DEFAULT_SEND_QUEUE, SendQueue, type SendQueueOptions } from "./send-queue.ts";
export { connectUrl, type ResumePoint, socketUrl } from "./connect-url.ts";
export { globalNetworkEvents, type NetworkEvents, NetworkStatus } from "./network-status.ts";
export { type ClientWebSocket, type ClientWebSocketConstructor, SOCKET_OPEN, type SocketCloseEvent, type SocketMessageEvent } from "./client-web-socket.ts";
export { CloseCode } from "../protocol/close-code.ts";
export {
  BEARER_PROTOCOL_PREFIX,
  ErrorCode,
  HEARTBEAT_PING,
  HEARTBEAT_PONG,
  type HeartbeatSettings,
  type MessageFrame,
  PROTOCOL,
  type ResetFrame,
  TICKET_PROTOCOL_PREFIX,
  type WelcomeFrame,
} from "../protocol/frames.ts";
