/**
 * Container rules for every pod template the program declares: sized, probed, pinned and locked down.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import type { PolicyConfigJSONSchema } from "@pulumi/policy/schema";
import {
  type Container,
  containersOf,
  validateAllPodSpecs,
  validateLongRunningPodSpecs,
} from "../support/kubernetes";

export interface RequestsAndLimitsConfig {
  requests: string[];
  limits: string[];
}

const resourceList = (defaults: string[]): PolicyConfigJSONSchema => ({
  type: "array",
  items: { type: "string", enum: ["cpu", "memory", "ephemeral-storage"] },
  default: defaults,
});

export const resourceRequestsAndLimits: ResourceValidationPolicy = {
  name: "k8s-resource-requests-limits",
  description:
    "Every container sets CPU and memory requests and limits, so the scheduler and the HPA can size it.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      requests: resourceList(["cpu", "memory"]),
      limits: resourceList(["cpu", "memory"]),
    },
  },
  validateResource: validateAllPodSpecs((spec, args, reportViolation) => {
    const required = args.getConfig<RequestsAndLimitsConfig>();
    for (const container of containersOf(spec)) {
      for (const kind of ["requests", "limits"] as const) {
        const set = container.resources?.[kind] ?? {};
        const missing = required[kind].filter((resource) => set[resource] === undefined);
        if (missing.length > 0) {
          reportViolation(`Container "${container.name}" has no ${kind} for ${missing.join(" and ")}.`);
        }
      }
    }
  }),
};

export const probes: ResourceValidationPolicy = {
  name: "k8s-probes",
  description: "Every long-running container has a liveness and a readiness probe.",
  enforcementLevel: "mandatory",
  validateResource: validateLongRunningPodSpecs((spec, _args, reportViolation) => {
    for (const container of spec.containers ?? []) {
      if (!container.livenessProbe) reportViolation(`Container "${container.name}" has no livenessProbe.`);
      if (!container.readinessProbe) reportViolation(`Container "${container.name}" has no readinessProbe.`);
    }
  }),
};

/** The project's own images live in ECR (an account's private registry). */
const ecrImage = /^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?\//;

/**
 * What is wrong with how an image is pinned, or undefined when it is pinned: the project's own (ECR)
 * images by digest, the one the release pipeline scanned and signed; others by digest or a tag other
 * than latest.
 */
export function imagePinProblem(image: string | undefined): string | undefined {
  if (!image) return "has no image";
  if (image.includes("@sha256:")) return undefined;
  if (ecrImage.test(image))
    return `runs the project's image "${image}" by tag, not by digest (parley:imageDigest)`;
  const lastSegment = image.slice(image.lastIndexOf("/") + 1);
  const colon = lastSegment.indexOf(":");
  if (colon === -1) return `uses the untagged image "${image}"`;
  if (lastSegment.slice(colon + 1) === "latest") return `uses the mutable tag "latest" ("${image}")`;
  return undefined;
}

export const pinnedImages: ResourceValidationPolicy = {
  name: "k8s-image-pinned",
  description:
    "Images are pinned: the project's own (ECR) images to a digest, others to a digest or a tag other than latest. A rollout must be reproducible.",
  enforcementLevel: "mandatory",
  validateResource: validateAllPodSpecs((spec, _args, reportViolation) => {
    for (const container of containersOf(spec)) {
      const problem = imagePinProblem(container.image);
      if (problem) reportViolation(`Container "${container.name}" ${problem}.`);
    }
  }),
};

/** A container runs as non-root when it (or, failing that, its pod) says so and no one pins uid 0. */
function runsAsRoot(container: Container, podRunAsNonRoot: boolean | undefined, podUser: number | undefined) {
  const nonRoot = container.securityContext?.runAsNonRoot ?? podRunAsNonRoot;
  const user = container.securityContext?.runAsUser ?? podUser;
  return nonRoot !== true || user === 0;
}

export const nonRoot: ResourceValidationPolicy = {
  name: "k8s-run-as-non-root",
  description: "Containers run as a non-root user (runAsNonRoot: true, never uid 0).",
  enforcementLevel: "mandatory",
  validateResource: validateAllPodSpecs((spec, _args, reportViolation) => {
    for (const container of containersOf(spec)) {
      if (runsAsRoot(container, spec.securityContext?.runAsNonRoot, spec.securityContext?.runAsUser)) {
        reportViolation(
          `Container "${container.name}" may run as root: set runAsNonRoot: true and a non-zero uid.`,
        );
      }
    }
  }),
};

export const readOnlyRootFilesystem: ResourceValidationPolicy = {
  name: "k8s-read-only-root-filesystem",
  description: "Containers mount their root filesystem read-only; writable paths are explicit volumes.",
  enforcementLevel: "mandatory",
  validateResource: validateAllPodSpecs((spec, _args, reportViolation) => {
    for (const container of containersOf(spec)) {
      if (container.securityContext?.readOnlyRootFilesystem !== true) {
        reportViolation(`Container "${container.name}" does not set readOnlyRootFilesystem: true.`);
      }
    }
  }),
};

export const workloadPolicies = [
  resourceRequestsAndLimits,
  probes,
  pinnedImages,
  nonRoot,
  readOnlyRootFilesystem,
];
