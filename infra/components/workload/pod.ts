/**
 * The app's pod: one hardened container (non-root, read-only root filesystem, no capabilities),
 * probes on /healthz and /readyz, resources from the scaling policy, spread across zones.
 */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { defaultPort } from "../../../contracts/environment";
import { scrapeJob } from "../../../contracts/metrics";
import { containerResources } from "../../scaling/kubernetes";
import type { ScalingPolicy } from "../../scaling/policy";
import { preStopSleepSeconds, terminationGracePeriodSeconds } from "./draining";

type Container = k8s.types.input.core.v1.Container;
type EnvVar = k8s.types.input.core.v1.EnvVar;
type PodSpec = k8s.types.input.core.v1.PodSpec;

/** The container is named after the scrape job: the pod CPU/memory alerts select `container="parley"`. */
export const containerName = scrapeJob;
/** The container port: the app's default, also passed to it explicitly as PORT. */
export const appPort = defaultPort;
export const portName = "http";
/**
 * Prometheus text format on its own port (METRICS_PORT), never routed by the Ingress; only
 * Prometheus's namespace may reach it (network-policies.ts). 9464 is the port OpenTelemetry's
 * Prometheus exporter registered; nothing else in the pod uses it.
 */
export const metricsPort = 9464;
export const metricsPortName = "metrics";

/** The image's `node` user (uid 1000 in the official Node.js images). */
const runAsUser = 1000;

const startupProbePeriodSeconds = 2;

export const podSecurityContext: k8s.types.input.core.v1.PodSecurityContext = {
  runAsNonRoot: true,
  runAsUser,
  runAsGroup: runAsUser,
  fsGroup: runAsUser,
  seccompProfile: { type: "RuntimeDefault" },
};

export const containerSecurityContext: k8s.types.input.core.v1.SecurityContext = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ["ALL"] },
};

/** The only writable path: Node.js and its libraries may write temporary files. */
const tmpVolume = { name: "tmp", mountPath: "/tmp" };

export interface AppContainerInput {
  policy: ScalingPolicy;
  image: pulumi.Input<string>;
  env: EnvVar[];
}

/** The long-running app container. */
export function appContainer(input: AppContainerInput): Container {
  const httpGet = (path: string) => ({ path, port: portName });
  return {
    name: containerName,
    image: input.image,
    ports: [
      { name: portName, containerPort: appPort, protocol: "TCP" },
      { name: metricsPortName, containerPort: metricsPort, protocol: "TCP" },
    ],
    env: input.env,
    resources: containerResources(input.policy),
    securityContext: containerSecurityContext,
    volumeMounts: [tmpVolume],
    // Three times the policy's startup time before the kubelet gives up on a new pod.
    startupProbe: {
      httpGet: httpGet("/healthz"),
      periodSeconds: startupProbePeriodSeconds,
      failureThreshold: Math.ceil((3 * input.policy.pods.startupSeconds) / startupProbePeriodSeconds),
    },
    readinessProbe: { httpGet: httpGet("/readyz"), periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 2 },
    livenessProbe: {
      httpGet: httpGet("/healthz"),
      periodSeconds: 10,
      timeoutSeconds: 2,
      failureThreshold: 3,
    },
    lifecycle: { preStop: { sleep: { seconds: preStopSleepSeconds } } },
  };
}

export interface AppPodInput {
  serviceAccountName: pulumi.Input<string>;
  containers: Container[];
  selector: Record<string, string>;
  /** Karpenter NodePool the app runs on. */
  nodeSelector: Record<string, string>;
  restartPolicy?: "Always" | "Never";
}

/**
 * Zones are a hard spread (Karpenter launches a node in the zone that needs one); hosts a soft one.
 * `matchLabelKeys` spreads each ReplicaSet on its own, so rollouts stay balanced too.
 */
export function appPodSpec(input: AppPodInput): PodSpec {
  const spread = (topologyKey: string, whenUnsatisfiable: "DoNotSchedule" | "ScheduleAnyway") => ({
    maxSkew: 1,
    topologyKey,
    whenUnsatisfiable,
    labelSelector: { matchLabels: input.selector },
    matchLabelKeys: ["pod-template-hash"],
  });
  return {
    serviceAccountName: input.serviceAccountName,
    // Pod Identity injects its own token; the app never talks to the Kubernetes API.
    automountServiceAccountToken: false,
    securityContext: podSecurityContext,
    terminationGracePeriodSeconds,
    nodeSelector: input.nodeSelector,
    topologySpreadConstraints: [
      spread("topology.kubernetes.io/zone", "DoNotSchedule"),
      spread("kubernetes.io/hostname", "ScheduleAnyway"),
    ],
    containers: input.containers,
    volumes: [{ name: tmpVolume.name, emptyDir: { sizeLimit: "256Mi" } }],
    restartPolicy: input.restartPolicy,
  };
}
