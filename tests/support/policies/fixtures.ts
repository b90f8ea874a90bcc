/**
 * Happy-path resource inputs: each passes every policy that applies to it, so a test that mutates
 * one property sees exactly the violation that property causes.
 */
const tags = { project: "parley", stack: "prod", component: "test", "managed-by": "pulumi" };

export const rdsPrimary = {
  engine: "postgres",
  instanceClass: "db.r7g.large",
  storageEncrypted: true,
  publiclyAccessible: false,
  multiAz: true,
  deletionProtection: true,
  backupRetentionPeriod: 14,
  performanceInsightsEnabled: true,
  parameterGroupName: "parley-prod-database-pg16",
  availabilityZone: "eu-west-1a",
  tags,
};

export const rdsReplica = {
  replicateSourceDb: "parley-prod-database-primary",
  instanceClass: "db.r7g.large",
  storageEncrypted: true,
  publiclyAccessible: false,
  performanceInsightsEnabled: true,
  parameterGroupName: "parley-prod-database-pg16",
  availabilityZone: "eu-west-1b",
  tags,
};

export const rdsParameterGroup = {
  family: "postgres16",
  parameters: [
    { name: "shared_buffers", value: "{DBInstanceClassMemory/32768}", applyMethod: "pending-reboot" },
    { name: "rds.force_ssl", value: "1", applyMethod: "immediate" },
  ],
  tags,
};

export const cacheReplicationGroup = {
  description: "Parley cache",
  engine: "valkey",
  nodeType: "cache.r7g.large",
  numCacheClusters: 3,
  atRestEncryptionEnabled: true,
  transitEncryptionEnabled: true,
  authToken: "a-long-generated-token",
  automaticFailoverEnabled: true,
  multiAzEnabled: true,
  tags,
};

export const eksCluster = {
  encryptionConfig: {
    provider: { keyArn: "arn:aws:kms:eu-west-1:123456789012:key/abc" },
    resources: ["secrets"],
  },
  enabledClusterLogTypes: ["api", "audit", "authenticator", "controllerManager", "scheduler"],
  vpcConfig: {
    subnetIds: ["subnet-a", "subnet-b", "subnet-c"],
    endpointPrivateAccess: true,
    endpointPublicAccess: true,
    publicAccessCidrs: ["203.0.113.0/24"],
  },
  tags,
};

export const securityGroup = {
  description: "load balancer",
  ingress: [
    { protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["173.245.48.0/20"] },
    { protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] },
  ],
  egress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }],
  tags,
};

export const kmsKey = { description: "EKS secrets", enableKeyRotation: true, tags };

export const subnet = (availabilityZone: string) => ({
  vpcId: "vpc-1",
  cidrBlock: "10.0.0.0/20",
  availabilityZone,
  tags,
});

const labels = { app: "parley" };

export const deployment = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "parley", namespace: "parley", labels },
  spec: {
    selector: { matchLabels: labels },
    template: {
      metadata: { labels },
      spec: {
        securityContext: { runAsNonRoot: true, runAsUser: 10001 },
        topologySpreadConstraints: [
          { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway" },
        ],
        containers: [
          {
            name: "app",
            image: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/parley:0.1.0@sha256:${"0".repeat(64)}`,
            resources: { requests: { cpu: "500m", memory: "512Mi" }, limits: { cpu: "1", memory: "1Gi" } },
            livenessProbe: { httpGet: { path: "/healthz", port: 3000 } },
            readinessProbe: { httpGet: { path: "/readyz", port: 3000 } },
            securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false },
          },
        ],
      },
    },
  },
};

export const migrationJob = {
  apiVersion: "batch/v1",
  kind: "Job",
  metadata: { name: "parley-migrate", namespace: "parley" },
  spec: { template: deployment.spec.template },
};

export const hpa = {
  apiVersion: "autoscaling/v2",
  kind: "HorizontalPodAutoscaler",
  metadata: { name: "parley", namespace: "parley" },
  spec: {
    scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "parley" },
    minReplicas: 3,
    maxReplicas: 30,
  },
};

export const pdb = {
  apiVersion: "policy/v1",
  kind: "PodDisruptionBudget",
  metadata: { name: "parley", namespace: "parley" },
  spec: { maxUnavailable: 1, selector: { matchLabels: labels } },
};

export const service = {
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "parley", namespace: "parley" },
  spec: { type: "ClusterIP", selector: labels, ports: [{ port: 80, targetPort: 3000 }] },
};

const zoneId = "0123456789abcdef0123456789abcdef";

export const sslSetting = { zoneId, settingId: "ssl", value: "strict" };
export const minTlsSetting = { zoneId, settingId: "min_tls_version", value: "1.2" };

export const rateLimitRuleset = {
  zoneId,
  name: "parley rate limits",
  kind: "zone",
  phase: "http_ratelimit",
  rules: [
    {
      action: "block",
      expression: '(starts_with(http.request.uri.path, "/api/"))',
      ratelimit: {
        characteristics: ["ip.src", "cf.colo.id"],
        period: 60,
        requestsPerPeriod: 600,
        mitigationTimeout: 60,
      },
      enabled: true,
    },
  ],
};
