/**
 * Every HTTP status the upgrade route answers with, documented once.
 * The README's table of statuses and close codes mirrors this file.
 */
export const HttpStatus = {
  /** The upgrade succeeded; the socket is open. */
  SwitchingProtocols: 101,
  /** A ticket was issued, or a push was delivered. */
  OK: 200,
  /** `POST /messages` handed some users to the queue: each of their logs takes the data once, soon after. */
  Accepted: 202,
  /** Malformed: a bad `Sec-WebSocket-Key`, subprotocols without `userhub.v1`, a bad `since`/`epoch`, a bad push body. */
  BadRequest: 400,
  /** No credentials, or credentials that failed verification (or a used/expired ticket). Carries `WWW-Authenticate`. */
  Unauthorized: 401,
  /** The request's `Origin` is not on the allow-list, or a user's token was used to push. */
  Forbidden: 403,
  /** Not found (e.g. `/dev/token` when not in local development, or push when no push key is set). */
  NotFound: 404,
  /** `/ws` only answers GET. Carries `Allow: GET`. */
  MethodNotAllowed: 405,
  /** A push body over 1 MiB; a `POST /messages` list longer than the server takes (10,000 users, or with no queue binding the direct limit) or `data` over 64 KiB. */
  PayloadTooLarge: 413,
  /** Not a WebSocket upgrade, or an unsupported `Sec-WebSocket-Version`. Carries `Upgrade: websocket`. */
  UpgradeRequired: 426,
  /** The user already has `MAX_CONNECTIONS_PER_USER` open sockets. */
  TooManyRequests: 429,
  /** The deployment is misconfigured (e.g. neither `JWT_SECRET` nor `JWKS_URL` is set). */
  InternalServerError: 500,
  /**
   * The identity provider's key set (`JWKS_URL`) was never reachable: the token may be fine, so this is not a 401. Try again.
   * Also `POST /messages` when some users' hubs (or the queue) could not be reached: retry with the same `Idempotency-Key`.
   */
  ServiceUnavailable: 503,
} as const;

/** One of the values of {@link HttpStatus}. */
export type HttpStatus = (typeof HttpStatus)[keyof typeof HttpStatus];
