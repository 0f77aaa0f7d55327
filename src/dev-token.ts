import type { Context } from "hono";
import { isValidUserId, issueToken } from "./auth.ts";
import { HttpStatus } from "./http-status.ts";

/**
 * `POST /dev/token` with `{"userId":"alice"}` answers `{"token":"<jwt>"}`, so
 * the demo works with no identity provider. It exists only where `DEV_TOKENS`
 * is `"on"`, which `.dev.vars` sets for `wrangler dev` (and `deno task dev`)
 * and nothing sets when deployed: there it is a 404. It refuses, with 400,
 * every user id that authentication would refuse.
 *
 * @example
 * ```ts
 * app.post("/dev/token", answerDevToken); // c.env needs DEV_TOKENS and JWT_SECRET
 * ```
 */
export async function answerDevToken(c: Context<{ Bindings: { DEV_TOKENS?: string; JWT_SECRET?: string } }>): Promise<Response> {
  if (c.env.DEV_TOKENS !== "on" || !c.env.JWT_SECRET) return c.text("404 Not Found\n", HttpStatus.NotFound);
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    return c.json({ error: 'body must be JSON like {"userId":"alice"}' }, HttpStatus.BadRequest);
  }
  const userId = (body as { userId?: unknown } | null)?.userId;
  if (!isValidUserId(userId)) {
    return c.json({ error: "userId must be 1-128 characters from A-Z a-z 0-9 . _ @ : + -" }, HttpStatus.BadRequest);
  }
  return c.json({ token: await issueToken(userId, { secret: c.env.JWT_SECRET, ttlSeconds: 3600 }) });
}
