/**
 * ElastiCache replication groups: encrypted at rest and on the wire, authenticated, and able to
 * promote a replica on their own when the primary fails.
 */
import * as aws from "@pulumi/aws";
import { type ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";

export const cacheEncryptionAtRest: ResourceValidationPolicy = {
  name: "elasticache-encryption-at-rest",
  description: "ElastiCache replication groups encrypt data at rest.",
  enforcementLevel: "mandatory",
  validateResource: validateResourceOfType(
    aws.elasticache.ReplicationGroup,
    (group, _args, reportViolation) => {
      if (group.atRestEncryptionEnabled !== true) reportViolation("atRestEncryptionEnabled is not true.");
    },
  ),
};

export const cacheEncryptionInTransit: ResourceValidationPolicy = {
  name: "elasticache-encryption-in-transit",
  description: "ElastiCache replication groups accept TLS connections only.",
  enforcementLevel: "mandatory",
  validateResource: validateResourceOfType(
    aws.elasticache.ReplicationGroup,
    (group, _args, reportViolation) => {
      if (group.transitEncryptionEnabled !== true) reportViolation("transitEncryptionEnabled is not true.");
      if (group.transitEncryptionMode === "preferred") {
        reportViolation('transitEncryptionMode is "preferred", which still admits plaintext clients.');
      }
    },
  ),
};

export const cacheAuth: ResourceValidationPolicy = {
  name: "elasticache-auth",
  description: "ElastiCache replication groups require AUTH (a token or RBAC user groups).",
  enforcementLevel: "mandatory",
  validateResource: validateResourceOfType(
    aws.elasticache.ReplicationGroup,
    (group, _args, reportViolation) => {
      const hasToken = Boolean(group.authToken) || Boolean(group.authTokenWo);
      const hasUserGroups = (group.userGroupIds ?? []).length > 0;
      if (!hasToken && !hasUserGroups) reportViolation("Neither authToken nor userGroupIds is set.");
    },
  ),
};

export const cacheAutomaticFailover: ResourceValidationPolicy = {
  name: "elasticache-automatic-failover",
  description: "ElastiCache replication groups fail over to a replica automatically.",
  enforcementLevel: "mandatory",
  validateResource: validateResourceOfType(
    aws.elasticache.ReplicationGroup,
    (group, _args, reportViolation) => {
      if (group.automaticFailoverEnabled !== true) reportViolation("automaticFailoverEnabled is not true.");
    },
  ),
};

export const elasticachePolicies = [
  cacheEncryptionAtRest,
  cacheEncryptionInTransit,
  cacheAuth,
  cacheAutomaticFailover,
];
