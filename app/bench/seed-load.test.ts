import { describe, expect, it } from "vitest";
import { parseSeedArgs, SeedArgumentError } from "./seed-load";

describe("seed:load arguments", () => {
  it("defaults to 1M messages in 10k conversations over 6 months", () => {
    expect(parseSeedArgs([])).toEqual({ messages: 1_000_000, conversations: 10_000, months: 6 });
    expect(parseSeedArgs(["--messages", "5000", "--conversations", "50", "--months", "2"])).toEqual({
      messages: 5000,
      conversations: 50,
      months: 2,
    });
  });

  it.each([
    [["--messages", "x"], '--messages must be a whole number from 2 to 50000000, got "x"'],
    [["--conversations", "0"], '--conversations must be a whole number from 1 to 5000000, got "0"'],
    [["--months", "1.5"], '--months must be a whole number from 1 to 24, got "1.5"'],
    [["--messages", "10", "--conversations", "10"], "must be at least twice --conversations"],
    [["--bogus", "1"], "Unknown option '--bogus' (allowed: --messages N --conversations N --months N)"],
    [["extra"], "Unexpected argument 'extra'"],
  ])("refuses %j with one line naming the problem", (args, message) => {
    expect(() => parseSeedArgs(args)).toThrow(SeedArgumentError);
    expect(() => parseSeedArgs(args)).toThrow(message);
    try {
      parseSeedArgs(args);
    } catch (error) {
      expect((error as Error).message).not.toContain("\n");
    }
  });
});
