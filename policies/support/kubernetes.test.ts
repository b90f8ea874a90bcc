import type { ResourceValidationPolicy } from "@pulumi/policy";
import { describe, expect, it } from "vitest";
import { messages, planned } from "../../tests/support/policies/policyTest";
import {
  containersOf,
  type PodSpec,
  selectorMatches,
  validateAllPodSpecs,
  validateLongRunningPodSpecs,
} from "./kubernetes";

/** A policy that reports the first container's name of every pod spec it is handed. */
const namingPolicy = (validate: typeof validateAllPodSpecs): ResourceValidationPolicy => ({
  name: "names-pod-specs",
  description: "reports every pod spec it sees",
  enforcementLevel: "mandatory",
  validateResource: validate((spec, _args, report) => report(`saw ${containersOf(spec)[0]?.name}`)),
});

const podSpec = (name: string): PodSpec => ({ containers: [{ name, image: name }] });
const template = (name: string) => ({ template: { spec: podSpec(name) } });

const workloads = () => [
  planned("kubernetes:apps/v1:Deployment", { spec: template("deployment") }),
  planned("kubernetes:apps/v1:StatefulSet", { spec: template("statefulset") }),
  planned("kubernetes:apps/v1:DaemonSet", { spec: template("daemonset") }),
  planned("kubernetes:batch/v1:Job", { spec: template("job") }),
  planned("kubernetes:batch/v1:CronJob", { spec: { jobTemplate: { spec: template("cronjob") } } }),
  planned("kubernetes:core/v1:Pod", { spec: podSpec("bare-pod") }),
];

/** Each kind without the fields on the way to its pod spec. */
const hollowWorkloads = () => [
  planned("kubernetes:apps/v1:Deployment", {}),
  planned("kubernetes:apps/v1:Deployment", { spec: {} }),
  planned("kubernetes:apps/v1:StatefulSet", {}),
  planned("kubernetes:apps/v1:StatefulSet", { spec: {} }),
  planned("kubernetes:apps/v1:DaemonSet", {}),
  planned("kubernetes:apps/v1:DaemonSet", { spec: {} }),
  planned("kubernetes:batch/v1:Job", {}),
  planned("kubernetes:batch/v1:Job", { spec: {} }),
  planned("kubernetes:batch/v1:CronJob", {}),
  planned("kubernetes:batch/v1:CronJob", { spec: {} }),
  planned("kubernetes:batch/v1:CronJob", { spec: { jobTemplate: {} } }),
  planned("kubernetes:batch/v1:CronJob", { spec: { jobTemplate: { spec: {} } } }),
];

describe("validateAllPodSpecs and validateLongRunningPodSpecs", () => {
  it("hand every workload kind's pod spec to the rule; long-running ones leave out Jobs and CronJobs", async () => {
    expect(await messages(namingPolicy(validateAllPodSpecs), workloads())).toEqual([
      "saw deployment",
      "saw statefulset",
      "saw daemonset",
      "saw job",
      "saw cronjob",
    ]);
    expect(await messages(namingPolicy(validateLongRunningPodSpecs), workloads())).toEqual([
      "saw deployment",
      "saw statefulset",
      "saw daemonset",
    ]);
  });

  it("skip a workload without a pod template instead of failing the run", async () => {
    expect(await messages(namingPolicy(validateAllPodSpecs), hollowWorkloads())).toEqual([]);
  });
});

describe("containersOf", () => {
  it("lists init containers first, then the app's, and copes with either missing", () => {
    const init = { name: "migrate", image: "app" };
    const app = { name: "app", image: "app" };
    expect(containersOf({ initContainers: [init], containers: [app] })).toEqual([init, app]);
    expect(containersOf({ containers: [app] })).toEqual([app]);
    expect(containersOf({} as PodSpec)).toEqual([]);
  });
});

describe("selectorMatches", () => {
  const labels = { app: "parley", tier: "api" };

  it("matches when every matchLabels entry is among the labels", () => {
    expect(selectorMatches({ matchLabels: { app: "parley" } }, labels)).toBe(true);
    expect(selectorMatches({ matchLabels: { app: "parley", tier: "api" } }, labels)).toBe(true);
  });

  it("does not match a differing or missing label, an empty selector, or none", () => {
    expect(selectorMatches({ matchLabels: { app: "parley", tier: "worker" } }, labels)).toBe(false);
    expect(selectorMatches({ matchLabels: { app: "parley", zone: "a" } }, labels)).toBe(false);
    expect(selectorMatches({ matchLabels: {} }, labels)).toBe(false);
    expect(selectorMatches({}, labels)).toBe(false);
    expect(selectorMatches(undefined, labels)).toBe(false);
  });
});
