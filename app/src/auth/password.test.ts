import { describe, expect, it } from "vitest";
import { hashPassword, verifyPassword } from "./password";

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
});
