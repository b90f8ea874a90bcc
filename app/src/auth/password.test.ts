import { describe, expect, it } from "vitest";
import { dummyPasswordHash, hashPassword, verifyPassword } from "./password";

describe("scrypt passwords", () => {
  it("verifies the right password only, with a fresh salt per hash", async () => {
    const first = await hashPassword("correct horse");
    const second = await hashPassword("correct horse");
    expect(first).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(first).not.toBe(second);
    expect(await verifyPassword("correct horse", first)).toBe(true);
    expect(await verifyPassword("wrong horse", first)).toBe(false);
  });

  it("rejects hashes it does not understand", async () => {
    expect(await verifyPassword("x", "md5$abc")).toBe(false);
  });

  it("stores scrypt's N, r and p with a 16-byte salt and a 32-byte key, and reads them back", async () => {
    const stored = await hashPassword("correct horse");
    const [scheme, n, r, p, salt, hash, ...rest] = stored.split("$");
    expect([scheme, n, r, p, rest]).toEqual(["scrypt", "16384", "8", "1", []]);
    expect(Buffer.from(salt!, "base64url")).toHaveLength(16);
    expect(Buffer.from(hash!, "base64url")).toHaveLength(32);
    // A hash made with other parameters verifies with those parameters, not the defaults.
    const cheaper = ["scrypt", "1024", "8", "1", salt, hash].join("$");
    expect(await verifyPassword("correct horse", cheaper)).toBe(false);
  });

  it("rejects a hash with a missing salt or key, or a truncated key", async () => {
    const stored = await hashPassword("correct horse");
    const [scheme, n, r, p, salt, hash] = stored.split("$");
    expect(await verifyPassword("correct horse", [scheme, n, r, p, "", hash].join("$"))).toBe(false);
    expect(await verifyPassword("correct horse", [scheme, n, r, p, salt, ""].join("$"))).toBe(false);
    expect(await verifyPassword("correct horse", [scheme, n, r, p, salt].join("$"))).toBe(false);
    const short = Buffer.from(hash!, "base64url").subarray(0, 16).toString("base64url");
    expect(await verifyPassword("correct horse", [scheme, n, r, p, salt, short].join("$"))).toBe(false);
  });

  it("gives the same dummy hash every time, one no password is likely to match", async () => {
    const dummy = await dummyPasswordHash();
    expect(await dummyPasswordHash()).toBe(dummy);
    expect(dummy).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(await verifyPassword("", dummy)).toBe(false);
  });
});
