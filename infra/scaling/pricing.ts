/**
 * On-demand list prices, USD, for the cost estimate. A committed, dated table — never fetched.
 *
 * Region: us-east-1 (US East, N. Virginia). Prices as of 2026-11-22, compiled from AWS's public
 * price pages: aws.amazon.com/ec2/pricing/on-demand (Linux), /rds/postgresql/pricing (Single-AZ
 * instance; Multi-AZ with one standby is twice that; gp3 storage), /elasticache/pricing (Redis OSS
 * node-hours; Valkey is 20% cheaper), /eks/pricing (standard support), /vpc/pricing (NAT gateway
 * hours) and /elasticloadbalancing/pricing (ALB hours and LCU-hours). Compiled offline from the
 * published list prices; re-check them before budgeting. Data transfer, NAT data processing,
 * CloudWatch, backups beyond the free allowance and Cloudflare are not included.
 */

export interface PriceTable {
  region: string;
  asOf: string;
  hoursPerMonth: number;
  ec2PerHour: Readonly<Record<string, number>>;
  /** Single-AZ instance-hour; a Multi-AZ (one standby) instance costs twice this. */
  rdsPostgresPerHour: Readonly<Record<string, number>>;
  rdsGp3PerGiBMonth: number;
  elasticachePerHour: Readonly<Record<string, number>>;
  eksClusterPerHour: number;
  natGatewayPerHour: number;
  albPerHour: number;
  albLcuPerHour: number;
}

const usEast1: PriceTable = {
  region: "us-east-1",
  asOf: "2026-11-22",
  hoursPerMonth: 730,
  ec2PerHour: {
    "c7i.large": 0.08925,
    "c7i.xlarge": 0.1785,
    "c7i.2xlarge": 0.357,
    "m7i.large": 0.1008,
    "m7i.xlarge": 0.2016,
    "m7i.2xlarge": 0.4032,
    "r7i.large": 0.1323,
    "r7i.xlarge": 0.2646,
    "r7i.2xlarge": 0.5292,
    "c6i.large": 0.085,
    "c6i.xlarge": 0.17,
    "c6i.2xlarge": 0.34,
    "m6i.large": 0.096,
    "m6i.xlarge": 0.192,
    "m6i.2xlarge": 0.384,
    "r6i.large": 0.126,
    "r6i.xlarge": 0.252,
    "r6i.2xlarge": 0.504,
    "t3.medium": 0.0416,
    "t3.large": 0.0832,
    "t3.xlarge": 0.1664,
    "t3.2xlarge": 0.3328,
  },
  rdsPostgresPerHour: {
    "db.t4g.micro": 0.016,
    "db.t4g.small": 0.032,
    "db.t4g.medium": 0.065,
    "db.t4g.large": 0.129,
    "db.m7g.large": 0.168,
    "db.m7g.xlarge": 0.337,
    "db.m7g.2xlarge": 0.674,
    "db.r7g.large": 0.239,
    "db.r7g.xlarge": 0.478,
    "db.r7g.2xlarge": 0.956,
    "db.r6g.large": 0.225,
    "db.r6g.xlarge": 0.45,
    "db.r6g.2xlarge": 0.899,
  },
  rdsGp3PerGiBMonth: 0.115,
  elasticachePerHour: {
    "cache.t4g.micro": 0.016,
    "cache.t4g.small": 0.032,
    "cache.t4g.medium": 0.065,
    "cache.m7g.large": 0.158,
    "cache.r7g.large": 0.219,
    "cache.r7g.xlarge": 0.437,
  },
  eksClusterPerHour: 0.1,
  natGatewayPerHour: 0.045,
  albPerHour: 0.0225,
  albLcuPerHour: 0.008,
};

const tables: Readonly<Record<string, PriceTable>> = { "us-east-1": usEast1 };

export const defaultPriceRegion = "us-east-1";

export function priceTableFor(region: string = defaultPriceRegion): PriceTable {
  const table = tables[region];
  if (!table) {
    throw new Error(`no price table for region "${region}" (available: ${Object.keys(tables).join(", ")})`);
  }
  return table;
}

/** The price of `key` in one of the table's sections, or an error naming what is missing. */
export function priceOf(
  section: Readonly<Record<string, number>>,
  key: string,
  what: string,
  region: string,
): number {
  const price = section[key];
  if (price === undefined)
    throw new Error(`no ${what} price for "${key}" in the ${region} price table (pricing.ts)`);
  return price;
}
