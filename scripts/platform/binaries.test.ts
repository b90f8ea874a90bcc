import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ensureBinaries, MissingBinariesError } from "./binaries";

describe("ensureBinaries", () => {
  const path = process.env.PATH;
  afterEach(() => {
    process.env.PATH = path;
    vi.restoreAllMocks();
  });

  it("finds the installed servers", () => {
    const binaries = ensureBinaries(["postgres", "redis", "prometheus", "alertmanager"], () => {});
    expect(binaries.postgresBin).toMatch(/bin$/);
    expect(binaries.redisServer).toMatch(/redis-server$/);
    expect(binaries.promtool).toMatch(/promtool$/);
    expect(binaries.amtool).toMatch(/amtool$/);
  });

  it("names the packages to install when servers are missing and it may not install them", () => {
    process.env.PATH = "/nonexistent";
    const attempt = () =>
      ensureBinaries(["redis", "prometheus", "alertmanager"], () => {}, { allowInstall: false });
    expect(attempt).toThrow(MissingBinariesError);
    expect(attempt).toThrow(
      "missing server binaries for redis, prometheus, alertmanager: install them with `sudo apt-get install redis-server prometheus prometheus-alertmanager` and run again",
    );
  });

  it("names the packages to install for an ordinary user without sudo rights, instead of running apt", () => {
    // A machine with apt-get and sudo, where this user may not sudo and the servers are missing.
    const bin = mkdtempSync(join(tmpdir(), "parley-no-sudo-"));
    try {
      const aptRan = join(bin, "apt-ran");
      writeFileSync(join(bin, "apt-get"), `#!/bin/sh\ntouch ${aptRan}\n`, { mode: 0o755 });
      writeFileSync(join(bin, "sudo"), "#!/bin/sh\necho 'sudo: a password is required' >&2\nexit 1\n", {
        mode: 0o755,
      });
      process.env.PATH = bin;
      vi.spyOn(process as { getuid(): number }, "getuid").mockReturnValue(1000);
      expect(() => ensureBinaries(["redis", "alertmanager"], () => {})).toThrow(
        "missing server binaries for redis, alertmanager: install them with `sudo apt-get install redis-server prometheus-alertmanager` and run again",
      );
      expect(() => rmSync(aptRan)).toThrow(/ENOENT/);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});
