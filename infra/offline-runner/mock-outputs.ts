/**
 * Fake computed outputs for the Pulumi mocks: what the providers would fill in after a create (ids,
 * ARNs, endpoints, the cluster's certificate authority...). Every resource echoes its inputs, as a real
 * provider does, so downstream `apply`s see both what was asked for and what the cloud computed.
 */
import { createHash } from "node:crypto";
import type * as pulumi from "@pulumi/pulumi";
import { unknownValue } from "@pulumi/pulumi/runtime/rpc";
import { cloudflareIpv4Ranges, cloudflareIpv6Ranges } from "../data/cloudflare-ips";

export const mockAccountId = "123456789012";

export interface MockContext {
  region: string;
  /**
   * `pulumi preview` rather than `pulumi up`: every value the cloud computes on create (ids, ARNs,
   * endpoints, generated names, statuses) is unknown; only what the program passed in is known.
   */
  preview?: boolean;
  /**
   * What the account already holds that data sources look up: the images in each ECR repository
   * (`repository:tag`). Unset: every image the program asks for exists (an account after bootstrap).
   */
  ecrImages?: readonly string[];
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
  // New keepers mean a new resource, hence new random bytes.
  "random:index/randomId:RandomId": ({ inputs }, _ctx, id) => {
    const hex = mockHash(`${id}${JSON.stringify(inputs.keepers ?? {})}`, 2 * Number(inputs.byteLength ?? 8));
    return { hex, dec: BigInt(`0x${hex}`).toString(), b64Url: Buffer.from(hex, "hex").toString("base64url") };
  },
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

const isPlainRecord = (value: unknown): value is Outputs =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * The state a preview shows for a resource being created: what the program passed in, and the
 * sentinel the engine uses for "known after apply" wherever the provider would compute a value.
 */
export function previewState(inputs: Outputs, state: Outputs): Outputs {
  const result: Outputs = {};
  for (const [key, value] of Object.entries(state)) {
    if (!(key in inputs)) result[key] = unknownValue;
    else if (isPlainRecord(inputs[key]) && isPlainRecord(value))
      result[key] = previewState(inputs[key] as Outputs, value);
    else result[key] = JSON.stringify(inputs[key]) === JSON.stringify(value) ? value : unknownValue;
  }
  return result;
}

/** Kubernetes auto-names objects during preview already (the provider's Check), so that stays known. */
function knownInPreview(type: string, state: Outputs, inputs: Outputs): Outputs {
  if (!type.startsWith("kubernetes:") || !isPlainRecord(state.metadata)) return inputs;
  return { ...inputs, metadata: { ...(inputs.metadata as Outputs), name: state.metadata.name } };
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
  const state = { ...defaults, ...args.inputs, ...computed };
  if (!ctx.preview) return { id, state };
  // An empty id is what the engine reports for a resource that does not exist yet (unknown id).
  return { id: "", state: previewState(knownInPreview(args.type, state, args.inputs), state) };
}

/** A data source that fails the way the provider reports it: as an invoke failure with a reason. */
export class InvokeFailure extends Error {}

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
    case "aws:eks/getAddonVersion:getAddonVersion": {
      // EKS add-on versions look like v1.20.4-eksbuild.1; here they encode the Kubernetes version.
      const { addonName, kubernetesVersion } = args.inputs as {
        addonName: string;
        kubernetesVersion: string;
      };
      return {
        id: addonName,
        addonName,
        kubernetesVersion,
        version: `v${kubernetesVersion}.${mockHash(addonName, 3).replace(/\D/g, "0")}-eksbuild.1`,
      };
    }
    case "aws:ecr/getImage:getImage": {
      // The provider fails the lookup when the tag is not in the repository (ImageNotFoundException).
      const { repositoryName, imageTag } = args.inputs as { repositoryName: string; imageTag: string };
      const reference = `${repositoryName}:${imageTag}`;
      if (ctx.ecrImages && !ctx.ecrImages.includes(reference)) {
        throw new InvokeFailure(
          `reading ECR Image (${reference}): ImageNotFoundException: The image with imageId {imageTag:'${imageTag}'} does not exist within the repository with name '${repositoryName}'`,
        );
      }
      return {
        id: `sha256:${mockHash(reference, 64)}`,
        imageDigest: `sha256:${mockHash(reference, 64)}`,
        imageTags: [imageTag],
        repositoryName,
        registryId: mockAccountId,
        imageUri: `${mockAccountId}.dkr.ecr.${ctx.region}.amazonaws.com/${repositoryName}@sha256:${mockHash(reference, 64)}`,
      };
    }
    default:
      return {};
  }
}
