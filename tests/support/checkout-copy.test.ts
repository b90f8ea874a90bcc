import { statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { lockTimeBefore } from "./checkout-copy";
import { temporaryDirectory } from "./temporary-directory";

describe("the checkout copy's package-lock.json time", () => {
  // bootstrap.mjs runs `npm ci` when node_modules/.package-lock.json is older than package-lock.json;
  // in the copy that would empty the shared node_modules of the checkout running the suite.
  it.each([
    1796266916448.986, // statSync's mtime Date rounds it up to …449, after the install
    1796266916462.5964,
    1796266916448.0,
    1796266916448.5,
  ])("is not after an install at %s ms, as the file system stores it", (installedMs) => {
    const file = join(temporaryDirectory("parley-lock-time-"), "package-lock.json");
    writeFileSync(file, "{}");
    const lockTime = lockTimeBefore(installedMs);
    utimesSync(file, lockTime, lockTime);
    expect(statSync(file).mtimeMs).toBeLessThanOrEqual(installedMs);
  });
});
