/**
 * The offline plan of a stack: the Pulumi program run in-process under mocks (infra/offline-runner/runner.ts),
 * the policy pack run over its resources with the stack's pack config, and the scaling envelope and
 * monthly cost of what the resources declare.
 */

import type { StackName } from "../../contracts/stacks";
import { type RegisteredResource, readStackConfigFile, runProgram } from "../../infra/offline-runner/runner";
import { type CostEstimate, type CostScale, costScales, estimateMonthlyCost } from "../../infra/scaling/cost";
import { rdsMaxConnections } from "../../infra/scaling/database";
import { nodesForPods } from "../../infra/scaling/nodes";
import { type ScalingPolicy, scalingPolicyFor } from "../../infra/scaling/policy";
import { evaluatePolicies, type PolicyViolation, policyResources } from "../offline";
import { packArgs } from "../pack";
import { defaultAppName, deployedScalingPolicy } from "../stack/scaling";
import { loadPackConfig, packConfigPath } from "../support/packConfig";

export interface ScalingEnvelope {
  pods: { min: number; max: number; cpuRequestMillicores: number; memoryRequestMiB: number };
  appNodes: {
    cpuLimitCores: number;
    memoryLimitGiB: number;
    atMin: number;
    atMax: number;
    instanceFamilies: string[];
  };
  systemNodes: { instanceType: string; min: number; max: number };
  database: {
    instanceClass: string;
    multiAz: boolean;
    readReplicas: number;
    maxConnections: number;
    primaryConnectionsAtMax: number;
  };
  cache: { nodeType: string; replicas: number };
}

export interface Plan {
  stack: StackName;
  region: string;
  packConfigFile: string;
  resources: RegisteredResource[];
  violations: PolicyViolation[];
  /** Enabled policies that found nothing to check in this stack. */
  notApplicable: string[];
  /**
   * The same pack over a preview-mode run (`pulumi preview`: values the cloud computes are unknown).
   * A mandatory policy that cannot decide there is a mandatory violation.
   */
  previewViolations: PolicyViolation[];
  /** Bootstrap secrets the stack file lacks, assumed set (placeholders) for this plan. */
  assumedSecrets: string[];
  envelope: ScalingEnvelope;
  cost: Record<CostScale, CostEstimate>;
}

const count = (resources: RegisteredResource[], type: string) =>
  resources.filter((r) => r.type === type).length;

function envelopeOf(policy: ScalingPolicy, databaseMultiAz: boolean): ScalingEnvelope {
  const { pods, nodes, database, cache } = policy;
  return {
    pods: {
      min: pods.minReplicas,
      max: pods.maxReplicas,
      cpuRequestMillicores: pods.cpuRequestMillicores,
      memoryRequestMiB: pods.memoryRequestMiB,
    },
    appNodes: {
      cpuLimitCores: nodes.karpenter.cpuLimitCores,
      memoryLimitGiB: nodes.karpenter.memoryLimitGiB,
      atMin: nodesForPods(policy, pods.minReplicas).length,
      atMax: nodesForPods(policy, pods.maxReplicas).length,
      instanceFamilies: nodes.karpenter.instanceFamilies,
    },
    systemNodes: {
      instanceType: nodes.system.instanceType,
      min: nodes.system.minSize,
      max: nodes.system.maxSize,
    },
    database: {
      instanceClass: database.instanceClass,
      multiAz: databaseMultiAz,
      readReplicas: database.readReplicas,
      maxConnections: rdsMaxConnections(database.instanceClass),
      primaryConnectionsAtMax:
        pods.maxReplicas * database.poolMaxPerPod.primary + database.reservedConnections,
    },
    cache: { nodeType: cache.nodeType, replicas: cache.replicas },
  };
}

/**
 * Runs the program for the stack and evaluates it; rejects with the program's error if it fails.
 * `config` overrides keys of Pulumi.<stack>.yaml (what-if plans in tests).
 */
export async function buildPlan(stack: StackName, config: Record<string, string> = {}): Promise<Plan> {
  const packConfig = loadPackConfig(stack);
  const { resources, assumedSecrets } = await runProgram({ stack, config });
  const { violations, notApplicable } = await evaluatePolicies(packArgs, resources, packConfig);
  const preview = await runProgram({ stack, config, preview: true });
  const previewViolations = (await evaluatePolicies(packArgs, preview.resources, packConfig)).violations;
  const policy = deployedScalingPolicy(scalingPolicyFor(stack), policyResources(resources), defaultAppName);
  const primary = resources.find(
    (r) => r.type === "aws:rds/instance:Instance" && !r.inputs.replicateSourceDb,
  );
  const databaseMultiAz = primary?.inputs.multiAz === true;
  const natGateways = count(resources, "aws:ec2/natGateway:NatGateway");
  const cost = Object.fromEntries(
    costScales.map((scale) => [scale, estimateMonthlyCost(policy, scale, { natGateways, databaseMultiAz })]),
  ) as Record<CostScale, CostEstimate>;
  return {
    stack,
    region: readStackConfigFile(stack).config["aws:region"] ?? "us-east-1",
    packConfigFile: packConfigPath(stack),
    resources,
    violations,
    notApplicable,
    previewViolations,
    assumedSecrets,
    envelope: envelopeOf(policy, databaseMultiAz),
    cost,
  };
}

/** Mandatory violations of the update run and of the preview run. */
export const mandatoryViolations = (plan: Pick<Plan, "violations" | "previewViolations">) =>
  [...plan.violations, ...plan.previewViolations].filter((v) => v.enforcementLevel === "mandatory");
