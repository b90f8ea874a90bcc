/**
 * Pod templates as the policies see them: every workload kind that carries one, reduced to its pod
 * spec, so a container rule is written once and applies to Deployments, StatefulSets, DaemonSets,
 * Jobs and CronJobs alike.
 */
import * as k8s from "@pulumi/kubernetes";
import {
  type ReportViolation,
  type ResourceValidation,
  type ResourceValidationArgs,
  validateResourceOfType,
} from "@pulumi/policy";
import type * as pulumi from "@pulumi/pulumi";

export type PodSpec = pulumi.Unwrap<k8s.types.input.core.v1.PodSpec>;
export type Container = pulumi.Unwrap<k8s.types.input.core.v1.Container>;
export type LabelSelector = pulumi.Unwrap<k8s.types.input.meta.v1.LabelSelector>;

type PodSpecValidation = (
  spec: PodSpec,
  args: ResourceValidationArgs,
  reportViolation: ReportViolation,
) => void;

/** Workloads that run until replaced (they serve traffic, so probes apply). */
export function validateLongRunningPodSpecs(validate: PodSpecValidation): ResourceValidation[] {
  const check = (spec: PodSpec | undefined, args: ResourceValidationArgs, report: ReportViolation) => {
    if (spec) validate(spec, args, report);
  };
  return [
    validateResourceOfType(k8s.apps.v1.Deployment, (d, args, report) =>
      check(d.spec?.template?.spec, args, report),
    ),
    validateResourceOfType(k8s.apps.v1.StatefulSet, (s, args, report) =>
      check(s.spec?.template?.spec, args, report),
    ),
    validateResourceOfType(k8s.apps.v1.DaemonSet, (d, args, report) =>
      check(d.spec?.template?.spec, args, report),
    ),
  ];
}

/** Every workload kind with a pod template, batch ones included. */
export function validateAllPodSpecs(validate: PodSpecValidation): ResourceValidation[] {
  const check = (spec: PodSpec | undefined, args: ResourceValidationArgs, report: ReportViolation) => {
    if (spec) validate(spec, args, report);
  };
  return [
    ...validateLongRunningPodSpecs(validate),
    validateResourceOfType(k8s.batch.v1.Job, (j, args, report) =>
      check(j.spec?.template?.spec, args, report),
    ),
    validateResourceOfType(k8s.batch.v1.CronJob, (c, args, report) =>
      check(c.spec?.jobTemplate?.spec?.template?.spec, args, report),
    ),
  ];
}

/** Init containers and app containers: both run the pod's code, both obey the container rules. */
export function containersOf(spec: PodSpec): Container[] {
  return [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
}

/** True when every matchLabels entry of the selector is among the labels. */
export function selectorMatches(
  selector: LabelSelector | undefined,
  labels: Record<string, string>,
): boolean {
  const matchLabels = selector?.matchLabels ?? {};
  const entries = Object.entries(matchLabels);
  return entries.length > 0 && entries.every(([key, value]) => labels[key] === value);
}
