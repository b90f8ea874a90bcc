/**
 * The scaling invariants (infra/scaling/invariants.ts) checked against what the stack actually
 * declares: the stack's scaling policy with every number the resources carry laid over it (HPA
 * bounds and behaviour, container requests and pool sizes, PDB, NodePool limits, system node group,
 * RDS class and replicas, cache nodes), in the network the stack builds (its pod subnets).
 * A resource edited by hand away from the policy is therefore judged by what it would deploy.
 */

import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { envVar } from "../../contracts/environment";
import { type StackName, stackNames } from "../../contracts/stacks";
import { checkScalingInvariants, type ScalingContext } from "../../infra/scaling/invariants";
import { type ScalingPolicy, scalingPolicyFor } from "../../infra/scaling/policy";
import { cpuMillicores, gibibytes, mebibytes } from "../support/quantities";

export const nodePoolType = "kubernetes:karpenter.sh/v1:NodePool";
/** metadata.name of the app's Deployment, HPA and PDB (the Service and scrape job are named the same). */
export const defaultAppName = "parley";

export interface ScalingInvariantsConfig {
  /** The scaling policy to start from; by default the stack named in the resources' URNs. */
  stack?: StackName;
  /** metadata.name of the app's Deployment, HPA and PDB. */
  appName: string;
  /** Tag that marks the private subnets nodes and pods take their IPs from. */
  podSubnetTag: string;
}

/** `urn:pulumi:<stack>::<project>::<type>::<name>` */
export function stackOfUrn(urn: string): string {
  return urn.split("::")[0]!.split(":").pop()!;
}

const named = (resources: PolicyResource[], type: { new (...rest: never[]): unknown }, name: string) =>
  resources.find((r) => r.isType(type as never) && r.props.metadata?.name === name);

const optionalNumber = (value: unknown): number | undefined =>
  typeof value === "number" ? value : undefined;

function withPods(policy: ScalingPolicy, resources: PolicyResource[], appName: string): void {
  const deployment = named(resources, k8s.apps.v1.Deployment, appName);
  const containers: k8s.types.output.core.v1.Container[] =
    deployment?.props.spec?.template?.spec?.containers ?? [];
  const app = containers.find((c) => c.name === appName) ?? containers[0];
  if (app) {
    const requests: Record<string, string> = app.resources?.requests ?? {};
    const limits: Record<string, string> = app.resources?.limits ?? {};
    const pods = policy.pods;
    if (requests.cpu !== undefined) pods.cpuRequestMillicores = cpuMillicores(requests.cpu);
    if (limits.cpu !== undefined) pods.cpuLimitMillicores = cpuMillicores(limits.cpu);
    if (requests.memory !== undefined) pods.memoryRequestMiB = mebibytes(requests.memory);
    if (limits.memory !== undefined) pods.memoryLimitMiB = mebibytes(limits.memory);
    const env = new Map((app.env ?? []).map((e) => [e.name, e.value] as const));
    const primaryPool = Number(env.get(envVar.DB_POOL_MAX));
    const replicaPool = Number(env.get(envVar.DB_REPLICA_POOL_MAX));
    if (primaryPool > 0) policy.database.poolMaxPerPod.primary = primaryPool;
    if (replicaPool > 0) policy.database.poolMaxPerPod.replica = replicaPool;
  }
  const hpa = named(resources, k8s.autoscaling.v2.HorizontalPodAutoscaler, appName)?.props.spec;
  if (hpa) {
    policy.pods.minReplicas = hpa.minReplicas ?? 1;
    policy.pods.maxReplicas = hpa.maxReplicas;
    if (hpa.behavior?.scaleUp?.policies)
      policy.hpa.scaleUp = { ...policy.hpa.scaleUp, ...hpa.behavior.scaleUp };
    if (hpa.behavior?.scaleDown?.policies)
      policy.hpa.scaleDown = { ...policy.hpa.scaleDown, ...hpa.behavior.scaleDown };
  }
  const maxUnavailable = optionalNumber(
    named(resources, k8s.policy.v1.PodDisruptionBudget, appName)?.props.spec?.maxUnavailable,
  );
  if (maxUnavailable !== undefined) policy.pdb.maxUnavailable = maxUnavailable;
}

function withNodes(policy: ScalingPolicy, resources: PolicyResource[]): void {
  const limits = resources.find((r) => r.type === nodePoolType)?.props.spec?.limits;
  if (limits?.cpu !== undefined) policy.nodes.karpenter.cpuLimitCores = cpuMillicores(limits.cpu) / 1000;
  if (limits?.memory !== undefined) policy.nodes.karpenter.memoryLimitGiB = gibibytes(limits.memory);
  const group = resources.find((r) => r.isType(aws.eks.NodeGroup))?.props;
  if (group) {
    const system = policy.nodes.system;
    system.instanceType = group.instanceTypes?.[0] ?? system.instanceType;
    system.minSize = group.scalingConfig?.minSize ?? system.minSize;
    system.desiredSize = group.scalingConfig?.desiredSize ?? system.desiredSize;
    system.maxSize = group.scalingConfig?.maxSize ?? system.maxSize;
  }
}

function withDataStores(policy: ScalingPolicy, resources: PolicyResource[]): void {
  const instances = resources.filter((r) => r.isType(aws.rds.Instance));
  const primary = instances.find((r) => !r.props.replicateSourceDb)?.props;
  if (primary) {
    policy.database.instanceClass = primary.instanceClass ?? policy.database.instanceClass;
    policy.database.readReplicas = instances.length - 1;
    policy.database.allocatedStorageGiB = primary.allocatedStorage ?? policy.database.allocatedStorageGiB;
    policy.database.maxAllocatedStorageGiB =
      primary.maxAllocatedStorage ?? policy.database.maxAllocatedStorageGiB;
  }
  const cache = resources.find((r) => r.isType(aws.elasticache.ReplicationGroup))?.props;
  if (cache) {
    policy.cache.nodeType = cache.nodeType ?? policy.cache.nodeType;
    const replicas =
      cache.replicasPerNodeGroup ?? (cache.numCacheClusters ? cache.numCacheClusters - 1 : undefined);
    if (replicas !== undefined) policy.cache.replicas = replicas;
  }
}

/** The stack's scaling policy as its resources would deploy it. */
export function deployedScalingPolicy(
  declared: ScalingPolicy,
  resources: PolicyResource[],
  appName: string,
): ScalingPolicy {
  const policy = structuredClone(declared);
  withPods(policy, resources, appName);
  withNodes(policy, resources);
  withDataStores(policy, resources);
  return policy;
}

/**
 * The network the pods get: tagged private subnets and their zones. No region: instance data and
 * prices come from the scaling module's committed price table (its default region).
 */
export function scalingContext(resources: PolicyResource[], podSubnetTag: string): ScalingContext {
  const podSubnets = resources
    .filter((r) => r.isType(aws.ec2.Subnet) && r.props.tags?.[podSubnetTag] !== undefined)
    .map((r) => ({ availabilityZone: r.props.availabilityZone, cidrBlock: r.props.cidrBlock }));
  return { availabilityZones: new Set(podSubnets.map((s) => s.availabilityZone)).size, podSubnets };
}

export const scalingInvariants: StackValidationPolicy = {
  name: "scaling-invariants",
  description:
    "The deployed scaling numbers keep the scaling policy's invariants (connections, node limits, PDB, zones, IPs, time to peak).",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      stack: { type: "string", enum: [...stackNames] },
      appName: { type: "string", default: defaultAppName },
      podSubnetTag: { type: "string", default: "karpenter.sh/discovery" },
    },
  },
  validateStack: (args, reportViolation) => {
    const config = args.getConfig<ScalingInvariantsConfig>();
    const stack = config.stack ?? (args.resources[0] ? stackOfUrn(args.resources[0].urn) : "");
    if (!(stackNames as readonly string[]).includes(stack)) {
      reportViolation(
        `Stack "${stack}" has no scaling policy (known: ${stackNames.join(", ")}); set "stack" in the pack config.`,
      );
      return;
    }
    const context = scalingContext(args.resources, config.podSubnetTag);
    if (context.podSubnets.length === 0) {
      reportViolation(
        `No subnet carries the tag "${config.podSubnetTag}", so pod IP capacity cannot be checked.`,
      );
      return;
    }
    const policy = deployedScalingPolicy(
      scalingPolicyFor(stack as StackName),
      args.resources,
      config.appName,
    );
    for (const violation of checkScalingInvariants(policy, context)) {
      reportViolation(`[${violation.invariant}] ${violation.message}`);
    }
  },
};
