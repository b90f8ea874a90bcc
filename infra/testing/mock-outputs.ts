/**
 * Fake computed outputs for the Pulumi mocks: what the providers would fill in after a create (ids,
 * ARNs, endpoints, the cluster's certificate authority...). Every resource echoes its inputs, as a real
 * provider does, so downstream `apply`s see both what was asked for and what the cloud computed.
 */
import { createHash } from "node:crypto";
import type * as pulumi from "@pulumi/pulumi";
import { cloudflareIpv4Ranges, cloudflareIpv6Ranges } from "../data/cloudflare-ips";

export const mockAccountId = "123456789012";

export interface MockContext {
  region: string;
}

/** A short stable hex string derived from a resource's name (stable across runs, distinct per name). */
export function mockHash(name: string, length = 12): string {
  return createHash("sha256").update(name).digest("hex").slice(0, length);
}

/** A fake base64 PEM, good enough for anything that only passes the cluster CA along. */
const fakeCertificateAuthority = Buffer.from(
  "-----BEGIN CERTIFICATE-----\nMIIBmockedcertificateauthority\n-----END CERTIFICATE-----\n",
).toString("base64");

/** A fake PEM block, distinct per resource. */
const fakePem = (label: string, id: string) =>
  `-----BEGIN ${label}-----\nMIIB${mockHash(`${label}-${id}`, 40)}\n-----END ${label}-----\n`;

type Outputs = Record<string, unknown>;
type Computed = (args: pulumi.runtime.MockResourceArgs, ctx: MockContext, id: string) => Outputs;

const awsService = (type: string) => type.split(":")[1]?.split("/")[0] ?? "aws";

/** Per resource type, outputs the cloud computes. Types not listed get an id, an arn (AWS) and their inputs back. */
const computedByType: Record<string, Computed> = {
  "aws:eks/cluster:Cluster": ({ inputs }, { region }, id) => ({
    endpoint: `https://${mockHash(id, 32).toUpperCase()}.gr7.${region}.eks.amazonaws.com`,
    certificateAuthority: { data: fakeCertificateAuthority },
    identities: [{ oidcs: [{ issuer: `https://oidc.eks.${region}.amazonaws.com/id/${mockHash(id, 32)}` }] }],
    status: "ACTIVE",
    vpcConfig: {
      ...(inputs.vpcConfig as Outputs),
      clusterSecurityGroupId: `sg-${mockHash(`${id}-cluster-sg`, 17)}`,
      vpcId: "vpc-mock",
    },
  }),
  "aws:rds/instance:Instance": ({ inputs }, { region }, id) => {
    const identifier = (inputs.identifier as string | undefined) ?? id;
    const address = `${identifier}.c${mockHash("rds", 10)}.${region}.rds.amazonaws.com`;
    return {
      identifier,
      address,
      endpoint: `${address}:5432`,
      port: 5432,
      resourceId: `db-${mockHash(id, 26).toUpperCase()}`,
      masterUserSecrets: inputs.manageMasterUserPassword
        ? [
            {
              secretArn: `arn:aws:secretsmanager:${region}:${mockAccountId}:secret:rds!db-${mockHash(id)}`,
              kmsKeyId: `arn:aws:kms:${region}:${mockAccountId}:key/${mockHash(`${id}-kms`)}`,
              secretStatus: "active",
            },
          ]
        : [],
    };
  },
  "aws:elasticache/replicationGroup:ReplicationGroup": ({ inputs }, { region }, id) => {
    const groupId = (inputs.replicationGroupId as string | undefined) ?? id;
    const host = `${groupId}.${mockHash(id, 6)}.${region.replace(/-/g, "")}.cache.amazonaws.com`;
    return {
      replicationGroupId: groupId,
      primaryEndpointAddress: `master.${host}`,
      readerEndpointAddress: `replica.${host}`,
      port: inputs.port ?? 6379,
    };
  },
  "aws:ecr/repository:Repository": ({ inputs }, { region }, id) => ({
    repositoryUrl: `${mockAccountId}.dkr.ecr.${region}.amazonaws.com/${(inputs.name as string | undefined) ?? id}`,
    registryId: mockAccountId,
  }),
  "aws:acm/certificate:Certificate": ({ inputs }) => {
    const domains = [inputs.domainName as string, ...((inputs.subjectAlternativeNames as string[]) ?? [])];
    return {
      status: "ISSUED",
      domainValidationOptions: domains.map((domainName) => ({
        domainName,
        resourceRecordName: `_${mockHash(domainName, 32)}.${domainName}.`,
        resourceRecordType: "CNAME",
        resourceRecordValue: `_${mockHash(`${domainName}-value`, 32)}.mock.acm-validations.aws.`,
      })),
    };
  },
  "aws:sqs/queue:Queue": ({ inputs }, { region }, id) => {
    const queueName = (inputs.name as string | undefined) ?? id;
    return {
      name: queueName,
      url: `https://sqs.${region}.amazonaws.com/${mockAccountId}/${queueName}`,
      arn: `arn:aws:sqs:${region}:${mockAccountId}:${queueName}`,
    };
  },
  "aws:iam/role:Role": ({ inputs }, _ctx, id) => {
    const roleName = (inputs.name as string | undefined) ?? id;
    return { name: roleName, arn: `arn:aws:iam::${mockAccountId}:role/${roleName}`, uniqueId: mockHash(id) };
  },
  "aws:iam/policy:Policy": ({ inputs }, _ctx, id) => {
    const policyName = (inputs.name as string | undefined) ?? id;
    return { name: policyName, arn: `arn:aws:iam::${mockAccountId}:policy/${policyName}` };
  },
  // Auto-named by the provider (name plus a random suffix); RDS instances refer to it by that name.
  "aws:rds/parameterGroup:ParameterGroup": ({ name, inputs }) => ({
    name: (inputs.name as string | undefined) ?? `${name}-${mockHash(name, 7)}`,
  }),
  "aws:kms/key:Key": (_args, { region }, id) => ({
    keyId: mockHash(id, 32),
    arn: `arn:aws:kms:${region}:${mockAccountId}:key/${mockHash(id, 32)}`,
  }),
  "aws:ec2/vpc:Vpc": (_args, _ctx, id) => ({ defaultSecurityGroupId: `sg-${mockHash(`${id}-default`, 17)}` }),
  "aws:secretsmanager/secret:Secret": ({ inputs }, { region }, id) => ({
    arn: `arn:aws:secretsmanager:${region}:${mockAccountId}:secret:${(inputs.name as string | undefined) ?? id}-AbCdEf`,
  }),
  "tls:index/privateKey:PrivateKey": (_args, _ctx, id) => ({
    privateKeyPem: fakePem("PRIVATE KEY", id),
    publicKeyPem: fakePem("PUBLIC KEY", id),
  }),
  "tls:index/selfSignedCert:SelfSignedCert": (_args, _ctx, id) => ({ certPem: fakePem("CERTIFICATE", id) }),
  "tls:index/certRequest:CertRequest": (_args, _ctx, id) => ({
    certRequestPem: fakePem("CERTIFICATE REQUEST", id),
  }),
  "tls:index/locallySignedCert:LocallySignedCert": (_args, _ctx, id) => ({
    certPem: fakePem("CERTIFICATE", id),
  }),
  "random:index/randomPassword:RandomPassword": (_args, _ctx, id) => ({
    result: `mock-generated-secret-${mockHash(id, 24)}`,
  }),
};

/**
 * Kubernetes objects: the provider auto-names an object declared without `metadata.name`
 * (`<resource name>-<suffix>`); the load balancer controller fills an Ingress's status; a Helm
 * release reports its status.
 */
function kubernetesOutputs(args: pulumi.runtime.MockResourceArgs, ctx: MockContext): Outputs {
  const { inputs, name, type } = args;
  if (type === "kubernetes:helm.sh/v3:Release") {
    return {
      status: {
        name: inputs.name ?? name,
        namespace: inputs.namespace ?? "default",
        chart: inputs.chart,
        version: inputs.version,
        status: "deployed",
      },
    };
  }
  const metadata = (inputs.metadata ?? {}) as Outputs;
  const outputs: Outputs = {
    metadata: { ...metadata, name: metadata.name ?? `${name}-${mockHash(name, 8)}` },
  };
  if (type === "kubernetes:networking.k8s.io/v1:Ingress") {
    outputs.status = {
      loadBalancer: { ingress: [{ hostname: `k8s-${mockHash(name, 16)}.${ctx.region}.elb.amazonaws.com` }] },
    };
  }
  return outputs;
}

/** Ids that look like the real thing where some code inspects the prefix. */
function mockId(type: string, name: string): string {
  const prefix: Record<string, string> = {
    "aws:ec2/vpc:Vpc": "vpc",
    "aws:ec2/subnet:Subnet": "subnet",
    "aws:ec2/securityGroup:SecurityGroup": "sg",
    "aws:ec2/natGateway:NatGateway": "nat",
    "aws:ec2/internetGateway:InternetGateway": "igw",
    "aws:ec2/routeTable:RouteTable": "rtb",
    "aws:ec2/eip:Eip": "eipalloc",
    "aws:ec2/launchTemplate:LaunchTemplate": "lt",
  };
  return prefix[type] ? `${prefix[type]}-${mockHash(name, 17)}` : `${name}-id`;
}

/** The mock's answer to a resource registration: an id and the provider's outputs. */
export function mockResource(
  args: pulumi.runtime.MockResourceArgs,
  ctx: MockContext,
): pulumi.runtime.MockResourceResult {
  const id = args.id || mockId(args.type, args.name);
  const defaults: Outputs = { id };
  if (args.type.startsWith("aws:")) {
    defaults.arn = `arn:aws:${awsService(args.type)}:${ctx.region}:${mockAccountId}:${args.name}`;
  }
  const computed = args.type.startsWith("kubernetes:")
    ? kubernetesOutputs(args, ctx)
    : (computedByType[args.type]?.(args, ctx, id) ?? {});
  return { id, state: { ...defaults, ...args.inputs, ...computed } };
}

/** The mock's answer to a provider function call (data sources). */
export function mockCall(args: pulumi.runtime.MockCallArgs, ctx: MockContext): Record<string, unknown> {
  switch (args.token) {
    case "aws:index/getAvailabilityZones:getAvailabilityZones":
      return {
        names: ["a", "b", "c", "d"].map((zone) => `${ctx.region}${zone}`),
        zoneIds: [1, 2, 3, 4].map((n) => `${ctx.region.slice(0, 3)}-az${n}`),
        state: "available",
      };
    case "aws:index/getCallerIdentity:getCallerIdentity":
      return { accountId: mockAccountId, arn: `arn:aws:iam::${mockAccountId}:user/mock`, userId: "AIDAMOCK" };
    case "aws:index/getRegion:getRegion":
      return { name: ctx.region, region: ctx.region, id: ctx.region };
    case "aws:index/getPartition:getPartition":
      return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" };
    // What GET /client/v4/ips answers: the vendored list, unless a test asks for another.
    case "cloudflare:index/getIpRanges:getIpRanges":
      return {
        ipv4Cidrs: [...cloudflareIpv4Ranges],
        ipv6Cidrs: [...cloudflareIpv6Ranges],
        etag: mockHash("ips"),
        jdcloudCidrs: [],
      };
    case "aws:iam/getPolicyDocument:getPolicyDocument":
      return { json: JSON.stringify(args.inputs), id: mockHash(JSON.stringify(args.inputs)) };
    default:
      return {};
  }
}
