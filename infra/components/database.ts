/**
 * RDS PostgreSQL 16: a primary (Multi-AZ where the stack's profile asks for it) and the scaling policy's number of read replicas,
 * each in its own AZ, behind one private DNS name for readers; tuned parameter group, encrypted
 * storage with autoscaling, Performance Insights, enhanced monitoring, backups, and a security group
 * that admits only the cluster.
 *
 * The master password is generated here (a Pulumi secret) and kept in a Secrets Manager secret.
 * RDS's own managed master password (`manageMasterUserPassword`) cannot be used: RDS rejects read
 * replicas of a source whose master password it manages (all engines but SQL Server).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { StackName } from "../../contracts/stacks";
import { componentNaming, componentType } from "../naming";
import type { DatabaseProfile, DataProtection } from "../profile";
import type { ScalingPolicy } from "../scaling/policy";
import { clusterOnlySecurityGroup } from "./data-store-access";
import { postgresParameters } from "./database-tuning";
import { rotatingKmsKey } from "./rotating-key";

export const postgresMajorVersion = "16";
export const postgresPort = 5432;
export const masterUsername = "parley_admin";

export interface DatabaseArgs {
  stack: StackName;
  vpcId: pulumi.Input<string>;
  /** The data subnets, one per AZ. */
  subnetIds: pulumi.Input<string>[];
  availabilityZoneNames: pulumi.Input<string[]>;
  /** The only security group admitted (the cluster's). */
  clientSecurityGroupId: pulumi.Input<string>;
  databaseName: string;
  /** Multi-AZ, monitoring, backups and windows (infra/profile.ts). */
  profile: DatabaseProfile;
  protection: DataProtection;
  /** Instance class, replica count, storage and the connection budget come from the scaling policy. */
  policy: ScalingPolicy;
}

/** Which AZ each read replica goes in: one replica per AZ, so an AZ outage takes at most one. */
export function replicaZones(zones: string[], replicas: number): string[] {
  if (replicas > zones.length) {
    throw new Error(
      `the scaling policy asks for ${replicas} read replicas but the stack spans ${zones.length} AZs: replicas must sit in different AZs`,
    );
  }
  return zones.slice(0, replicas);
}

export class Database extends pulumi.ComponentResource {
  readonly primaryEndpoint: pulumi.Output<string>;
  /** One DNS name over every read replica (weighted records in a private zone). */
  readonly readerEndpoint: pulumi.Output<string>;
  readonly replicaEndpoints: pulumi.Output<string>[];
  readonly port: number = postgresPort;
  readonly databaseName: string;
  readonly username: string = masterUsername;
  /** Secret. */
  readonly password: pulumi.Output<string>;
  /** Secrets Manager secret holding username, password, host, port and database name. */
  readonly credentialsSecretArn: pulumi.Output<string>;
  readonly securityGroupId: pulumi.Output<string>;
  /** The KMS key of the data and the credentials secret. */
  readonly kmsKeyArn: pulumi.Output<string>;

  constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentType("Database"), name, {}, opts);
    const n = componentNaming(name, args.stack, "database");
    const parent = { parent: this };
    const { profile, protection } = args;
    const { database } = args.policy;
    this.databaseName = args.databaseName;

    const key = rotatingKmsKey(
      n,
      "key",
      "Encryption of Parley's database storage, Performance Insights and credentials",
      parent,
    );
    this.kmsKeyArn = key.arn;

    const securityGroup = clusterOnlySecurityGroup(
      n,
      {
        vpcId: args.vpcId,
        clientSecurityGroupId: args.clientSecurityGroupId,
        port: postgresPort,
        service: "PostgreSQL",
      },
      parent,
    );
    this.securityGroupId = securityGroup.id;

    const subnetGroup = new aws.rds.SubnetGroup(
      n.name("subnets"),
      { subnetIds: args.subnetIds, description: "Parley data subnets", tags: n.tags() },
      parent,
    );

    const parameterGroup = new aws.rds.ParameterGroup(
      n.name("params"),
      {
        family: `postgres${postgresMajorVersion}`,
        description: `Parley PostgreSQL ${postgresMajorVersion} tuned for ${database.instanceClass}`,
        parameters: postgresParameters(args.policy),
        tags: n.tags(),
      },
      parent,
    );

    const monitoringRole = new aws.iam.Role(
      n.name("monitoring-role"),
      {
        assumeRolePolicy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Principal: { Service: "monitoring.rds.amazonaws.com" },
              Action: "sts:AssumeRole",
            },
          ],
        }),
        tags: n.tags(),
      },
      parent,
    );
    const monitoringPolicy = new aws.iam.RolePolicyAttachment(
      n.name("monitoring-role-policy"),
      {
        role: monitoringRole.name,
        policyArn: "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole",
      },
      parent,
    );

    const password = new random.RandomPassword(
      n.name("master-password"),
      { length: 40, special: false },
      parent,
    );
    this.password = pulumi.secret(password.result);

    // What every instance shares: monitoring, insights, parameters, network, encryption.
    const common = {
      instanceClass: database.instanceClass,
      parameterGroupName: parameterGroup.name,
      vpcSecurityGroupIds: [securityGroup.id],
      publiclyAccessible: false,
      storageType: "gp3",
      storageEncrypted: true,
      kmsKeyId: key.arn,
      maxAllocatedStorage: database.maxAllocatedStorageGiB,
      performanceInsightsEnabled: true,
      performanceInsightsKmsKeyId: key.arn,
      performanceInsightsRetentionPeriod: 7,
      monitoringInterval: profile.monitoringIntervalSeconds,
      monitoringRoleArn: monitoringRole.arn,
      autoMinorVersionUpgrade: true,
      caCertIdentifier: "rds-ca-rsa2048-g1",
      enabledCloudwatchLogsExports: ["postgresql", "upgrade"],
      copyTagsToSnapshot: true,
      deletionProtection: protection.deletionProtection,
      applyImmediately: protection.applyImmediately,
    };

    // A fixed final-snapshot name fails the second replace or destroy ("DBSnapshotAlreadyExists"):
    // the suffix is renewed whenever the primary is (its keepers are the inputs that force a new
    // instance), and a recreated stack starts with a new one.
    const finalSnapshotSuffix = new random.RandomId(
      n.name("final-snapshot-suffix"),
      {
        byteLength: 4,
        keepers: {
          engine: "postgres",
          dbName: args.databaseName,
          username: masterUsername,
          kmsKeyId: key.arn,
          storageEncrypted: "true",
        },
      },
      parent,
    );

    const primary = new aws.rds.Instance(
      n.name("primary"),
      {
        ...common,
        engine: "postgres",
        engineVersion: postgresMajorVersion,
        multiAz: profile.multiAz,
        dbName: args.databaseName,
        username: masterUsername,
        password: this.password,
        port: postgresPort,
        dbSubnetGroupName: subnetGroup.name,
        allocatedStorage: database.allocatedStorageGiB,
        backupRetentionPeriod: profile.backupRetentionDays,
        backupWindow: profile.backupWindow,
        maintenanceWindow: profile.maintenanceWindow,
        skipFinalSnapshot: !protection.finalSnapshot,
        finalSnapshotIdentifier: protection.finalSnapshot
          ? pulumi.interpolate`${n.name("final")}-${finalSnapshotSuffix.hex}`
          : undefined,
        deleteAutomatedBackups: !protection.finalSnapshot,
        tags: n.tags({ role: "primary" }),
      },
      { parent: this, dependsOn: [monitoringPolicy] },
    );
    this.primaryEndpoint = primary.address;

    const zones = pulumi
      .output(args.availabilityZoneNames)
      .apply((names) => replicaZones(names, database.readReplicas));
    const replicas = [...Array(database.readReplicas).keys()].map(
      (index) =>
        new aws.rds.Instance(
          n.name("replica", String(index)),
          {
            ...common,
            replicateSourceDb: primary.identifier,
            availabilityZone: zones.apply((names) => names[index]),
            // A replica is rebuilt from the primary; it keeps no backups and needs no final snapshot.
            backupRetentionPeriod: 0,
            skipFinalSnapshot: true,
            tags: n.tags({ role: "replica" }),
          },
          { parent: this, dependsOn: [monitoringPolicy] },
        ),
    );
    this.replicaEndpoints = replicas.map((replica) => replica.address);

    const zone = new aws.route53.Zone(
      n.name("dns"),
      {
        name: `db.${args.stack}.parley.internal`,
        comment: "Private names of Parley's database endpoints",
        vpcs: [{ vpcId: args.vpcId }],
        forceDestroy: protection.forceDestroyContents,
        tags: n.tags(),
      },
      parent,
    );
    const readerName = pulumi.interpolate`reader.${zone.name}`;
    // Equal weights spread new connections over the replicas; a short TTL lets a change land quickly.
    replicas.forEach((replica, index) => {
      new aws.route53.Record(
        n.name("reader", String(index)),
        {
          zoneId: zone.zoneId,
          name: readerName,
          type: "CNAME",
          ttl: 5,
          records: [replica.address],
          setIdentifier: `replica-${index}`,
          weightedRoutingPolicies: [{ weight: 1 }],
        },
        parent,
      );
    });
    this.readerEndpoint = replicas.length > 0 ? readerName : primary.address;

    const credentials = new aws.secretsmanager.Secret(
      n.name("credentials"),
      {
        description: "Parley PostgreSQL master credentials",
        kmsKeyId: key.arn,
        recoveryWindowInDays: protection.secretRecoveryWindowDays,
        tags: n.tags(),
      },
      parent,
    );
    new aws.secretsmanager.SecretVersion(
      n.name("credentials-value"),
      {
        secretId: credentials.id,
        secretString: pulumi.jsonStringify({
          engine: "postgres",
          host: primary.address,
          readerHost: this.readerEndpoint,
          port: postgresPort,
          dbname: args.databaseName,
          username: masterUsername,
          password: this.password,
        }),
      },
      parent,
    );
    this.credentialsSecretArn = credentials.arn;

    this.registerOutputs({
      primaryEndpoint: this.primaryEndpoint,
      readerEndpoint: this.readerEndpoint,
      credentialsSecretArn: this.credentialsSecretArn,
      securityGroupId: this.securityGroupId,
    });
  }
}
