/**
 * EKS control plane: Secrets envelope-encrypted with KMS, audit trail in CloudWatch, and an API
 * endpoint that the internet at large cannot reach.
 */
import * as aws from "@pulumi/aws";
import { type ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { isSet } from "../support/unknowns";
import { worldCidrs } from "./network";

export const eksSecretsEncryption: ResourceValidationPolicy = {
  name: "eks-secrets-encryption",
  description: "EKS envelope-encrypts Kubernetes Secrets with a KMS key.",
  enforcementLevel: "mandatory",
  validateResource: validateResourceOfType(aws.eks.Cluster, (cluster, _args, reportViolation) => {
    const config = cluster.encryptionConfig;
    // The key's ARN comes from a KMS key the program creates: unknown during preview, but set.
    if (!config?.resources?.includes("secrets") || !isSet(() => config.provider?.keyArn)) {
      reportViolation('encryptionConfig does not encrypt "secrets" with a KMS key.');
    }
  }),
};

export interface ControlPlaneLoggingConfig {
  requiredLogTypes: string[];
}

export const eksControlPlaneLogging: ResourceValidationPolicy = {
  name: "eks-control-plane-logging",
  description: "EKS ships its control-plane logs to CloudWatch.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      requiredLogTypes: {
        type: "array",
        items: { type: "string", enum: ["api", "audit", "authenticator", "controllerManager", "scheduler"] },
        default: ["api", "audit", "authenticator"],
      },
    },
  },
  validateResource: validateResourceOfType(aws.eks.Cluster, (cluster, args, reportViolation) => {
    const { requiredLogTypes } = args.getConfig<ControlPlaneLoggingConfig>();
    const enabled = new Set(cluster.enabledClusterLogTypes ?? []);
    const missing = requiredLogTypes.filter((type) => !enabled.has(type));
    if (missing.length > 0) reportViolation(`enabledClusterLogTypes lacks ${missing.join(", ")}.`);
  }),
};

export const eksEndpointRestricted: ResourceValidationPolicy = {
  name: "eks-endpoint-restricted",
  description: "The EKS API has a private endpoint; a public one, if any, admits only listed CIDRs.",
  enforcementLevel: "mandatory",
  validateResource: validateResourceOfType(aws.eks.Cluster, (cluster, _args, reportViolation) => {
    const vpc = cluster.vpcConfig;
    if (vpc.endpointPrivateAccess !== true) reportViolation("vpcConfig.endpointPrivateAccess is not true.");
    // The AWS default for endpointPublicAccess is true, and for publicAccessCidrs 0.0.0.0/0.
    if (vpc.endpointPublicAccess === false) return;
    const cidrs = vpc.publicAccessCidrs ?? [];
    if (cidrs.length === 0) {
      reportViolation(
        "The public endpoint is on and vpcConfig.publicAccessCidrs is empty (AWS opens it to 0.0.0.0/0).",
      );
    } else if (cidrs.some((cidr) => worldCidrs.includes(cidr))) {
      reportViolation(
        `vpcConfig.publicAccessCidrs opens the public endpoint to the world (${cidrs.join(", ")}).`,
      );
    }
  }),
};

export const eksPolicies = [eksSecretsEncryption, eksControlPlaneLogging, eksEndpointRestricted];
