/**
 * Cloudflare zone settings: TLS to the origin is verified end to end and clients speak TLS 1.2 or
 * newer. These are stack policies because a missing setting is as bad as a wrong one (Cloudflare's
 * own defaults are "flexible"/"full" SSL and TLS 1.0).
 *
 * Zone settings and entry-point rulesets are zone-wide: exactly one stack per zone declares them
 * (`parley:cloudflareZoneOwner`). These policies check that stack; the others' pack configs disable
 * them, and `npm run check:stacks` verifies across stacks that each zone has exactly one owner.
 */
import * as cloudflare from "@pulumi/cloudflare";
import type { PolicyResource, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";

/** Whether the stack declares any of its zone's singletons (a zone setting or a zone entry-point ruleset). */
export function ownsZoneSingletons(args: StackValidationArgs): boolean {
  return args.resources.some(
    (r) => r.isType(cloudflare.ZoneSetting) || (r.isType(cloudflare.Ruleset) && r.props.kind === "zone"),
  );
}

/** Stops a zone policy in a stack that declares no Cloudflare resources or none of the zone's singletons. */
export function requireZoneOwner(args: StackValidationArgs): void {
  if (!args.resources.some((r) => r.type.startsWith("cloudflare:"))) {
    args.notApplicable("The stack declares no Cloudflare resources.");
  }
  if (!ownsZoneSingletons(args)) {
    args.notApplicable(
      "The stack owns none of its zone's settings or rulesets; the owning stack is checked (npm run check:stacks).",
    );
  }
}

function zoneSettings(args: StackValidationArgs, settingId: string): PolicyResource[] {
  requireZoneOwner(args);
  return args.resources.filter((r) => r.isType(cloudflare.ZoneSetting) && r.props.settingId === settingId);
}

export const sslStrict: StackValidationPolicy = {
  name: "cloudflare-ssl-strict",
  description: 'The zone\'s SSL mode is "strict": Cloudflare verifies the origin certificate.',
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const settings = zoneSettings(args, "ssl");
    if (settings.length === 0)
      reportViolation('No ZoneSetting "ssl" is declared; the zone keeps Cloudflare\'s default.');
    for (const setting of settings) {
      if (setting.props.value !== "strict") {
        reportViolation(`ZoneSetting "ssl" is "${setting.props.value}", not "strict".`, setting.urn);
      }
    }
  },
};

const tlsVersions = ["1.0", "1.1", "1.2", "1.3"];

export interface MinTlsConfig {
  minimumVersion: string;
}

export const minTlsVersion: StackValidationPolicy = {
  name: "cloudflare-min-tls",
  description: "The zone refuses TLS versions older than the configured minimum.",
  enforcementLevel: "mandatory",
  configSchema: { properties: { minimumVersion: { type: "string", enum: tlsVersions, default: "1.2" } } },
  validateStack: (args, reportViolation) => {
    const { minimumVersion } = args.getConfig<MinTlsConfig>();
    const settings = zoneSettings(args, "min_tls_version");
    if (settings.length === 0)
      reportViolation('No ZoneSetting "min_tls_version" is declared; Cloudflare allows TLS 1.0.');
    for (const setting of settings) {
      const version = String(setting.props.value);
      if (tlsVersions.indexOf(version) < tlsVersions.indexOf(minimumVersion)) {
        reportViolation(
          `ZoneSetting "min_tls_version" is "${version}"; at least "${minimumVersion}" required.`,
          setting.urn,
        );
      }
    }
  },
};

export const zonePolicies = [sslStrict, minTlsVersion];
