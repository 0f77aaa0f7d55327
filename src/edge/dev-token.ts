import type { Context } from "hono";
import { isValidUserId, issueToken } from "./auth.ts";
import { readList } from "../hub/config.ts";
import { HttpStatus } from "../protocol/http-status.ts";

/**
 * `POST /dev/token` with `{"userId":"alice"}` answers `{"token":"<jwt>"}`, so
 * the demo works with no identity provider. It exists only where `DEV_TOKENS`
 * is `"on"`, which `.dev.vars` sets for `wrangler dev` (and `deno task dev`)
 * and nothing sets when deployed: there it is a 404. It refuses, with 400,
 * every user id that authentication would refuse. Its HS256 tokens carry the
 * first of `JWT_ISSUER` as `iss`, `JWT_AUDIENCE` as `aud`, and the user id in
 * `JWT_USER_CLAIM` (and `sub`).
 *
 * @example
 * ```ts
 * app.post("/dev/token", answerDevToken); // c.env needs DEV_TOKENS and JWT_SECRET
 * ```
 */
export async function answerDevToken(
  c: Context<{ Bindings: { DEV_TOKENS?: string; JWT_SECRET?: string; JWT_ISSUER?: string; JWT_AUDIENCE?: string; JWT_USER_CLAIM?: string } }>,
): Promise<Response> {
  if (c.env.DEV_TOKENS !== "on" || !c.env.JWT_SECRET) return c.text("404 Not Found\n", HttpStatus.NotFound);
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    return c.json({ error: 'body must be JSON like {"userId":"alice"}' }, HttpStatus.BadRequest);
  }
  const userId = (body as { userId?: unknown } | null)?.userId;
  if (!isValidUserId(userId)) {
    return c.json({ error: "userId must be 1-128 characters from A-Z a-z 0-9 . _ @ : + - |" }, HttpStatus.BadRequest);
  }
  // The configured issuer and audience go into the token, so the demo keeps working with them set.
  const vars = c.env as Readonly<Record<string, unknown>>;
  const token = await issueToken(userId, {
    secret: c.env.JWT_SECRET,
    ttlSeconds: 3600,
    issuer: readList(vars, "JWT_ISSUER"),
    audience: readList(vars, "JWT_AUDIENCE"),
    ...(c.env.JWT_USER_CLAIM ? { userClaim: c.env.JWT_USER_CLAIM.trim() } : {}),
  });
  return c.json({ token });
}
