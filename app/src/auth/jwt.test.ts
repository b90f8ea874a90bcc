import { createHmac } from "node:crypto";
import { decodeProtectedHeader } from "jose";
import { describe, expect, it } from "vitest";
import { signToken, TokenError, tokenVerifier, verifyToken } from "./jwt";

const secret = "s".repeat(32);
const user = "0b6c2d8e-5d6a-4f3e-9c1b-2a7e8f9d0c11";
const org = "5f0c3a52-8d0e-4a53-9d5a-0d6f7b3f0e11";
const ttl = { ttlSeconds: 60 };
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
/** A token signed with `secret` whatever its claims, as a holder of the key could make. */
const signed = (claims: object, header: object = { alg: "HS256", typ: "JWT" }) => {
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
};

describe("HS256 tokens", () => {
  it("round-trips claims", async () => {
    const token = await signToken({ sub: user, org }, secret, 60, 1000);
    expect(await verifyToken(token, secret, { ...ttl, nowSeconds: 1010 })).toEqual({
      sub: user,
      org,
      iat: 1000,
      exp: 1060,
    });
  });

  it("stamps tokens with the current time by default and refuses them as TokenErrors", async () => {
    const before = Math.floor(Date.now() / 1000);
    const claims = await verifyToken(await signToken({ sub: user, org }, secret, 60), secret, ttl);
    expect(claims.iat).toBeGreaterThanOrEqual(before);
    expect(claims.iat).toBeLessThanOrEqual(before + 5);
    expect(claims.exp).toBe(claims.iat + 60);
    const refused = await verifyToken("abc", secret, ttl).catch((error: Error) => error);
    expect(refused).toBeInstanceOf(TokenError);
    expect((refused as Error).name).toBe("TokenError");
  });

  it("accepts a token up to its lifetime plus 5 s of clock skew old, not older", async () => {
    const now = 10_000;
    const issuedAt = (age: number) =>
      signed({ sub: user, org, iat: now - age, exp: now + 60 }, { alg: "HS256", typ: "JWT" });
    await expect(
      verifyToken(issuedAt(64), secret, { ttlSeconds: 60, nowSeconds: now }),
    ).resolves.toMatchObject({
      sub: user,
    });
    await expect(verifyToken(issuedAt(80), secret, { ttlSeconds: 60, nowSeconds: now })).rejects.toThrow(
      TokenError,
    );
  });

  it("rejects expired tokens", async () => {
    const token = await signToken({ sub: user, org }, secret, 60, 1000);
    await expect(verifyToken(token, secret, { ...ttl, nowSeconds: 1070 })).rejects.toThrow("token expired");
  });

  it("rejects a tampered payload or another secret", async () => {
    const token = await signToken({ sub: user, org }, secret, 60);
    const [header, , signature] = token.split(".");
    const forged = `${header}.${b64({ sub: user, org: user, iat: 0, exp: 9_999_999_999 })}.${signature}`;
    await expect(verifyToken(forged, secret, ttl)).rejects.toThrow("bad token signature");
    await expect(verifyToken(token, "t".repeat(32), ttl)).rejects.toThrow("bad token signature");
  });

  it("rejects alg none and other algorithms", async () => {
    const now = Math.floor(Date.now() / 1000);
    const payload = b64({ sub: user, org, iat: now, exp: now + 60 });
    await expect(verifyToken(`${b64({ alg: "none", typ: "JWT" })}.${payload}.`, secret, ttl)).rejects.toThrow(
      "unsupported token algorithm",
    );
    const input = `${b64({ alg: "HS512", typ: "JWT" })}.${payload}`;
    const signature = createHmac("sha512", secret).update(input).digest("base64url");
    await expect(verifyToken(`${input}.${signature}`, secret, ttl)).rejects.toThrow(
      "unsupported token algorithm",
    );
  });

  it("signs access tokens with typ JWT and rejects a token of another or no type", async () => {
    const token = await signToken({ sub: user, org }, secret, 60);
    expect(decodeProtectedHeader(token)).toEqual({ alg: "HS256", typ: "JWT" });
    const now = Math.floor(Date.now() / 1000);
    const claims = { sub: user, org, iat: now, exp: now + 60 };
    // The check compares media types: "application/jwt" is the same type.
    await expect(
      verifyToken(signed(claims, { alg: "HS256", typ: "application/jwt" }), secret, ttl),
    ).resolves.toMatchObject({ sub: user });
    for (const header of [
      { alg: "HS256", typ: "at+jwt" },
      { alg: "HS256", typ: "refresh" },
      { alg: "HS256" },
    ]) {
      await expect(verifyToken(signed(claims, header), secret, ttl)).rejects.toThrow(
        "token is not an access token",
      );
    }
  });

  it("rejects malformed tokens and missing claims", async () => {
    await expect(verifyToken("abc", secret, ttl)).rejects.toThrow("malformed token");
    await expect(verifyToken("a.b.c", secret, ttl)).rejects.toThrow("malformed token");
    await expect(verifyToken(signed({ sub: user }), secret, ttl)).rejects.toThrow("token is missing claims");
  });

  it("rejects a token not valid yet (nbf) or issued in the future (iat)", async () => {
    const now = Math.floor(Date.now() / 1000);
    await expect(
      verifyToken(signed({ sub: user, org, iat: now, nbf: now + 600, exp: now + 660 }), secret, ttl),
    ).rejects.toThrow("token not valid yet");
    await expect(
      verifyToken(signed({ sub: user, org, iat: now + 600, exp: now + 660 }), secret, ttl),
    ).rejects.toThrow("token issued in the future");
    // An iat older than the lifetime means an exp set further out than this service ever signs.
    await expect(
      verifyToken(signed({ sub: user, org, iat: now - 7200, exp: now + 600 }), secret, ttl),
    ).rejects.toThrow("token expired");
  });

  it("rejects signed tokens whose user or organization is not a UUID", async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const claims of [
      { sub: user, org: "not-a-uuid" },
      { sub: "admin", org },
      { sub: user, org: 42 },
    ])
      await expect(verifyToken(signed({ ...claims, iat: now, exp: now + 60 }), secret, ttl)).rejects.toThrow(
        /token names no valid user and organization|token is missing claims/,
      );
  });

  it("tokenVerifier remembers accepted tokens yet accepts and refuses at exactly the same moments as verifyToken", async () => {
    const outcome = (promise: Promise<unknown>) =>
      promise.then(
        (claims) => ({ claims }),
        (error: Error) => ({ error: error.message }),
      );
    const tokens = [
      await signToken({ sub: user, org }, secret, 60, 1000),
      // Signed by a key holder with an exp further out than the lifetime: refused once too old.
      signed({ sub: user, org, iat: 1000, exp: 5000 }),
    ];
    for (const token of tokens) {
      const verify = tokenVerifier(secret, ttl.ttlSeconds);
      for (let now = 990; now <= 1080; now++)
        expect(await outcome(verify(token, now)), `t=${now}`).toEqual(
          await outcome(verifyToken(token, secret, { ...ttl, nowSeconds: now })),
        );
    }
  });

  it("tokenVerifier never remembers a refused token", async () => {
    const verify = tokenVerifier(secret, 60);
    const token = await signToken({ sub: user, org }, secret, 60);
    const [header, , signature] = token.split(".");
    const forged = `${header}.${b64({ sub: user, org: user, iat: 0, exp: 9_999_999_999 })}.${signature}`;
    await expect(verify(forged)).rejects.toThrow("bad token signature");
    await expect(verify(forged)).rejects.toThrow("bad token signature");
    const other = tokenVerifier("t".repeat(32), 60);
    await expect(other(token)).rejects.toThrow("bad token signature");
    await expect(other(token)).rejects.toThrow("bad token signature");
    expect((await verify(token)).sub).toBe(user);
  });
});
