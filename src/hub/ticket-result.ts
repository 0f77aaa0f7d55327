/**
 * A ticket for one upgrade; or why the hub will not issue one (the caller's
 * token was revoked: `refused`), or how long until this user may get another
 * (past `ticketsPerMinute`: `retryAfterMs`).
 */
export type TicketResult =
  | { readonly ticket: string; readonly expiresAt: number }
  | { readonly refused: string }
  | { readonly retryAfterMs: number };
