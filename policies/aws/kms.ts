/** KMS: customer-managed keys rotate their key material every year. */
import * as aws from "@pulumi/aws";
import { type ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";

export const kmsKeyRotation: ResourceValidationPolicy = {
  name: "kms-key-rotation",
  description: "Symmetric KMS keys have automatic rotation enabled.",
  enforcementLevel: "mandatory",
  validateResource: validateResourceOfType(aws.kms.Key, (key, _args, reportViolation) => {
    // AWS rotates only symmetric encryption keys; asymmetric and HMAC keys cannot rotate.
    const spec = key.customerMasterKeySpec ?? "SYMMETRIC_DEFAULT";
    if (spec === "SYMMETRIC_DEFAULT" && key.enableKeyRotation !== true) {
      reportViolation("enableKeyRotation is not true.");
    }
  }),
};

export const kmsPolicies = [kmsKeyRotation];
