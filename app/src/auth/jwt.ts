/**
 * HS256 JSON Web Tokens with Node's crypto: the header must say exactly `HS256` (so `alg: none` and
 * algorithm confusion are rejected), the signature is compared in constant time, `exp` is enforced.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export interface TokenClaims {
  /** User id. */
  sub: string;
  /** Organization id. */
  org: string;
  iat: number;
  exp: number;
}

export class TokenError extends Error {
  override name = "TokenError";
}

const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
const sign = (input: string, secret: string) => createHmac("sha256", secret).update(input).digest();

export function signToken(
  claims: { sub: string; org: string },
  secret: string,
  ttlSeconds: number,
  nowSeconds = Math.floor(Date.now() / 1000),
): string {
  const input = `${encode({ alg: "HS256", typ: "JWT" })}.${encode({ ...claims, iat: nowSeconds, exp: nowSeconds + ttlSeconds })}`;
  return `${input}.${sign(input, secret).toString("base64url")}`;
}

function decodePart(part: string, what: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    if (value && typeof value === "object" && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through to the error below
  }
  throw new TokenError(`malformed token ${what}`);
}

export function verifyToken(
  token: string,
  secret: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): TokenClaims {
  const parts = token.split(".");
  if (parts.length !== 3) throw new TokenError("malformed token");
  const [header, payload, signature] = parts as [string, string, string];
  const { alg, typ } = decodePart(header, "header");
  if (alg !== "HS256" || (typ !== undefined && typ !== "JWT"))
    throw new TokenError("unsupported token algorithm");
  const expected = sign(`${header}.${payload}`, secret);
  const given = Buffer.from(signature, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    throw new TokenError("bad token signature");
  const claims = decodePart(payload, "payload");
  const { sub, org, iat, exp } = claims;
  if (
    typeof sub !== "string" ||
    typeof org !== "string" ||
    typeof iat !== "number" ||
    typeof exp !== "number"
  )
    throw new TokenError("token is missing claims");
  if (exp <= nowSeconds) throw new TokenError("token expired");
  return { sub, org, iat, exp };
}
