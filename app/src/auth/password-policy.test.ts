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
});
