import { afterEach, describe, expect, it } from "vitest";
import { ensureBinaries, MissingBinariesError } from "./binaries";

describe("ensureBinaries", () => {
  const path = process.env.PATH;
  afterEach(() => {
    process.env.PATH = path;
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
});
