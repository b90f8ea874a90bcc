import { beforeAll, describe, expect, it } from "vitest";
import { resourceNamed, resourcesOfType } from "../../tests/support/infra/resources";
import { isSecret, type ProgramRun, runProgram } from "../offline-runner/runner";
import { rdsInstanceClassMemoryGiB } from "../scaling/database";
import { scalingPolicyFor } from "../scaling/policy";
import { replicaZones } from "./database";
import { connectionBudget, postgresParameters } from "./database-tuning";

let prod: ProgramRun;
let dev: ProgramRun;
beforeAll(async () => {
  prod = await runProgram({ stack: "prod" });
  dev = await runProgram({ stack: "dev" });
});

const instances = (run: ProgramRun) => resourcesOfType(run, "aws:rds/instance:Instance");
const primary = (run: ProgramRun) => resourceNamed(run, "aws:rds/instance:Instance", "database-primary");
const replicas = (run: ProgramRun) =>
  instances(run).filter((instance) => instance.name.includes("database-replica"));
const clusterSg = (run: ProgramRun) =>
  (
    resourceNamed(run, "aws:eks/cluster:Cluster", "cluster-eks").outputs.vpcConfig as {
      clusterSecurityGroupId: string;
    }
  ).clusterSecurityGroupId;

describe("Database", () => {
  it("runs PostgreSQL 16 on the policy's instance class: Multi-AZ, encrypted, autoscaling storage", () => {
    const policy = scalingPolicyFor("prod").database;
    const key = resourceNamed(prod, "aws:kms/key:Key", "database-key");
    expect(primary(prod).inputs).toMatchObject({
      engine: "postgres",
      engineVersion: "16",
      instanceClass: policy.instanceClass,
      multiAz: true,
      storageEncrypted: true,
      kmsKeyId: key.outputs.arn,
      allocatedStorage: policy.allocatedStorageGiB,
      maxAllocatedStorage: policy.maxAllocatedStorageGiB,
      storageType: "gp3",
      publiclyAccessible: false,
      dbName: "parley",
    });
    expect(primary(dev).inputs).toMatchObject({
      instanceClass: scalingPolicyFor("dev").database.instanceClass,
    });
  });

  it("has Performance Insights, enhanced monitoring and backups of at least 7 days", () => {
    for (const run of [prod, dev]) {
      const inputs = primary(run).inputs;
      expect(inputs.performanceInsightsEnabled).toBe(true);
      expect(inputs.monitoringInterval).toBeGreaterThan(0);
      expect(inputs.monitoringRoleArn).toBe(
        resourceNamed(run, "aws:iam/role:Role", "database-monitoring-role").outputs.arn,
      );
      expect(inputs.backupRetentionPeriod).toBeGreaterThanOrEqual(7);
    }
    expect(primary(prod).inputs.backupRetentionPeriod).toBe(14);
  });

  it("protects prod from deletion and takes a final snapshot; dev does neither", () => {
    expect(primary(prod).inputs).toMatchObject({
      deletionProtection: true,
      skipFinalSnapshot: false,
      finalSnapshotIdentifier: expect.stringMatching(/^parley-prod-database-final-[0-9a-f]{8}$/),
    });
    expect(primary(dev).inputs).toMatchObject({
      deletionProtection: false,
      skipFinalSnapshot: true,
      multiAz: false,
    });
    expect(primary(dev).inputs).not.toHaveProperty("finalSnapshotIdentifier");
  });

  it("names each final snapshot anew when the primary is replaced, so a second replace or destroy cannot collide", async () => {
    const suffix = resourceNamed(prod, "random:index/randomId:RandomId", "database-final-snapshot-suffix");
    const snapshot = primary(prod).inputs.finalSnapshotIdentifier as string;
    expect(snapshot).toBe(`parley-prod-database-final-${suffix.outputs.hex}`);
    // dbName forces a new instance (the provider replaces on it): the suffix is renewed with it.
    expect(suffix.inputs.keepers).toMatchObject({
      dbName: "parley",
      username: "parley_admin",
      engine: "postgres",
    });
    const replaced = await runProgram({ stack: "prod", config: { "parley:databaseName": "parley_v2" } });
    expect(primary(replaced).inputs.finalSnapshotIdentifier).toMatch(
      /^parley-prod-database-final-[0-9a-f]{8}$/,
    );
    expect(primary(replaced).inputs.finalSnapshotIdentifier).not.toBe(snapshot);
  });

  it.each(["prod", "dev"] as const)(
    "has the %s policy's number of replicas, each replicating the primary",
    (stack) => {
      const run = stack === "prod" ? prod : dev;
      const replicaInstances = replicas(run);
      expect(replicaInstances).toHaveLength(scalingPolicyFor(stack).database.readReplicas);
      for (const replica of replicaInstances) {
        expect(replica.inputs.replicateSourceDb).toBe(primary(run).outputs.identifier);
        expect(replica.inputs.instanceClass).toBe(scalingPolicyFor(stack).database.instanceClass);
        expect(replica.inputs).not.toHaveProperty("password");
        expect(replica.inputs).toMatchObject({
          storageType: "gp3",
          storageEncrypted: true,
          performanceInsightsEnabled: true,
        });
      }
    },
  );

  // DeleteDBInstance: a read replica must be deleted with SkipFinalSnapshot and cannot name a
  // FinalDBSnapshotIdentifier, so a replica that asked for one could never be destroyed or replaced.
  it("deletes prod's replicas without a final snapshot, unlike the primary", () => {
    expect(replicas(prod).length).toBeGreaterThan(0);
    for (const replica of replicas(prod)) {
      expect(replica.inputs.skipFinalSnapshot).toBe(true);
      expect(replica.inputs).not.toHaveProperty("finalSnapshotIdentifier");
      expect(replica.inputs.backupRetentionPeriod).toBe(0);
    }
  });

  it("puts every replica in a different AZ", () => {
    const zones = replicas(prod).map((replica) => replica.inputs.availabilityZone);
    expect(zones).toHaveLength(2);
    expect(new Set(zones).size).toBe(zones.length);
    for (const zone of zones) expect(zone).toMatch(/^us-east-1[abc]$/);
  });

  it("serves readers on one private DNS name over every replica", () => {
    const records = resourcesOfType(prod, "aws:route53/record:Record");
    expect(records.map((record) => record.inputs.records)).toEqual(
      replicas(prod).map((replica) => [replica.outputs.address]),
    );
    for (const record of records) {
      expect(record.inputs).toMatchObject({ name: "reader.db.prod.parley.internal", type: "CNAME" });
    }
    expect(prod.stackOutputs.dbReaderEndpoint).toBe("reader.db.prod.parley.internal");
    expect(prod.stackOutputs.dbPrimaryEndpoint).toBe(primary(prod).outputs.address);
    const zone = resourceNamed(prod, "aws:route53/zone:Zone", "database-dns");
    expect(zone.inputs.vpcs).toEqual([
      { vpcId: resourceNamed(prod, "aws:ec2/vpc:Vpc", "network-vpc").outputs.id },
    ]);
  });

  it("admits only the cluster's security group, on PostgreSQL's port", () => {
    const sg = resourceNamed(prod, "aws:ec2/securityGroup:SecurityGroup", "database-sg");
    expect(sg.inputs.ingress ?? []).toEqual([]);
    const rules = resourcesOfType(prod, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter(
      (rule) => rule.inputs.securityGroupId === sg.outputs.id,
    );
    expect(rules).toHaveLength(1);
    expect(rules[0].inputs).toMatchObject({
      referencedSecurityGroupId: clusterSg(prod),
      fromPort: 5432,
      toPort: 5432,
      ipProtocol: "tcp",
    });
    expect(rules[0].inputs).not.toHaveProperty("cidrIpv4");
    for (const instance of instances(prod))
      expect(instance.inputs.vpcSecurityGroupIds).toEqual([sg.outputs.id]);
  });

  it("keeps the generated master password a secret, stored in Secrets Manager", () => {
    expect(isSecret(primary(prod).inputs.password)).toBe(true);
    const version = resourceNamed(
      prod,
      "aws:secretsmanager/secretVersion:SecretVersion",
      "database-credentials-value",
    );
    expect(isSecret(version.inputs.secretString)).toBe(true);
  });

  it("tunes the parameter group to the instance class, with TLS forced and pg_stat_statements", () => {
    const group = resourceNamed(prod, "aws:rds/parameterGroup:ParameterGroup", "database-params");
    expect(group.inputs.family).toBe("postgres16");
    const parameters = Object.fromEntries(
      (group.inputs.parameters as Array<{ name: string; value: string }>).map((p) => [p.name, p.value]),
    );
    // db.r7g.large: 16 GiB → shared_buffers 4 GiB (524288 pages of 8 kB), effective_cache_size 12 GiB.
    expect(parameters).toMatchObject({
      "rds.force_ssl": "1",
      shared_preload_libraries: "pg_stat_statements",
      shared_buffers: "524288",
      effective_cache_size: "1572864",
      random_page_cost: "1.1",
      log_min_duration_statement: "200",
      autovacuum_vacuum_scale_factor: "0.05",
    });
    for (const instance of instances(prod))
      expect(instance.inputs.parameterGroupName).toBe(group.outputs.name);
  });
});

describe("database tuning", () => {
  it("scales memory settings with the instance class", () => {
    const prodPolicy = scalingPolicyFor("prod");
    const bigger = { ...prodPolicy, database: { ...prodPolicy.database, instanceClass: "db.r7g.2xlarge" } };
    const value = (policy: typeof prodPolicy, name: string) =>
      Number(postgresParameters(policy).find((parameter) => parameter.name === name)?.value);
    expect(rdsInstanceClassMemoryGiB["db.r7g.2xlarge"]).toBe(4 * rdsInstanceClassMemoryGiB["db.r7g.large"]);
    expect(value(bigger, "shared_buffers")).toBe(4 * value(prodPolicy, "shared_buffers"));
    expect(value(bigger, "work_mem")).toBeGreaterThan(value(prodPolicy, "work_mem"));
  });

  it("shares work_mem over the policy's connection budget, within 4-64 MiB", () => {
    const policy = scalingPolicyFor("prod");
    const { pods, database } = policy;
    const budget = pods.maxReplicas * database.poolMaxPerPod.primary + database.reservedConnections;
    expect(connectionBudget(policy)).toBe(budget);
    const workMem = Number(
      postgresParameters(policy).find((parameter) => parameter.name === "work_mem")?.value,
    );
    const memoryKiB = rdsInstanceClassMemoryGiB[database.instanceClass] * 1024 * 1024;
    const expected = Math.min(Math.max(Math.round((memoryKiB * 0.75) / (budget * 3)), 4096), 65536);
    expect(workMem).toBe(expected);
  });

  it("marks static parameters as pending-reboot", () => {
    const methods = Object.fromEntries(
      postgresParameters(scalingPolicyFor("dev")).map((p) => [p.name, p.applyMethod]),
    );
    expect(methods.shared_buffers).toBe("pending-reboot");
    expect(methods.shared_preload_libraries).toBe("pending-reboot");
    expect(methods["rds.force_ssl"]).toBe("immediate");
  });

  it("refuses more replicas than AZs", () => {
    expect(replicaZones(["a", "b", "c"], 2)).toEqual(["a", "b"]);
    expect(() => replicaZones(["a", "b"], 3)).toThrow(
      "the scaling policy asks for 3 read replicas but the stack spans 2 AZs: replicas must sit in different AZs",
    );
  });
});
