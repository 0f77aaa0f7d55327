/**
 * userhub: per-user WebSocket hubs. This entry point is what a deployer
 * uses: the router and its error answer, the application's types, reading
 * the configuration and the auth options, tokens, and the codes a client
 * sees. What a host implementer needs (the hub logic, its host interface,
 * logs, tickets, the wire protocol's internals) is in `userhub/host`.
 *
 * @module
 */
export { CloseCode } from "./protocol/close-code.ts";
export { AuthError, type AuthOptions, type Identity, issueToken, type JwtAlgorithm, verifyToken } from "./edge/auth.ts";
export { readAuthOptions } from "./edge/auth-config.ts";
export { ErrorCode } from "./protocol/frames.ts";
export { ConfigError, DEFAULT_CONFIG, type HubConfig, readHubConfig } from "./hub/config.ts";
export { type Connection, FrameError, type FrameHandler, type HubApp, type HubContext, PUSH_ONLY_APP } from "./hub/hub-app.ts";
export { type DisconnectOptions, type DisconnectResult, FutureRevocationError } from "./hub/disconnect.ts";
export { type PushOptions, type PushResult } from "./hub/push.ts";
export { answerError, createUserhubRouter, type UserhubRouterOptions } from "./edge/router.ts";
export { answerDevToken } from "./edge/dev-token.ts";
export { withSchema } from "./hub/frame-schema.ts";
export type { StandardSchemaV1 } from "./hub/standard-schema.ts";
export { ConnectionStateTooLargeError } from "./hub/connection-state.ts";
export { InvalidUserIdError } from "./hub/user-delivery.ts";
