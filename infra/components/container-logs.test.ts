import { beforeAll, describe, expect, it } from "vitest";
import { resourceByUrn, resourcesOfType } from "../../tests/support/infra/resources";
import { type ProgramRun, runProgram } from "../offline-runner/runner";
import { cloudwatchAgent, grafanaDatasourceLabel, grafanaIdentity } from "./container-logs";

let dev: ProgramRun;
beforeAll(async () => {
  dev = await runProgram({ stack: "dev", config: { "parley:logRetentionDays": "60" } });
});

describe("ContainerLogs", () => {
  it("ships every container's logs to CloudWatch Logs groups created first, with the stack's retention", () => {
    const groups = resourcesOfType(dev, "aws:cloudwatch/logGroup:LogGroup").filter((g) =>
      String(g.inputs.name).startsWith("/aws/containerinsights/parley-dev/"),
    );
    expect(groups.map((g) => g.inputs.name).sort()).toEqual([
      "/aws/containerinsights/parley-dev/application",
      "/aws/containerinsights/parley-dev/dataplane",
      "/aws/containerinsights/parley-dev/host",
    ]);
    for (const group of groups) expect(group.inputs.retentionInDays).toBe(60);
    const addon = resourcesOfType(dev, "aws:eks/addon:Addon").find(
      (a) => a.inputs.addonName === "amazon-cloudwatch-observability",
    );
    expect(addon?.inputs.addonVersion).toMatch(/^v1\.35\./);
    for (const group of groups) expect(addon?.dependencies).toContain(group.urn);
    // After the nodes: its Fluent Bit DaemonSet needs somewhere to run.
    const nodeGroup = resourcesOfType(dev, "aws:eks/nodeGroup:NodeGroup")[0]!;
    expect(addon?.dependencies).toContain(nodeGroup.urn);
  });

  it("gives the agent and Grafana their own Pod Identity roles: write logs, and read them", () => {
    const associations = resourcesOfType(dev, "aws:eks/podIdentityAssociation:PodIdentityAssociation");
    const roleOf = (namespace: string, serviceAccount: string) => {
      const association = associations.find(
        (a) => a.inputs.namespace === namespace && a.inputs.serviceAccount === serviceAccount,
      );
      expect(association, `${namespace}/${serviceAccount}`).toBeDefined();
      return association!.inputs.roleArn;
    };
    const attached = (roleArn: unknown) =>
      resourcesOfType(dev, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        .filter((a) => {
          const role = resourcesOfType(dev, "aws:iam/role:Role").find((r) => r.outputs.arn === roleArn);
          return role && a.inputs.role === role.outputs.name;
        })
        .map((a) => a.inputs.policyArn);
    expect(attached(roleOf(cloudwatchAgent.namespace, cloudwatchAgent.serviceAccount))).toEqual([
      "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy",
    ]);
    expect(attached(roleOf(grafanaIdentity.namespace, grafanaIdentity.serviceAccount))).toEqual([
      "arn:aws:iam::aws:policy/CloudWatchLogsReadOnlyAccess",
    ]);
  });

  it("adds a CloudWatch data source that Grafana's sidecar loads", () => {
    const datasource = resourcesOfType(dev, "kubernetes:core/v1:ConfigMap").find(
      (c) => (c.inputs.metadata as { name?: string }).name === "cloudwatch-logs-datasource",
    );
    expect(datasource?.inputs.metadata).toMatchObject({
      namespace: "monitoring",
      labels: { [grafanaDatasourceLabel.key]: grafanaDatasourceLabel.value },
    });
    expect(datasource).toBeDefined();
    const file = JSON.parse((datasource!.inputs.data as Record<string, string>)["cloudwatch-logs.yaml"]!);
    expect(file.datasources[0]).toMatchObject({
      type: "cloudwatch",
      jsonData: { defaultRegion: "us-east-1" },
    });
    expect(
      resourceByUrn(dev, datasource!.provider!.slice(0, datasource!.provider!.lastIndexOf("::")))?.type,
    ).toBe("pulumi:providers:kubernetes");
  });
});
