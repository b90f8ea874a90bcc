/**
 * ElastiCache for Redis 7: a replication group with the scaling policy's node type and replicas,
 * Multi-AZ with automatic failover, TLS in transit and encryption at rest, an AUTH token generated
 * here (a Pulumi secret, also kept in Secrets Manager), LRU eviction, snapshots, slow-log to
 * CloudWatch, and a security group that admits only the cluster.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { StackName } from "../../contracts/stacks";
import { componentNaming, componentType } from "../naming";
import type { CacheProfile, DataProtection } from "../profile";
import type { CachePolicy } from "../scaling/policy";
import { clusterOnlySecurityGroup } from "./data-store-access";
import { rotatingKmsKey } from "./rotating-key";

export const redisPort = 6379;
export const redisEngineVersion = "7.1";

export interface CacheArgs {
  stack: StackName;
  vpcId: pulumi.Input<string>;
  /** The data subnets, one per AZ. */
  subnetIds: pulumi.Input<string>[];
  availabilityZoneNames: pulumi.Input<string[]>;
  /** The only security group admitted (the cluster's). */
  clientSecurityGroupId: pulumi.Input<string>;
  /** Node type and replicas, from the scaling policy. */
  policy: CachePolicy;
  /** Snapshots and windows (infra/profile.ts). */
  profile: CacheProfile;
  protection: DataProtection;
  logRetentionDays: number;
}

/** The AZ of each node (primary first), round-robin over the stack's AZs. */
export function cacheNodeZones(zones: string[], nodes: number): string[] {
  return [...Array(nodes).keys()].map((index) => zones[index % zones.length]);
}

export class Cache extends pulumi.ComponentResource {
  readonly primaryEndpoint: pulumi.Output<string>;
  readonly readerEndpoint: pulumi.Output<string>;
  readonly port: number = redisPort;
  /** Secret. */
  readonly authToken: pulumi.Output<string>;
  readonly authTokenSecretArn: pulumi.Output<string>;
  readonly securityGroupId: pulumi.Output<string>;
  /** The KMS key of the data and the credentials secret. */
  readonly kmsKeyArn: pulumi.Output<string>;

  constructor(name: string, args: CacheArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentType("Cache"), name, {}, opts);
    const n = componentNaming(name, args.stack, "cache");
    const parent = { parent: this };
    const { profile, protection } = args;
    if (args.policy.replicas < 1) {
      throw new Error(
        `the scaling policy's cache.replicas is ${args.policy.replicas}: Multi-AZ with automatic failover needs at least 1 replica`,
      );
    }
    const nodes = 1 + args.policy.replicas;

    const key = rotatingKmsKey(
      n,
      "key",
      "Encryption of Parley's Redis data, snapshots and AUTH token",
      parent,
    );
    this.kmsKeyArn = key.arn;

    const securityGroup = clusterOnlySecurityGroup(
      n,
      {
        vpcId: args.vpcId,
        clientSecurityGroupId: args.clientSecurityGroupId,
        port: redisPort,
        service: "Redis",
      },
      parent,
    );
    this.securityGroupId = securityGroup.id;

    const subnetGroup = new aws.elasticache.SubnetGroup(
      n.name("subnets"),
      { subnetIds: args.subnetIds, description: "Parley data subnets", tags: n.tags() },
      parent,
    );
    const parameterGroup = new aws.elasticache.ParameterGroup(
      n.name("params"),
      {
        family: "redis7",
        description: "Parley cache: evict least recently used keys when full",
        parameters: [{ name: "maxmemory-policy", value: "allkeys-lru" }],
        tags: n.tags(),
      },
      parent,
    );
    const slowLog = new aws.cloudwatch.LogGroup(
      n.name("slow-log"),
      {
        name: `/parley/${args.stack}/redis-slow-log`,
        retentionInDays: args.logRetentionDays,
        tags: n.tags(),
      },
      parent,
    );

    // ElastiCache AUTH tokens: 16-128 printable characters, no @, " or /; letters and digits are safe.
    const token = new random.RandomPassword(n.name("auth-token"), { length: 64, special: false }, parent);
    this.authToken = pulumi.secret(token.result);

    const group = new aws.elasticache.ReplicationGroup(
      n.name("redis"),
      {
        description: "Parley response cache, rate limits and idempotency keys",
        engine: "redis",
        engineVersion: redisEngineVersion,
        nodeType: args.policy.nodeType,
        numCacheClusters: nodes,
        preferredCacheClusterAzs: pulumi
          .output(args.availabilityZoneNames)
          .apply((zones) => cacheNodeZones(zones, nodes)),
        automaticFailoverEnabled: true,
        multiAzEnabled: true,
        port: redisPort,
        parameterGroupName: parameterGroup.name,
        subnetGroupName: subnetGroup.name,
        securityGroupIds: [securityGroup.id],
        atRestEncryptionEnabled: true,
        kmsKeyId: key.arn,
        transitEncryptionEnabled: true,
        authToken: this.authToken,
        snapshotRetentionLimit: profile.snapshotRetentionDays,
        snapshotWindow: profile.snapshotWindow,
        maintenanceWindow: profile.maintenanceWindow,
        finalSnapshotIdentifier: protection.finalSnapshot ? n.name("final") : undefined,
        autoMinorVersionUpgrade: true,
        applyImmediately: protection.applyImmediately,
        logDeliveryConfigurations: [
          {
            destination: slowLog.name,
            destinationType: "cloudwatch-logs",
            logFormat: "json",
            logType: "slow-log",
          },
        ],
        tags: n.tags(),
      },
      parent,
    );
    this.primaryEndpoint = group.primaryEndpointAddress;
    this.readerEndpoint = group.readerEndpointAddress;

    const secret = new aws.secretsmanager.Secret(
      n.name("auth-token-secret"),
      {
        description: "Parley Redis AUTH token",
        kmsKeyId: key.arn,
        recoveryWindowInDays: protection.secretRecoveryWindowDays,
        tags: n.tags(),
      },
      parent,
    );
    new aws.secretsmanager.SecretVersion(
      n.name("auth-token-value"),
      { secretId: secret.id, secretString: this.authToken },
      parent,
    );
    this.authTokenSecretArn = secret.arn;

    this.registerOutputs({
      primaryEndpoint: this.primaryEndpoint,
      readerEndpoint: this.readerEndpoint,
      authTokenSecretArn: this.authTokenSecretArn,
      securityGroupId: this.securityGroupId,
    });
  }
}
