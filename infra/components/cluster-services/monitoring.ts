/**
 * kube-prometheus-stack (Prometheus, Alertmanager, Grafana, the operator and its CRDs) and
 * prometheus-adapter, which turns the app's request counter into the per-pod custom metric the HPA
 * scales on.
 */
import { hpaRequestRateMetric, metrics } from "../../../contracts/metrics";
import { grafanaDashboardLabel } from "../observability/grafana";

export const monitoringNamespace = "monitoring";

/** The Helm release name; the chart names its Services after it. */
export const monitoringReleaseName = "kube-prometheus-stack";

/** In-cluster Services of the monitoring stack (port-forward targets, the adapter's Prometheus URL). */
export const monitoringServices = {
  prometheus: { name: `${monitoringReleaseName}-prometheus`, port: 9090 },
  alertmanager: { name: `${monitoringReleaseName}-alertmanager`, port: 9093 },
  grafana: { name: `${monitoringReleaseName}-grafana`, port: 80 },
} as const;

export interface MonitoringSizing {
  /** How long Prometheus keeps samples, in Prometheus duration syntax (e.g. `15d`). */
  retention: string;
  /** Size of Prometheus's persistent volume. */
  storageGiB: number;
}

interface VolumeClaimTemplate {
  volumeClaimTemplate: {
    spec: {
      storageClassName: string;
      accessModes: ["ReadWriteOnce"];
      resources: { requests: { storage: string } };
    };
  };
}

/** A PodDisruptionBudget the chart creates for Prometheus or Alertmanager. */
interface ChartPdb {
  enabled: boolean;
  minAvailable: 1;
}

/** How the operator spreads the replicas: "hard" requires distinct values of the topology key. */
interface AntiAffinity {
  podAntiAffinity: "hard" | "soft";
  podAntiAffinityTopologyKey: string;
}

export interface KubePrometheusStackValues {
  prometheus: {
    podDisruptionBudget: ChartPdb;
    prometheusSpec: AntiAffinity & {
      replicas: number;
      retention: string;
      retentionSize: string;
      scrapeInterval: string;
      evaluationInterval: string;
      serviceMonitorSelectorNilUsesHelmValues: false;
      podMonitorSelectorNilUsesHelmValues: false;
      ruleSelectorNilUsesHelmValues: false;
      storageSpec: VolumeClaimTemplate;
      resources: { requests: { cpu: string; memory: string }; limits: { memory: string } };
    };
  };
  /**
   * Off: the chart's "general" group (its Watchdog, InfoInhibitor and a generic TargetDown: the
   * project's rules have their own Watchdog, routed to the dead man's switch, and ParleyTargetDown),
   * and the rule groups of the control-plane components EKS hides. `disabled` drops the chart's
   * alerts that duplicate Parley's own (ParleyHPAMaxedOut, ParleyNodeDiskLow). The other default
   * groups stay (its dashboards use them).
   */
  defaultRules: {
    rules: {
      general: false;
      etcd: false;
      kubeControllerManager: false;
      kubeSchedulerAlerting: false;
      kubeSchedulerRecording: false;
      kubeProxy: false;
    };
    disabled: Record<(typeof duplicatedChartAlerts)[number], true>;
  };
  /**
   * Control-plane components EKS runs out of reach: no controller-manager, scheduler or etcd target
   * exists, and kube-proxy serves metrics on 127.0.0.1 only (prometheus-community/helm-charts#977,
   * aws/containers-roadmap#657). Scraping them would only make their "down" alerts fire forever.
   */
  kubeControllerManager: { enabled: false };
  kubeScheduler: { enabled: false };
  kubeEtcd: { enabled: false };
  kubeProxy: { enabled: false };
  alertmanager: {
    podDisruptionBudget: ChartPdb;
    config: Record<string, unknown>;
    alertmanagerSpec: AntiAffinity & {
      replicas: number;
      storage: VolumeClaimTemplate;
      volumes: Array<{ name: string; secret: { secretName: string } }>;
      volumeMounts: Array<{ name: string; mountPath: string; readOnly: true }>;
    };
  };
  grafana: {
    /** The admin credentials come from a Secret: no secret ever sits in the release's values. */
    admin: { existingSecret: string; userKey: string; passwordKey: string };
    defaultDashboardsTimezone: "utc";
    sidecar: {
      dashboards: { enabled: true; label: string; labelValue: string; searchNamespace: "ALL" };
    };
  };
}

/** The chart's alerts Parley's own rules already raise. */
const duplicatedChartAlerts = [
  "KubeHpaMaxedOut",
  "NodeFilesystemAlmostOutOfSpace",
  "NodeFilesystemSpaceFillingUp",
] as const;

export interface KubePrometheusStackInput extends MonitoringSizing {
  /**
   * Prod: two Prometheus replicas (each scrapes and evaluates everything; Alertmanager deduplicates
   * their alerts) and two Alertmanagers, in different zones, each pair guarded by a
   * PodDisruptionBudget. Otherwise one Prometheus.
   */
  highlyAvailable: boolean;
  storageClassName: string;
  /** The rendered Alertmanager configuration (routing; receivers read secrets from files). */
  alertmanagerConfig: Record<string, unknown>;
  /** The Secret holding the receivers' secret files and the directory the config expects them in (if any). */
  alertmanagerSecretMount?: { secretName: string; mountPath: string };
  /** The Secret holding Grafana's admin user and password (keys `grafanaAdminKeys`). */
  grafanaAdminSecret: string;
}

function receiverSecretVolume(mount: KubePrometheusStackInput["alertmanagerSecretMount"]) {
  if (!mount) return { volumes: [], volumeMounts: [] };
  return {
    volumes: [{ name: "receiver-secrets", secret: { secretName: mount.secretName } }],
    volumeMounts: [{ name: "receiver-secrets", mountPath: mount.mountPath, readOnly: true as const }],
  };
}

export const grafanaAdminKeys = { userKey: "admin-user", passwordKey: "admin-password" } as const;

/** Keep 15% of the volume free: Prometheus deletes old blocks by size before the disk fills. */
const retentionSizeFraction = 0.85;

function volume(storageClassName: string, storageGiB: number): VolumeClaimTemplate {
  return {
    volumeClaimTemplate: {
      spec: {
        storageClassName,
        accessModes: ["ReadWriteOnce"],
        resources: { requests: { storage: `${storageGiB}Gi` } },
      },
    },
  };
}

/** Replicas in different zones, so one zone's outage leaves one running. */
const acrossZones: AntiAffinity = {
  podAntiAffinity: "hard",
  podAntiAffinityTopologyKey: "topology.kubernetes.io/zone",
};

/**
 * Prometheus picks up every ServiceMonitor and PrometheusRule in the cluster (not only the chart's),
 * Alertmanager runs the project's rendered routing with two replicas (they deduplicate
 * notifications), and Grafana loads every labelled dashboard ConfigMap.
 */
export function kubePrometheusStackValues(input: KubePrometheusStackInput): KubePrometheusStackValues {
  const pdb: ChartPdb = { enabled: input.highlyAvailable, minAvailable: 1 };
  return {
    prometheus: {
      podDisruptionBudget: pdb,
      prometheusSpec: {
        ...acrossZones,
        replicas: input.highlyAvailable ? 2 : 1,
        retention: input.retention,
        retentionSize: `${Math.floor(input.storageGiB * retentionSizeFraction)}GB`,
        scrapeInterval: "15s",
        evaluationInterval: "15s",
        serviceMonitorSelectorNilUsesHelmValues: false,
        podMonitorSelectorNilUsesHelmValues: false,
        ruleSelectorNilUsesHelmValues: false,
        storageSpec: volume(input.storageClassName, input.storageGiB),
        resources: { requests: { cpu: "500m", memory: "2Gi" }, limits: { memory: "4Gi" } },
      },
    },
    defaultRules: {
      rules: {
        general: false,
        etcd: false,
        kubeControllerManager: false,
        kubeSchedulerAlerting: false,
        kubeSchedulerRecording: false,
        kubeProxy: false,
      },
      disabled: Object.fromEntries(duplicatedChartAlerts.map((alert) => [alert, true] as const)) as Record<
        (typeof duplicatedChartAlerts)[number],
        true
      >,
    },
    kubeControllerManager: { enabled: false },
    kubeScheduler: { enabled: false },
    kubeEtcd: { enabled: false },
    kubeProxy: { enabled: false },
    alertmanager: {
      podDisruptionBudget: pdb,
      config: input.alertmanagerConfig,
      alertmanagerSpec: {
        ...acrossZones,
        replicas: 2,
        storage: volume(input.storageClassName, 5),
        ...receiverSecretVolume(input.alertmanagerSecretMount),
      },
    },
    grafana: {
      admin: { existingSecret: input.grafanaAdminSecret, ...grafanaAdminKeys },
      defaultDashboardsTimezone: "utc",
      sidecar: {
        dashboards: {
          enabled: true,
          label: grafanaDashboardLabel.key,
          labelValue: grafanaDashboardLabel.value,
          searchNamespace: "ALL",
        },
      },
    },
  };
}

/** Local port of each port-forward: Grafana on 3000, the others on their own ports. */
const localPorts = { prometheus: 9090, alertmanager: 9093, grafana: 3000 } as const;

export interface MonitoringAccess {
  url: string;
  portForward: string;
}

/**
 * How an operator reaches the monitoring UIs: none is exposed outside the cluster; a port-forward
 * (with cluster credentials from the stack's kubeconfig) makes each one local.
 */
export function monitoringAccess(): Record<keyof typeof monitoringServices, MonitoringAccess> {
  const access = (service: keyof typeof monitoringServices): MonitoringAccess => ({
    url: `http://localhost:${localPorts[service]}`,
    portForward: `kubectl -n ${monitoringNamespace} port-forward svc/${monitoringServices[service].name} ${localPorts[service]}:${monitoringServices[service].port}`,
  });
  return {
    prometheus: access("prometheus"),
    alertmanager: access("alertmanager"),
    grafana: access("grafana"),
  };
}

export interface AdapterRule {
  seriesQuery: string;
  resources: { overrides: Record<"namespace" | "pod", { resource: string }> };
  name: { matches: string; as: string };
  metricsQuery: string;
}

export interface PrometheusAdapterValues {
  replicas: number;
  prometheus: { url: string; port: number };
  rules: { default: false; custom: AdapterRule[] };
}

/**
 * The HPA's request-rate metric: the per-pod rate of the app's request counter. Resource metrics
 * (CPU, memory) come from metrics-server, so the adapter serves custom metrics only.
 */
export function requestRateRule(): AdapterRule {
  const counter = metrics.httpRequests.name;
  return {
    seriesQuery: `${counter}{namespace!="",pod!=""}`,
    resources: { overrides: { namespace: { resource: "namespace" }, pod: { resource: "pod" } } },
    name: { matches: `^${counter}$`, as: hpaRequestRateMetric },
    metricsQuery: "sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)",
  };
}

export function prometheusAdapterValues(): PrometheusAdapterValues {
  const prometheus = monitoringServices.prometheus;
  return {
    replicas: 2,
    prometheus: { url: `http://${prometheus.name}.${monitoringNamespace}.svc`, port: prometheus.port },
    rules: { default: false, custom: [requestRateRule()] },
  };
}
