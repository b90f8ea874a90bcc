import { describe, expect, it } from "vitest";
import { minTlsSetting, sslSetting } from "../../tests/support/policies/fixtures";
import { messages, mutate, planned } from "../../tests/support/policies/policyTest";
import { minTlsVersion, sslStrict } from "./zone";

const type = "cloudflare:index/zoneSetting:ZoneSetting";

describe("Cloudflare zone policies", () => {
  const happy = () => [planned(type, sslSetting), planned(type, minTlsSetting)];

  it("pass the happy-path zone settings", async () => {
    expect(await messages(sslStrict, happy())).toEqual([]);
    expect(await messages(minTlsVersion, happy())).toEqual([]);
  });

  it("SSL mode full (unverified origin certificate)", async () => {
    const resources = [planned(type, mutate(sslSetting, "value", "full")), planned(type, minTlsSetting)];
    expect(await messages(sslStrict, resources)).toEqual(['ZoneSetting "ssl" is "full", not "strict".']);
  });

  it("no SSL setting at all", async () => {
    expect(await messages(sslStrict, [planned(type, minTlsSetting)])).toEqual([
      'No ZoneSetting "ssl" is declared; the zone keeps Cloudflare\'s default.',
    ]);
  });

  it("TLS 1.1 allowed", async () => {
    const resources = [planned(type, sslSetting), planned(type, mutate(minTlsSetting, "value", "1.1"))];
    expect(await messages(minTlsVersion, resources)).toEqual([
      'ZoneSetting "min_tls_version" is "1.1"; at least "1.2" required.',
    ]);
  });

  it("the minimum comes from the pack config", async () => {
    expect(await messages(minTlsVersion, happy(), { minimumVersion: "1.3" })).toEqual([
      'ZoneSetting "min_tls_version" is "1.2"; at least "1.3" required.',
    ]);
  });

  it("no min TLS setting at all", async () => {
    expect(await messages(minTlsVersion, [planned(type, sslSetting)])).toEqual([
      'No ZoneSetting "min_tls_version" is declared; Cloudflare allows TLS 1.0.',
    ]);
  });

  it("a stack that declares none of the zone's settings or rulesets (not its owner) is not checked", async () => {
    const record = planned("cloudflare:index/dnsRecord:DnsRecord", {
      zoneId: "z",
      name: "chat-dev.example.com",
    });
    expect(await messages(sslStrict, [record])).toEqual([]);
    expect(await messages(minTlsVersion, [record])).toEqual([]);
    // An owner (it declares a zone ruleset) that forgot the settings is still caught.
    const ruleset = planned("cloudflare:index/ruleset:Ruleset", {
      zoneId: "z",
      kind: "zone",
      phase: "http_ratelimit",
    });
    expect(await messages(sslStrict, [record, ruleset])).toEqual([
      'No ZoneSetting "ssl" is declared; the zone keeps Cloudflare\'s default.',
    ]);
  });

  it("stacks without Cloudflare resources are not applicable", async () => {
    expect(await messages(sslStrict, [planned("aws:kms/key:Key", {})])).toEqual([]);
  });
});
