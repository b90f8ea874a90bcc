import { describe, expect, it } from "vitest";
import { deployment, migrationJob } from "../../tests/support/policies/fixtures";
import { messages, mutate, planned } from "../../tests/support/policies/policyTest";
import {
  imagePinProblem,
  nonRoot,
  pinnedImages,
  probes,
  readOnlyRootFilesystem,
  resourceRequestsAndLimits,
  workloadPolicies,
} from "./workloads";

const deploymentType = "kubernetes:apps/v1:Deployment";
const jobType = "kubernetes:batch/v1:Job";
const container = "spec.template.spec.containers.0";

describe("Kubernetes workload policies", () => {
  it("pass the happy-path Deployment and migration Job", async () => {
    const resources = [planned(deploymentType, deployment), planned(jobType, migrationJob)];
    for (const policy of workloadPolicies) expect(await messages(policy, resources), policy.name).toEqual([]);
  });

  it("a container without a memory request", async () => {
    const r = planned(
      deploymentType,
      mutate(deployment, `${container}.resources.requests.memory`, undefined),
    );
    expect(await messages(resourceRequestsAndLimits, [r])).toEqual([
      'Container "app" has no requests for memory.',
    ]);
  });

  it("a Job container without limits", async () => {
    const r = planned(jobType, mutate(migrationJob, `${container}.resources.limits`, undefined));
    expect(await messages(resourceRequestsAndLimits, [r])).toEqual([
      'Container "app" has no limits for cpu and memory.',
    ]);
  });

  it("the required requests and limits come from the pack config", async () => {
    const r = planned(jobType, mutate(migrationJob, `${container}.resources.limits.cpu`, undefined));
    expect(await messages(resourceRequestsAndLimits, [r])).toEqual([
      'Container "app" has no limits for cpu.',
    ]);
    expect(await messages(resourceRequestsAndLimits, [r], { limits: ["memory"] })).toEqual([]);
  });

  it("no liveness probe", async () => {
    const r = planned(deploymentType, mutate(deployment, `${container}.livenessProbe`, undefined));
    expect(await messages(probes, [r])).toEqual(['Container "app" has no livenessProbe.']);
  });

  it("no readiness probe", async () => {
    const r = planned(deploymentType, mutate(deployment, `${container}.readinessProbe`, undefined));
    expect(await messages(probes, [r])).toEqual(['Container "app" has no readinessProbe.']);
  });

  it("Jobs need no probes", async () => {
    const r = planned(jobType, mutate(migrationJob, `${container}.readinessProbe`, undefined));
    expect(await messages(probes, [r])).toEqual([]);
  });

  it("the latest tag", async () => {
    const r = planned(deploymentType, mutate(deployment, `${container}.image`, "ghcr.io/parley/app:latest"));
    expect(await messages(pinnedImages, [r])).toEqual([
      'Container "app" uses the mutable tag "latest" ("ghcr.io/parley/app:latest").',
    ]);
  });

  it("an untagged image (a registry port is not a tag)", async () => {
    const r = planned(deploymentType, mutate(deployment, `${container}.image`, "registry.local:5000/parley"));
    expect(await messages(pinnedImages, [r])).toEqual([
      'Container "app" uses the untagged image "registry.local:5000/parley".',
    ]);
  });

  it("digests pin an image", () => {
    expect(imagePinProblem("parley@sha256:0123abcd")).toBeUndefined();
    expect(imagePinProblem("parley:1.2.3")).toBeUndefined();
  });

  it("the project's own ECR image by tag only (it must run the scanned, signed digest)", async () => {
    const ecr = "123456789012.dkr.ecr.us-east-1.amazonaws.com/parley-prod";
    expect(imagePinProblem(`${ecr}:sha-1a2b3c4d5e6f@sha256:${"ab".repeat(32)}`)).toBeUndefined();
    const r = planned(deploymentType, mutate(deployment, `${container}.image`, `${ecr}:sha-1a2b3c4d5e6f`));
    expect(await messages(pinnedImages, [r])).toEqual([
      `Container "app" runs the project's image "${ecr}:sha-1a2b3c4d5e6f" by tag, not by digest (parley:imageDigest).`,
    ]);
  });

  it("runAsNonRoot removed from the pod", async () => {
    const r = planned(
      deploymentType,
      mutate(deployment, "spec.template.spec.securityContext.runAsNonRoot", undefined),
    );
    expect(await messages(nonRoot, [r])).toEqual([
      'Container "app" may run as root: set runAsNonRoot: true and a non-zero uid.',
    ]);
  });

  it("a container pinned to uid 0", async () => {
    const r = planned(deploymentType, mutate(deployment, `${container}.securityContext.runAsUser`, 0));
    expect(await messages(nonRoot, [r])).toEqual([
      'Container "app" may run as root: set runAsNonRoot: true and a non-zero uid.',
    ]);
  });

  // A container's securityContext overrides its pod's where both set a field (Kubernetes, "Configure
  // a Security Context for a Pod or Container"), so the container's own setting decides.
  it("a container overriding its pod's runAsNonRoot with false", async () => {
    const r = planned(deploymentType, mutate(deployment, `${container}.securityContext.runAsNonRoot`, false));
    expect(await messages(nonRoot, [r])).toEqual([
      'Container "app" may run as root: set runAsNonRoot: true and a non-zero uid.',
    ]);
  });

  it("a container's own runAsNonRoot and uid stand in for the pod's", async () => {
    let spec = mutate(deployment, "spec.template.spec.securityContext", { runAsUser: 0 });
    spec = mutate(spec, `${container}.securityContext.runAsNonRoot`, true);
    spec = mutate(spec, `${container}.securityContext.runAsUser`, 10001);
    expect(await messages(nonRoot, [planned(deploymentType, spec)])).toEqual([]);
    // Without the container's uid, the pod's uid 0 applies.
    const rootUid = mutate(spec, `${container}.securityContext.runAsUser`, undefined);
    expect(await messages(nonRoot, [planned(deploymentType, rootUid)])).toEqual([
      'Container "app" may run as root: set runAsNonRoot: true and a non-zero uid.',
    ]);
  });

  it("a writable root filesystem", async () => {
    const r = planned(
      deploymentType,
      mutate(deployment, `${container}.securityContext.readOnlyRootFilesystem`, false),
    );
    expect(await messages(readOnlyRootFilesystem, [r])).toEqual([
      'Container "app" does not set readOnlyRootFilesystem: true.',
    ]);
  });
});
