/**
 * Database numbers derived from the policy: the app's pool sizes and the RDS PostgreSQL default
 * `max_connections` of an instance class.
 */
import { envVar } from "../../contracts/environment";
import type { ScalingPolicy } from "./policy";

/**
 * Memory (GiB) of RDS instance classes, from the AWS RDS DB instance class hardware specifications
 * (docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.DBInstanceClass.Summary.html), compiled
 * 2026-11-22. Only the classes this project may choose; add a row to use another.
 */
export const rdsInstanceClassMemoryGiB: Readonly<Record<string, number>> = {
  "db.t4g.micro": 1,
  "db.t4g.small": 2,
  "db.t4g.medium": 4,
  "db.t4g.large": 8,
  "db.t4g.xlarge": 16,
  "db.t4g.2xlarge": 32,
  "db.t3.micro": 1,
  "db.t3.small": 2,
  "db.t3.medium": 4,
  "db.t3.large": 8,
  "db.m7g.large": 8,
  "db.m7g.xlarge": 16,
  "db.m7g.2xlarge": 32,
  "db.m7g.4xlarge": 64,
  "db.m7g.8xlarge": 128,
  "db.m6g.large": 8,
  "db.m6g.xlarge": 16,
  "db.m6g.2xlarge": 32,
  "db.m6g.4xlarge": 64,
  "db.m6i.large": 8,
  "db.m6i.xlarge": 16,
  "db.m6i.2xlarge": 32,
  "db.m6i.4xlarge": 64,
  "db.r7g.large": 16,
  "db.r7g.xlarge": 32,
  "db.r7g.2xlarge": 64,
  "db.r7g.4xlarge": 128,
  "db.r7g.8xlarge": 256,
  "db.r6g.large": 16,
  "db.r6g.xlarge": 32,
  "db.r6g.2xlarge": 64,
  "db.r6g.4xlarge": 128,
  "db.r6i.large": 16,
  "db.r6i.xlarge": 32,
  "db.r6i.2xlarge": 64,
  "db.r6i.4xlarge": 128,
};

/** RDS for PostgreSQL's default: `LEAST({DBInstanceClassMemory/9531392}, 5000)`. */
export const rdsMaxConnectionsDivisor = 9531392;
export const rdsMaxConnectionsCap = 5000;

/**
 * The default `max_connections` of an RDS PostgreSQL instance class. Uses the class's nominal
 * memory; RDS's DBInstanceClassMemory is a few percent lower (memory kept for the OS and RDS
 * processes), which `reservedConnections` in the policy must cover.
 */
export function rdsMaxConnections(instanceClass: string): number {
  const memoryGiB = rdsInstanceClassMemoryGiB[instanceClass];
  if (memoryGiB === undefined) {
    const known = Object.keys(rdsInstanceClassMemoryGiB).join(", ");
    throw new Error(
      `unknown RDS instance class "${instanceClass}": add its memory to database.ts (known: ${known})`,
    );
  }
  const bytes = memoryGiB * 1024 ** 3;
  return Math.min(Math.floor(bytes / rdsMaxConnectionsDivisor), rdsMaxConnectionsCap);
}

/** The app's pool sizes as environment variables (DB_POOL_MAX, DB_REPLICA_POOL_MAX). */
export function dbPoolEnv(
  policy: ScalingPolicy,
): Record<typeof envVar.DB_POOL_MAX | typeof envVar.DB_REPLICA_POOL_MAX, string> {
  const { poolMaxPerPod } = policy.database;
  return {
    [envVar.DB_POOL_MAX]: String(poolMaxPerPod.primary),
    [envVar.DB_REPLICA_POOL_MAX]: String(poolMaxPerPod.replica),
  };
}
