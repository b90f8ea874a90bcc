/**
 * How the VPC's address space is divided. Pods take VPC IPs (VPC-CNI), so the private subnets that
 * hold nodes and pods get the bulk: one quarter of the VPC per AZ. The last quarter is cut into
 * sixteenths of itself: public subnets (load balancers, NAT gateways) and data subnets (RDS,
 * ElastiCache), one of each per AZ.
 */

export interface SubnetPlan {
  private: string[];
  public: string[];
  data: string[];
}

export const maxAvailabilityZones = 3;

function toInt(address: string): number {
  return address.split(".").reduce((value, octet) => value * 256 + Number(octet), 0);
}

function toAddress(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

/** The `index`-th block of size /newPrefix inside `cidr` (like Terraform's cidrsubnet). */
export function cidrSubnet(cidr: string, newPrefix: number, index: number): string {
  const [address, prefixText] = cidr.split("/");
  const prefix = Number(prefixText);
  if (newPrefix < prefix || newPrefix > 32) throw new Error(`cannot cut /${newPrefix} blocks out of ${cidr}`);
  const blocks = 2 ** (newPrefix - prefix);
  if (index < 0 || index >= blocks)
    throw new Error(`${cidr} holds ${blocks} /${newPrefix} blocks; index ${index} is out of range`);
  const blockSize = 2 ** (32 - prefix);
  const base = Math.floor(toInt(address) / blockSize) * blockSize;
  return `${toAddress(base + index * 2 ** (32 - newPrefix))}/${newPrefix}`;
}

export function planSubnets(vpcCidr: string, availabilityZones: number): SubnetPlan {
  if (availabilityZones < 1 || availabilityZones > maxAvailabilityZones) {
    throw new Error(
      `the subnet plan supports 1 to ${maxAvailabilityZones} availability zones, not ${availabilityZones}`,
    );
  }
  const prefix = Number(vpcCidr.split("/")[1]);
  const lastQuarter = cidrSubnet(vpcCidr, prefix + 2, 3);
  const zones = [...Array(availabilityZones).keys()];
  return {
    private: zones.map((zone) => cidrSubnet(vpcCidr, prefix + 2, zone)),
    public: zones.map((zone) => cidrSubnet(lastQuarter, prefix + 6, zone)),
    data: zones.map((zone) => cidrSubnet(lastQuarter, prefix + 6, 4 + zone)),
  };
}
