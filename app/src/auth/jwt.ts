/**
 * HS256 access tokens on `jose`: only HS256 is accepted (so `alg: none` and algorithm confusion are
 * rejected), the header must say `typ: JWT` (another kind of token signed with the same key is not
 * an access token), `exp` and `nbf` are enforced, an `iat` in the future or older than the token lifetime is
 * rejected, and `sub`/`org` must be UUIDs — a signed token naming anything else is a 401, never a
 * query with a malformed id.
 */
import { errors, jwtVerify, SignJWT } from "jose";
import { BoundedMap } from "../cache/bounded-map";
import { isUuid } from "../domain/cursor";

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

const algorithm = "HS256";
const tokenType = "JWT";
/** Clock skew allowed between pods for `exp`, `nbf` and `iat`. */
const clockToleranceSeconds = 5;
const key = (secret: string) => new TextEncoder().encode(secret);

export function signToken(
  claims: { sub: string; org: string },
  secret: string,
  ttlSeconds: number,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<string> {
  return new SignJWT({ org: claims.org })
    .setProtectedHeader({ alg: algorithm, typ: tokenType })
    .setSubject(claims.sub)
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + ttlSeconds)
    .sign(key(secret));
}

/** Why a token was refused, in words a client can act on (never the library's internals). */
function reason(error: unknown): string {
  if (error instanceof errors.JWTExpired) return "token expired";
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === "missing") return "token is missing claims";
    if (error.claim === "nbf") return "token not valid yet";
    if (error.claim === "iat") return "token issued in the future";
    if (error.claim === "typ") return "token is not an access token";
    return "token is missing claims";
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported)
    return "unsupported token algorithm";
  if (error instanceof errors.JWSSignatureVerificationFailed) return "bad token signature";
  return "malformed token";
}

export async function verifyToken(
  token: string,
  secret: string,
  { ttlSeconds, nowSeconds }: { ttlSeconds: number; nowSeconds?: number },
): Promise<TokenClaims> {
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, key(secret), {
      algorithms: [algorithm],
      typ: tokenType,
      requiredClaims: ["sub", "org", "iat", "exp"],
      maxTokenAge: ttlSeconds + clockToleranceSeconds,
      clockTolerance: clockToleranceSeconds,
      currentDate: nowSeconds === undefined ? undefined : new Date(nowSeconds * 1000),
    }));
  } catch (error) {
    throw new TokenError(reason(error));
  }
  const { sub, org, iat, exp } = payload;
  if (typeof sub !== "string" || typeof org !== "string" || !isUuid(sub) || !isUuid(org))
    throw new TokenError("token names no valid user and organization");
  return { sub: sub.toLowerCase(), org: org.toLowerCase(), iat: iat as number, exp: exp as number };
}

/**
 * verifyToken for one secret and lifetime, remembering the claims of the last `size` tokens it
 * accepted: the HMAC check through WebCrypto is an async job on every authenticated request, the
 * largest single cost of a cached read in the bench's profile (docs/performance.md). A remembered
 * token is checked again for `exp` and age at each use, so it is refused exactly when verifyToken
 * would refuse it; a token that failed is never remembered.
 */
export function tokenVerifier(secret: string, ttlSeconds: number, size = 10_000) {
  const accepted = new BoundedMap<string, TokenClaims>(size);
  return async (token: string, nowSeconds = Math.floor(Date.now() / 1000)): Promise<TokenClaims> => {
    const known = accepted.get(token);
    if (
      known &&
      known.exp + clockToleranceSeconds > nowSeconds &&
      nowSeconds - known.iat - clockToleranceSeconds <= ttlSeconds + clockToleranceSeconds
    )
      return known;
    accepted.delete(token);
    const claims = await verifyToken(token, secret, { ttlSeconds, nowSeconds });
    accepted.set(token, claims);
    return claims;
  };
}
