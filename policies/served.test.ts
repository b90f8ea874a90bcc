/**
 * The pack as `pulumi preview --policy-pack policies` runs it: Pulumi's own policy-pack runner
 * (`@pulumi/pulumi/cmd/run-policy-pack`, which registers ts-node) starts policies/index.ts from the
 * policies directory and serves it over gRPC. The test drives that server the way the engine does
 * (GetAnalyzerInfo, Configure, Analyze per resource, AnalyzeStack) with the resources of the real
 * program, and checks that the offline gate reports exactly what the served pack reports.
 */
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import {
  AnalyzeRequest,
  type AnalyzeResponse,
  type AnalyzerInfo,
  AnalyzerResource,
  AnalyzerResourceOptions,
  AnalyzeStackRequest,
  ConfigureAnalyzerRequest,
  EnforcementLevel,
  PolicyConfig,
} from "@pulumi/pulumi/proto/analyzer_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RegisteredResource, repositoryRoot, runProgram } from "../infra/offline-runner/runner";
import { type PackConfig, type PolicyViolation, resolvePolicySettings, runPolicyGate } from "./offline";
import { packArgs, packName } from "./pack";
import { loadPackConfig } from "./support/packConfig";

const levels: Record<string, EnforcementLevel> = {
  advisory: EnforcementLevel.ADVISORY,
  mandatory: EnforcementLevel.MANDATORY,
  disabled: EnforcementLevel.DISABLED,
  remediate: EnforcementLevel.REMEDIATE,
};

let server: ChildProcess;
let client: AnalyzerClient;

/** Starts the pack with Pulumi's runner and resolves with the port it prints. */
function startPack(): Promise<number> {
  const runner = path.join(repositoryRoot, "node_modules", "@pulumi", "pulumi", "cmd", "run-policy-pack");
  server = spawn(process.execPath, [runner, "127.0.0.1:1", "."], {
    cwd: path.join(repositoryRoot, "policies"),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  server.stderr?.on("data", (chunk) => {
    stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    server.stdout?.on("data", (chunk: Buffer) => {
      const port = /^(\d+)\s*$/m.exec(chunk.toString())?.[1];
      if (port) resolve(Number(port));
    });
    server.on("exit", (code) => reject(new Error(`policy pack exited with ${code}: ${stderr}`)));
  });
}

function call<Req, Res>(
  method: (req: Req, cb: (e: grpc.ServiceError | null, r: Res) => void) => unknown,
  req: Req,
) {
  return new Promise<Res>((resolve, reject) =>
    method.call(client, req, (error, response) => (error ? reject(error) : resolve(response))),
  );
}

/** What the CLI sends after reading --policy-pack-config: every policy's level and parameters. */
function configureRequest(config: PackConfig): ConfigureAnalyzerRequest {
  const request = new ConfigureAnalyzerRequest();
  for (const policy of packArgs.policies) {
    const settings = resolvePolicySettings(policy, config, packArgs.enforcementLevel);
    const entry = new PolicyConfig();
    entry.setEnforcementlevel(levels[settings.enforcementLevel]!);
    entry.setProperties(Struct.fromJavaScript(settings.config as never));
    request.getPolicyconfigMap().set(policy.name, entry);
  }
  return request;
}

function options(resource: RegisteredResource): AnalyzerResourceOptions {
  const opts = new AnalyzerResourceOptions();
  if (resource.parent) opts.setParent(resource.parent);
  return opts;
}

type Finding = Pick<PolicyViolation, "policyName" | "enforcementLevel" | "message"> & { urn: string };

/** Diagnostics as findings; the engine's message is the description, a newline, then the policy's message. */
function findings(response: AnalyzeResponse, urn?: string): Finding[] {
  return response.getDiagnosticsList().map((d) => ({
    policyName: d.getPolicyname(),
    enforcementLevel: d.getEnforcementlevel() === EnforcementLevel.MANDATORY ? "mandatory" : "advisory",
    message: d.getMessage().slice(d.getDescription().length + 1),
    urn: urn ?? d.getUrn(),
  }));
}

async function servedFindings(resources: RegisteredResource[]): Promise<Finding[]> {
  const found: Finding[] = [];
  for (const resource of resources) {
    const request = new AnalyzeRequest()
      .setType(resource.type)
      .setName(resource.name)
      .setUrn(resource.urn)
      .setProperties(Struct.fromJavaScript(resource.inputs as never))
      .setOptions(options(resource));
    found.push(...findings(await call(client.analyze, request), resource.urn));
  }
  const stack = new AnalyzeStackRequest().setResourcesList(
    resources.map((resource) =>
      new AnalyzerResource()
        .setType(resource.type)
        .setName(resource.name)
        .setUrn(resource.urn)
        .setParent(resource.parent ?? "")
        .setProperties(Struct.fromJavaScript(resource.outputs as never))
        .setOptions(options(resource)),
    ),
  );
  found.push(...findings(await call(client.analyzeStack, stack)));
  return found;
}

const sorted = (list: Finding[]) =>
  [...list].sort((a, b) =>
    `${a.policyName}${a.urn}${a.message}`.localeCompare(`${b.policyName}${b.urn}${b.message}`),
  );

describe("the pack served by Pulumi's policy-pack runner", () => {
  beforeAll(async () => {
    const port = await startPack();
    client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });

  afterAll(() => {
    client?.close();
    if (server?.pid && server.exitCode === null) process.kill(server.pid);
  });

  it("announces the pack and every policy", async () => {
    const info = await call<Empty, AnalyzerInfo>(client.getAnalyzerInfo, new Empty());
    expect(info.getName()).toBe(packName);
    expect(info.getVersion()).toBe("0.1.0");
    expect(info.getPoliciesList().map((p) => p.getName())).toEqual(packArgs.policies.map((p) => p.name));
  });

  it.each(["prod", "dev"] as const)(
    "reports what the offline gate reports on the %s program",
    async (stack) => {
      // dev with the EKS API opened to the world (allowed by dev's config) so that there is a mandatory finding.
      const config: Record<string, string> =
        stack === "dev" ? { "parley:clusterApiAllowedCidrs": JSON.stringify(["0.0.0.0/0"]) } : {};
      const { resources } = await runProgram({ stack, config });
      const packConfig = loadPackConfig(stack);
      await call(client.configure, configureRequest(packConfig));

      const served = await servedFindings(resources);
      const offline = (await runPolicyGate(packArgs, resources, packConfig)).map(
        ({ policyName, enforcementLevel, message, urn }) => ({
          policyName,
          enforcementLevel,
          message,
          urn: urn ?? "",
        }),
      );
      expect(sorted(offline)).toEqual(sorted(served));
      if (stack === "dev") expect(served.some((f) => f.enforcementLevel === "mandatory")).toBe(true);
    },
  );
});
