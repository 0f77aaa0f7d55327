/**
 * Real signing keys and tokens for tests, with WebCrypto only (runs in
 * workerd, Node 22 and Deno): a key pair per algorithm with its public JWK
 * as a provider would publish it, and a signer that writes any header, so
 * that tests can also build the tokens an attacker would (alg "none", an
 * HMAC token keyed with the public key).
 */

export type AsymmetricAlgorithm = "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512" | "ES256" | "ES384" | "ES512" | "EdDSA";

/** The WebCrypto parameters of each algorithm: to generate a key, and to sign with it. */
type Parameters = { name: string; [field: string]: unknown };
const PARAMETERS: Record<AsymmetricAlgorithm, { generate: Parameters; sign: Parameters }> = {
  RS256: { generate: rsa("RSASSA-PKCS1-v1_5", "SHA-256"), sign: { name: "RSASSA-PKCS1-v1_5" } },
  RS384: { generate: rsa("RSASSA-PKCS1-v1_5", "SHA-384"), sign: { name: "RSASSA-PKCS1-v1_5" } },
  RS512: { generate: rsa("RSASSA-PKCS1-v1_5", "SHA-512"), sign: { name: "RSASSA-PKCS1-v1_5" } },
  PS256: { generate: rsa("RSA-PSS", "SHA-256"), sign: { name: "RSA-PSS", saltLength: 32 } },
  PS384: { generate: rsa("RSA-PSS", "SHA-384"), sign: { name: "RSA-PSS", saltLength: 48 } },
  PS512: { generate: rsa("RSA-PSS", "SHA-512"), sign: { name: "RSA-PSS", saltLength: 64 } },
  ES256: { generate: { name: "ECDSA", namedCurve: "P-256" }, sign: { name: "ECDSA", hash: "SHA-256" } },
  ES384: { generate: { name: "ECDSA", namedCurve: "P-384" }, sign: { name: "ECDSA", hash: "SHA-384" } },
  ES512: { generate: { name: "ECDSA", namedCurve: "P-521" }, sign: { name: "ECDSA", hash: "SHA-512" } },
  EdDSA: { generate: { name: "Ed25519" }, sign: { name: "Ed25519" } },
};

function rsa(name: string, hash: string): Parameters {
  return { name, hash, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) };
}

/** A provider's signing key: the private half signs, the public JWK goes into the JWKS. */
export interface SigningKey {
  readonly alg: AsymmetricAlgorithm;
  readonly kid: string;
  readonly privateKey: CryptoKey;
  /** As published: `kty`, the public parameters, `kid`, `alg`, `use: "sig"`. */
  readonly publicJwk: JsonWebKey & { kid: string };
}

/** A new key pair for `alg`, named `kid`. */
export async function generateSigningKey(alg: AsymmetricAlgorithm, kid: string): Promise<SigningKey> {
  const pair = (await crypto.subtle.generateKey(PARAMETERS[alg].generate as never, true, ["sign", "verify"])) as CryptoKeyPair;
  const exported = (await crypto.subtle.exportKey("jwk", pair.publicKey)) as JsonWebKey;
  const { key_ops: _ops, ext: _ext, ...publicPart } = exported;
  return { alg, kid, privateKey: pair.privateKey, publicJwk: { ...publicPart, kid, alg, use: "sig" } };
}

/** A JWKS document of `keys`. */
export function jwks(...keys: readonly SigningKey[]): { keys: JsonWebKey[] } {
  return { keys: keys.map((key) => key.publicJwk) };
}

export function base64url(bytes: Uint8Array | string): string {
  const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  let binary = "";
  for (const byte of data) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** A token signed by `key` with header `{alg, typ, kid}` (plus `header`), over any payload, even a non-object. */
export async function signWith(key: SigningKey, payload: unknown, header: Record<string, unknown> = {}): Promise<string> {
  const head = base64url(JSON.stringify({ alg: key.alg, typ: "JWT", kid: key.kid, ...header }));
  const body = base64url(JSON.stringify(payload));
  const signature = await crypto.subtle.sign(PARAMETERS[key.alg].sign as never, key.privateKey, new TextEncoder().encode(`${head}.${body}`));
  return `${head}.${body}.${base64url(new Uint8Array(signature))}`;
}

/** An HMAC token keyed with `secret` (any string: the classic confusion attack keys it with the public key). */
export async function signHmac(secret: string, payload: unknown, header: Record<string, unknown> = {}, alg: "HS256" | "HS384" | "HS512" = "HS256"): Promise<string> {
  const hash = { HS256: "SHA-256", HS384: "SHA-384", HS512: "SHA-512" }[alg];
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash }, false, ["sign"]);
  const head = base64url(JSON.stringify({ alg, typ: "JWT", ...header }));
  const body = base64url(JSON.stringify(payload));
  const signature = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${head}.${body}`));
  return `${head}.${body}.${base64url(new Uint8Array(signature))}`;
}

/** An unsigned token (`alg: "none"`, empty signature). */
export function unsigned(payload: unknown, header: Record<string, unknown> = { alg: "none", typ: "JWT" }): string {
  return `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}.`;
}
