/**
 * What a new password must not be, beyond its length (NIST SP 800-63B §5.1.1.2): a commonly used
 * value, a single repeated character, a run of consecutive digits or letters, or the account's own
 * email address or its local part.
 */
import { commonPasswords } from "./common-passwords";

const alphabet = "0123456789 abcdefghijklmnopqrstuvwxyz";

/** Why `password` is refused for the account `email`, or undefined when it is acceptable. */
export function passwordProblem(password: string, email: string): string | undefined {
  const lower = password.toLowerCase();
  if (commonPasswords.has(lower)) return "is one of the most commonly used passwords; choose another";
  if (/^(.)\1*$/su.test(password)) return "repeats a single character; choose another";
  if (alphabet.includes(lower) || alphabet.includes([...lower].reverse().join("")))
    return "is a run of consecutive characters; choose another";
  const address = email.trim().toLowerCase();
  if (lower === address || lower === address.split("@")[0]) return "must not be your email address";
  return undefined;
}
