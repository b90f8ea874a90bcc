import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { signToken, verifyToken } from "./jwt";

const secret = "s".repeat(32);
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");

describe("HS256 tokens", () => {
  it("round-trips claims", () => {
    const token = signToken({ sub: "user-1", org: "org-1" }, secret, 60, 1000);
    expect(verifyToken(token, secret, 1010)).toEqual({ sub: "user-1", org: "org-1", iat: 1000, exp: 1060 });
  });

  it("rejects expired tokens", () => {
    const token = signToken({ sub: "u", org: "o" }, secret, 60, 1000);
    expect(() => verifyToken(token, secret, 1060)).toThrow("token expired");
  });

  it("rejects a tampered payload or another secret", () => {
    const token = signToken({ sub: "u", org: "o" }, secret, 60);
    const [header, , signature] = token.split(".");
    const forged = `${header}.${b64({ sub: "admin", org: "other", iat: 0, exp: 9_999_999_999 })}.${signature}`;
    expect(() => verifyToken(forged, secret)).toThrow("bad token signature");
    expect(() => verifyToken(token, "t".repeat(32))).toThrow("bad token signature");
  });

  it("rejects alg none and other algorithms", () => {
    const payload = b64({ sub: "u", org: "o", iat: 0, exp: 9_999_999_999 });
    expect(() => verifyToken(`${b64({ alg: "none", typ: "JWT" })}.${payload}.`, secret)).toThrow(
      "unsupported token algorithm",
    );
    const input = `${b64({ alg: "HS512", typ: "JWT" })}.${payload}`;
    const signature = createHmac("sha512", secret).update(input).digest("base64url");
    expect(() => verifyToken(`${input}.${signature}`, secret)).toThrow("unsupported token algorithm");
  });

  it("rejects malformed tokens and missing claims", () => {
    expect(() => verifyToken("abc", secret)).toThrow("malformed token");
    expect(() => verifyToken("a.b.c", secret)).toThrow("malformed token header");
    const input = `${b64({ alg: "HS256" })}.${b64({ sub: "u" })}`;
    const signature = createHmac("sha256", secret).update(input).digest("base64url");
    expect(() => verifyToken(`${input}.${signature}`, secret)).toThrow("token is missing claims");
  });
});
