import { describe, expect, it } from "vitest";
import { passwordProblem } from "./password-policy";

const email = "ada.lovelace@example.com";

describe("password policy", () => {
  it("refuses the most common passwords whatever their case", () => {
    for (const password of ["password", "PASSWORD", "Password1", "12345678", "qwertyuiop", "iloveyou"])
      expect(passwordProblem(password, email)).toMatch(/commonly used/);
  });

  it("refuses repeated characters, consecutive runs and the account's own address", () => {
    expect(passwordProblem("zzzzzzzzzz", email)).toMatch(/single character/);
    expect(passwordProblem("23456789", email)).toMatch(/consecutive/);
    expect(passwordProblem("hgfedcba", email)).toMatch(/consecutive/);
    expect(passwordProblem("Ada.Lovelace", email)).toMatch(/email/);
    expect(passwordProblem(email, email)).toMatch(/email/);
  });

  it("accepts an ordinary passphrase", () => {
    expect(passwordProblem("correct horse battery", email)).toBeUndefined();
    expect(passwordProblem("n0t-in-any-list", email)).toBeUndefined();
  });

  it("each rule on its own, with the exact message, and near misses accepted", () => {
    expect(passwordProblem("aaaaaaaaaa", email)).toBe("repeats a single character; choose another");
    // A run whose characters are astral-plane code points is still one repeated character.
    expect(passwordProblem("😀😀😀😀😀😀😀😀", email)).toBe("repeats a single character; choose another");
    expect(passwordProblem("aaaaaaaaab", email)).toBeUndefined();
    expect(passwordProblem("mnopqrstu", email)).toBe("is a run of consecutive characters; choose another");
    expect(passwordProblem("MNOPQRSTU", email)).toBe("is a run of consecutive characters; choose another");
    expect(passwordProblem("utsrqponm", email)).toBe("is a run of consecutive characters; choose another");
    expect(passwordProblem("mnopqrstv", email)).toBeUndefined();
    expect(passwordProblem("ada.lovelace", email)).toBe("must not be your email address");
    expect(passwordProblem("ADA.LOVELACE@EXAMPLE.COM", ` ${email.toUpperCase()} `)).toBe(
      "must not be your email address",
    );
    expect(passwordProblem("ada.lovelace@", email)).toBeUndefined();
    expect(passwordProblem("example.com!", email)).toBeUndefined();
    expect(passwordProblem("password", email)).toBe(
      "is one of the most commonly used passwords; choose another",
    );
  });
});
