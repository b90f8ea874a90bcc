/**
 * The cross-stack check: CrossGuard sees one stack at a time, but the stacks of this project share a
 * Cloudflare zone, and a zone has one entry-point ruleset per phase and one value per setting
 * (developers.cloudflare.com/ruleset-engine/about/rulesets/#entry-point-ruleset). Two stacks
 * declaring the same singleton overwrite each other on every `up`, and destroying one removes the
 * other's WAF. This check reads every stack's config and offline plan together and rejects:
 * - a zone singleton (entry-point ruleset, zone setting, zone-level origin pulls, DNS record,
 *   hostname origin-pull association) declared by two stacks;
 * - a zone with no owner or with two (`parley:cloudflareZoneOwner`), or whose stacks disagree on its plan;
 * - a rule in a stack's zone rulesets not scoped to that stack's own host;
 * - a pack config that disagrees with the stack's role (zone policies enabled only in the owner,
 *   with the owner's zone plan).
 *
 * `npm run check:stacks` runs it over the committed stacks (the pipeline calls it); its vitest file
 * runs it in `npm test`.
 */

import type { StackName } from "../../contracts/stacks";
import { bootstrapSecretKeys, parseStackConfig, type StackConfig } from "../../infra/config";
import { type RegisteredResource, readStackConfigFile, runProgram } from "../../infra/offline-runner/runner";
import { apiRateLimit, rulesHostScoped, scopedHost } from "../cloudflare/rulesets";
import { minTlsVersion, sslStrict } from "../cloudflare/zone";
import type { PackConfig } from "../offline";
import { loadPackConfig } from "../support/packConfig";

export interface StackPlan {
  stack: string;
  config: Pick<StackConfig, "publicHost" | "cloudflareZoneId" | "cloudflareZonePlan" | "cloudflareZoneOwner">;
  resources: Array<Pick<RegisteredResource, "type" | "inputs">>;
  packConfig: PackConfig;
}

/** The policies that check a zone's singletons: enabled in the owning stack's pack config only. */
export const zonePolicyNames = [sslStrict.name, minTlsVersion.name, apiRateLimit.name, rulesHostScoped.name];

const types = {
  ruleset: "cloudflare:index/ruleset:Ruleset",
  zoneSetting: "cloudflare:index/zoneSetting:ZoneSetting",
  dnsRecord: "cloudflare:index/dnsRecord:DnsRecord",
  originPulls: "cloudflare:index/authenticatedOriginPulls:AuthenticatedOriginPulls",
  originPullsSettings: "cloudflare:index/authenticatedOriginPullsSettings:AuthenticatedOriginPullsSettings",
  originPullsZoneCertificate:
    "cloudflare:index/authenticatedOriginPullsCertificate:AuthenticatedOriginPullsCertificate",
};

interface Singleton {
  zoneId: string;
  what: string;
}

/** What in these resources only one stack per zone may declare. */
export function zoneSingletons(resources: StackPlan["resources"]): Singleton[] {
  const found: Singleton[] = [];
  for (const { type, inputs } of resources) {
    const zoneId = inputs.zoneId;
    if (typeof zoneId !== "string") continue;
    const add = (what: string) => found.push({ zoneId, what });
    if (type === types.ruleset && inputs.kind === "zone") add(`the ${inputs.phase} entry-point ruleset`);
    else if (type === types.zoneSetting) add(`zone setting ${inputs.settingId}`);
    else if (type === types.originPullsSettings) add("the zone-level authenticated origin pulls setting");
    else if (type === types.originPullsZoneCertificate)
      add("the zone-level authenticated origin pulls certificate");
    else if (type === types.dnsRecord) add(`DNS record ${inputs.type} ${inputs.name}`);
    else if (type === types.originPulls) {
      for (const config of (inputs.configs ?? []) as Array<{ hostname?: string }>) {
        add(`the authenticated origin pulls association of ${config.hostname}`);
      }
    }
  }
  return found;
}

function isDisabled(packConfig: PackConfig, policyName: string): boolean {
  const level = (entry: unknown) =>
    typeof entry === "string"
      ? entry
      : (entry as { enforcementLevel?: string } | undefined)?.enforcementLevel;
  return (level(packConfig[policyName]) ?? level(packConfig.all)) === "disabled";
}

const list = (names: string[]) => names.join(", ");

/** Every problem across the stacks, one readable line each; empty when they can share their zones. */
export function crossStackIssues(plans: StackPlan[]): string[] {
  const issues: string[] = [];

  const declaredBy = new Map<string, { singleton: Singleton; stacks: string[] }>();
  for (const plan of plans) {
    for (const singleton of zoneSingletons(plan.resources)) {
      const key = `${singleton.zoneId}\u0000${singleton.what}`;
      const entry = declaredBy.get(key) ?? { singleton, stacks: [] };
      if (!entry.stacks.includes(plan.stack)) entry.stacks.push(plan.stack);
      declaredBy.set(key, entry);
    }
  }
  for (const { singleton, stacks } of declaredBy.values()) {
    if (stacks.length > 1) {
      issues.push(
        `zone ${singleton.zoneId}: ${singleton.what} is declared by stacks ${list(stacks)}; exactly one stack may declare it (parley:cloudflareZoneOwner "true" in one stack; a distinct parley:publicHost per stack)`,
      );
    }
  }

  const zones = new Map<string, StackPlan[]>();
  for (const plan of plans)
    zones.set(plan.config.cloudflareZoneId, [...(zones.get(plan.config.cloudflareZoneId) ?? []), plan]);
  for (const [zoneId, sharing] of zones) {
    const names = sharing.map((plan) => plan.stack);
    const owners = sharing.filter((plan) => plan.config.cloudflareZoneOwner).map((plan) => plan.stack);
    if (owners.length === 0) {
      issues.push(
        `zone ${zoneId} (stacks ${list(names)}) has no owner: set parley:cloudflareZoneOwner to "true" in exactly one of them, or its settings and WAF are declared nowhere`,
      );
    } else if (owners.length > 1) {
      issues.push(
        `zone ${zoneId} is owned by stacks ${list(owners)} (parley:cloudflareZoneOwner "true"): exactly one stack may own its settings and rulesets`,
      );
    }
    const plansNamed = new Set(sharing.map((plan) => plan.config.cloudflareZonePlan));
    if (plansNamed.size > 1) {
      issues.push(
        `zone ${zoneId}: stacks disagree on its plan (parley:cloudflareZonePlan: ${sharing.map((plan) => `${plan.stack}=${plan.config.cloudflareZonePlan}`).join(", ")}); a zone has one plan`,
      );
    }
  }

  for (const plan of plans) {
    for (const { type, inputs } of plan.resources) {
      if (type !== types.ruleset || inputs.kind !== "zone") continue;
      for (const rule of (inputs.rules ?? []) as Array<{ ref?: string; expression: string }>) {
        const host = scopedHost(rule.expression);
        if (host !== plan.config.publicHost) {
          issues.push(
            `stack ${plan.stack}: rule ${rule.ref ?? rule.expression} (phase ${inputs.phase}) is scoped to ${host ? `host ${host}` : "no host"}, not the stack's own host ${plan.config.publicHost}`,
          );
        }
      }
    }

    const enabled = zonePolicyNames.filter((name) => !isDisabled(plan.packConfig, name));
    if (plan.config.cloudflareZoneOwner) {
      const disabled = zonePolicyNames.filter((name) => !enabled.includes(name));
      if (disabled.length > 0) {
        issues.push(
          `stack ${plan.stack} owns zone ${plan.config.cloudflareZoneId} but its pack config disables ${list(disabled)}: the owner's zone settings and rules must be checked`,
        );
      }
      const entry = plan.packConfig[apiRateLimit.name];
      const packPlan =
        typeof entry === "object" && entry ? (entry as { zonePlan?: string }).zonePlan : undefined;
      if ((packPlan ?? "free") !== plan.config.cloudflareZonePlan) {
        issues.push(
          `stack ${plan.stack}: pack config ${apiRateLimit.name}.zonePlan = ${JSON.stringify(packPlan ?? "free")} disagrees with parley:cloudflareZonePlan = ${JSON.stringify(plan.config.cloudflareZonePlan)}`,
        );
      }
    } else if (enabled.length > 0) {
      issues.push(
        `stack ${plan.stack} does not own zone ${plan.config.cloudflareZoneId} but its pack config enables ${list(enabled)}: set them to "disabled" (the owning stack is checked)`,
      );
    }
  }
  return issues;
}

/** A stack's config, offline plan (the program under mocks) and pack config; `config` overrides keys. */
export async function loadStackPlan(
  stack: StackName,
  config: Record<string, string> = {},
): Promise<StackPlan> {
  const file = readStackConfigFile(stack).config;
  // Secrets typed in at bootstrap are assumed set, as the offline plan (runProgram) assumes them.
  const assumed = bootstrapSecretKeys[stack].filter((key) => !(key in file));
  const raw = {
    ...Object.fromEntries(assumed.map((key) => [key, `mock-secure-value-for-${key}`])),
    ...file,
    ...config,
  };
  const { resources } = await runProgram({ stack, config });
  return { stack, config: parseStackConfig(raw, stack), resources, packConfig: loadPackConfig(stack) };
}
