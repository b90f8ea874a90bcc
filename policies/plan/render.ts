/** The offline plan as text (for a terminal or a CI log) and as the JSON document `--json` writes. */
import path from "node:path";
import { repositoryRoot } from "../../infra/offline-runner/runner";
import { costScales } from "../../infra/scaling/cost";
import type { PolicyViolation } from "../offline";
import { redactSecrets } from "../support/values";
import { mandatoryViolations, type Plan } from "./build";

export function headline(stack: string): string {
  return `Offline plan for stack "${stack}": the Pulumi program runs in-process under mocks with mocked cloud outputs (ids, ARNs, endpoints); nothing is deployed and no cloud is contacted.`;
}

/** Components before cloud resources, then by type and name, so alike resources sit together. */
const byKindTypeName = (a: Plan["resources"][number], b: Plan["resources"][number]) =>
  Number(a.custom) - Number(b.custom) || a.type.localeCompare(b.type) || a.name.localeCompare(b.name);

/** Resources as a tree: the stack, its components, their children. */
export function resourceTree(plan: Plan): string[] {
  const children = new Map<string, Plan["resources"]>();
  for (const resource of plan.resources) {
    const siblings = children.get(resource.parent ?? "") ?? [];
    siblings.push(resource);
    children.set(resource.parent ?? "", siblings);
  }
  const lines: string[] = [];
  const walk = (urn: string, prefix: string) => {
    const list = [...(children.get(urn) ?? [])].sort(byKindTypeName);
    list.forEach((resource, index) => {
      const last = index === list.length - 1;
      lines.push(`${prefix}${last ? "└─ " : "├─ "}${resource.type}  ${resource.name}`);
      walk(resource.urn, `${prefix}${last ? "   " : "│  "}`);
    });
  };
  for (const root of children.get("") ?? []) {
    lines.push(`${root.type}  ${root.name}`);
    walk(root.urn, "");
  }
  return lines;
}

function violationLines(violations: PolicyViolation[]): string[] {
  return violations.flatMap((v) => [
    `  ${v.enforcementLevel.padEnd(9)} ${v.policyName}  ${v.resourceType ? `${v.resourceType} ${v.resourceName}` : "(stack)"}`,
    `            ${v.message}`,
  ]);
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    `  ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")}`;
  return [line(header), ...rows.map(line)];
}

const usd = (value: number) => `$${value.toLocaleString("en-US", { maximumFractionDigits: 0 })}`;

/** The plan below its headline (the CLI prints the headline first, before the program runs). */
export function renderPlan(plan: Plan): string {
  const { envelope: e, violations, previewViolations } = plan;
  const mandatory = mandatoryViolations(plan);
  const count = (list: PolicyViolation[]) => {
    const hard = list.filter((v) => v.enforcementLevel === "mandatory").length;
    return `${hard} mandatory, ${list.length - hard} advisory`;
  };
  const custom = plan.resources.filter((r) => r.custom).length;
  const estimates = costScales.map((scale) => plan.cost[scale]);
  const items = estimates[0]!.lines.map((line) => line.item);
  const costRows = items.map((item) => [
    item,
    ...estimates.map((estimate) => usd(estimate.lines.find((line) => line.item === item)?.monthlyUsd ?? 0)),
  ]);
  costRows.push(["total", ...estimates.map((estimate) => usd(estimate.totalMonthlyUsd))]);
  const reserve = e.database.primaryConnectionsAtMax;
  const priceRegion = estimates[0]!.region;
  return [
    `Resources (${plan.resources.length}: ${custom} cloud/Kubernetes resources, ${plan.resources.length - custom} components):`,
    ...resourceTree(plan),
    "",
    ...(plan.assumedSecrets.length > 0
      ? [
          `Assumed set at bootstrap (secrets typed in with \`pulumi config set --secret\`, placeholders here): ${plan.assumedSecrets.join(", ")}`,
          "",
        ]
      : []),
    `Policy report (pack config ${path.relative(repositoryRoot, plan.packConfigFile)}): ${count(violations)}`,
    ...(violations.length === 0 ? ["  no violations"] : violationLines(violations)),
    ...(plan.notApplicable.length > 0
      ? [`  nothing to check in this stack for: ${plan.notApplicable.join(", ")}`]
      : []),
    "",
    `Policy report in preview mode (computed outputs unknown, as \`pulumi preview\` sees them): ${count(previewViolations)}`,
    ...(previewViolations.length === 0 ? ["  no violations"] : violationLines(previewViolations)),
    "",
    "Scaling envelope (what the resources declare):",
    `  app pods      ${e.pods.min}–${e.pods.max} replicas, ${e.pods.cpuRequestMillicores}m CPU and ${e.pods.memoryRequestMiB} MiB requested each`,
    `  app nodes     ${e.appNodes.atMin}–${e.appNodes.atMax} Karpenter nodes (${e.appNodes.instanceFamilies.join(", ")}), NodePool limit ${e.appNodes.cpuLimitCores} cores / ${e.appNodes.memoryLimitGiB} GiB`,
    `  system nodes  ${e.systemNodes.min}–${e.systemNodes.max} × ${e.systemNodes.instanceType}`,
    `  database      ${e.database.instanceClass} primary${e.database.multiAz ? " (Multi-AZ)" : ""} + ${e.database.readReplicas} read replica(s); ${reserve} of ${e.database.maxConnections} primary connections used at max pods`,
    `  cache         ${e.cache.nodeType} primary + ${e.cache.replicas} replica(s)`,
    "",
    `Monthly cost (on-demand list prices, ${priceRegion} table as of ${estimates[0]!.pricesAsOf}${priceRegion === plan.region ? "" : `; the stack runs in ${plan.region}`}):`,
    ...table(["item", ...estimates.map((x) => `${x.scale} (${x.replicas} pods)`)], costRows),
    "",
    mandatory.length > 0
      ? `FAILED: ${mandatory.length} mandatory policy violation(s).`
      : "OK: no mandatory policy violation.",
  ].join("\n");
}

/** The `--json` document; every Pulumi secret in the inputs is replaced by "[secret]". */
export function planDocument(plan: Plan) {
  return {
    stack: plan.stack,
    offline: true,
    note: headline(plan.stack),
    resources: plan.resources.map((r) => ({
      urn: r.urn,
      type: r.type,
      name: r.name,
      parent: r.parent ?? null,
      inputs: redactSecrets(r.inputs),
    })),
    violations: plan.violations,
    previewViolations: plan.previewViolations,
    assumedSecrets: plan.assumedSecrets,
    notApplicable: plan.notApplicable,
    envelope: plan.envelope,
    cost: plan.cost,
  };
}
