import { type AuthOptions, JWT_ALGORITHMS, type JwtAlgorithm } from "./auth.ts";
import { ConfigError, readList } from "../hub/config.ts";

/** The lowest `JWKS_UNKNOWN_KID_REFETCH_MS`: below it, made-up kids could make every upgrade a fetch. */
export const MIN_UNKNOWN_KID_REFETCH_MS = 1000;

/** A claim name: what `JWT_USER_CLAIM` may be. */
const CLAIM_NAME = /^[A-Za-z0-9_.:/-]{1,128}$/;

/**
 * Reads how tokens are verified from string variables (Worker `vars` and
 * secrets, Deno's environment): `JWT_SECRET`, `JWKS_URL`, `JWT_ALGORITHMS`,
 * `JWT_ISSUER`, `JWT_AUDIENCE` (comma lists), `JWT_USER_CLAIM` and
 * `JWKS_UNKNOWN_KID_REFETCH_MS`. Having
 * neither a secret nor a key set is not an error here: each upgrade then
 * answers 500 naming both, as the README says.
 *
 * @throws {ConfigError} for `none` or an unknown name in `JWT_ALGORITHMS`, a
 * `JWKS_URL` that is not an http(s) URL, or a `JWT_USER_CLAIM` that is not a claim name.
 *
 * @example
 * ```ts
 * const auth = readAuthOptions({ JWKS_URL: "https://example.eu.auth0.com/.well-known/jwks.json", JWT_ISSUER: "https://example.eu.auth0.com/" });
 * await verifyToken(token, auth);
 * ```
 */
export function readAuthOptions(vars: Readonly<Record<string, unknown>>): AuthOptions {
  const secret = typeof vars.JWT_SECRET === "string" && vars.JWT_SECRET !== "" ? vars.JWT_SECRET : undefined;
  const jwksUrl = readJwksUrl(vars.JWKS_URL);
  const names = readList(vars, "JWT_ALGORITHMS");
  for (const name of names) {
    if (name.toLowerCase() === "none") throw new ConfigError("JWT_ALGORITHMS", '"none" is never accepted: an unsigned token proves nothing');
    if (!JWT_ALGORITHMS.includes(name as JwtAlgorithm)) {
      throw new ConfigError("JWT_ALGORITHMS", `${JSON.stringify(name)} is not one of ${JWT_ALGORITHMS.join(", ")}`);
    }
  }
  const userClaim = typeof vars.JWT_USER_CLAIM === "string" ? vars.JWT_USER_CLAIM.trim() : "";
  if (userClaim !== "" && !CLAIM_NAME.test(userClaim)) throw new ConfigError("JWT_USER_CLAIM", `${JSON.stringify(userClaim)} is not a claim name`);
  const refetch = vars.JWKS_UNKNOWN_KID_REFETCH_MS;
  let jwksUnknownKidRefetchMs: number | undefined;
  if (refetch !== undefined && refetch !== null && refetch !== "") {
    jwksUnknownKidRefetchMs = /^\d+$/.test(String(refetch).trim()) ? Number(String(refetch).trim()) : Number.NaN;
    if (!Number.isSafeInteger(jwksUnknownKidRefetchMs) || jwksUnknownKidRefetchMs < MIN_UNKNOWN_KID_REFETCH_MS) {
      throw new ConfigError("JWKS_UNKNOWN_KID_REFETCH_MS", `must be a whole number of milliseconds, at least ${MIN_UNKNOWN_KID_REFETCH_MS}, got ${JSON.stringify(refetch)}`);
    }
  }
  const issuer = readList(vars, "JWT_ISSUER");
  const audience = readList(vars, "JWT_AUDIENCE");
  return {
    ...(secret === undefined ? {} : { secret }),
    ...(jwksUrl === undefined ? {} : { jwksUrl }),
    ...(names.length === 0 ? {} : { algorithms: names as JwtAlgorithm[] }),
    ...(issuer.length === 0 ? {} : { issuer }),
    ...(audience.length === 0 ? {} : { audience }),
    ...(userClaim === "" ? {} : { userClaim }),
    ...(jwksUnknownKidRefetchMs === undefined ? {} : { jwksUnknownKidRefetchMs }),
  };
}

function readJwksUrl(value: unknown): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string") throw new ConfigError("JWKS_URL", "must be a URL string");
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new ConfigError("JWKS_URL", "is not a URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new ConfigError("JWKS_URL", "must be an https:// (or, locally, http://) URL");
  return url.href;
}
