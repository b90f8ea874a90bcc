import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { stackConfigOf, stackOfConfigFile, withImage } from "../../.github/scripts/stack-config";
import { stackNames } from "../../contracts/stacks";
import { temporaryDirectory } from "../support/temporary-directory";

const run = promisify(execFile);
const tsx = resolve("node_modules/.bin/tsx");

/** A complete stack config, with the comments and secrets a real one has. */
const digest = `sha256:${"ab".repeat(32)}`;
const otherDigest = `sha256:${"cd".repeat(32)}`;

const stackFile = (stack: string, tag: string) => `# The ${stack} stack.
encryptionsalt: v1:abc
config:
  aws:region: eu-west-1
  # Networking
  parley:vpcCidr: 10.40.0.0/16
  parley:clusterApiAllowedCidrs:
    - 203.0.113.0/24
  parley:clusterAdminPrincipalArns:
    - arn:aws:iam::123456789012:role/platform-admin
  parley:publicHost: chat.example.com
  parley:cloudflareZoneId: 0123456789abcdef0123456789abcdef
  parley:ecrRepositoryName: parley-${stack}
  parley:imageTag: ${tag} # set by app-release.yml
  parley:imageDigest: ${digest}
  parley:karpenterAmiAlias: al2023@v20260828
  cloudflare:apiToken:
    secure: v1:c2VjcmV0
`;

async function cli(script: string, args: string[], cwd: string) {
  try {
    const { stdout, stderr } = await run(tsx, [resolve(".github/scripts", script), ...args], { cwd });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe("stack config files", () => {
  it("names the stack from the file name, and refuses other files", () => {
    expect(stackOfConfigFile("/repo/Pulumi.prod.yaml")).toBe("prod");
    expect(stackOfConfigFile("Pulumi.dev.yaml")).toBe("dev");
    expect(() => stackOfConfigFile("Pulumi.staging.yaml")).toThrow(
      "Pulumi.staging.yaml is not a stack config file: expected Pulumi.<stack>.yaml with <stack> one of prod, dev",
    );
    expect(() => stackOfConfigFile("Pulumi.yaml")).toThrow(/not a stack config file/);
  });

  it("sets parley:imageTag and parley:imageDigest and changes no other line", () => {
    const before = stackFile("prod", "sha-000000000000");
    const after = withImage(before, "prod", "sha-1a2b3c4d5e6f", otherDigest);
    const changed = after.split("\n").filter((line, index) => line !== before.split("\n")[index]);
    expect(changed).toEqual([
      "  parley:imageTag: sha-1a2b3c4d5e6f # set by app-release.yml",
      `  parley:imageDigest: ${otherDigest}`,
    ]);
    expect(stackConfigOf(after, "prod")).toMatchObject({
      imageTag: "sha-1a2b3c4d5e6f",
      imageDigest: otherDigest,
    });
  });

  it("adds the keys to a stack that has none yet", () => {
    const before = stackFile("dev", "x").replace(/ {2}parley:image(Tag|Digest):.*\n/g, "");
    const after = withImage(before, "dev", "sha-1a2b3c4d5e6f", digest);
    expect(stackConfigOf(after, "dev")).toMatchObject({ imageTag: "sha-1a2b3c4d5e6f", imageDigest: digest });
  });

  it.each(stackNames)("the committed Pulumi.%s.yaml takes a release on its image lines alone", (stack) => {
    const before = readFileSync(`Pulumi.${stack}.yaml`, "utf8");
    const after = withImage(before, stack, "sha-0123456789ab", digest);
    const changed = after
      .split("\n")
      .filter((line) => !before.split("\n").includes(line))
      .sort();
    expect(changed).toEqual([`  parley:imageDigest: ${digest}`, "  parley:imageTag: sha-0123456789ab"]);
  });

  it("refuses a tag the Pulumi program would refuse, with infra/config.ts's message", () => {
    expect(() => withImage(stackFile("dev", "x"), "dev", "bad tag!", digest)).toThrow(
      'parley:imageTag = "bad tag!" is not allowed: expected a container image tag',
    );
    expect(() => withImage(stackFile("prod", "x"), "prod", "latest", digest)).toThrow(
      'parley:imageTag = "latest" is not allowed in prod',
    );
    expect(() => withImage(stackFile("prod", "x"), "prod", "sha-1", "sha256:abc")).toThrow(
      'parley:imageDigest = "sha256:abc" is not allowed: expected an image digest',
    );
  });

  it("set-image-tag.ts writes every stack, or none when one would be invalid", {
    timeout: 240_000,
  }, async () => {
    const dir = temporaryDirectory("parley-set-image-tag-");
    writeFileSync(join(dir, "Pulumi.dev.yaml"), stackFile("dev", "sha-000000000000"));
    writeFileSync(join(dir, "Pulumi.prod.yaml"), stackFile("prod", "sha-000000000000"));

    const ok = await cli(
      "set-image-tag.ts",
      ["sha-abcdef123456", otherDigest, "Pulumi.dev.yaml", "Pulumi.prod.yaml"],
      dir,
    );
    expect(ok).toMatchObject({
      code: 0,
      stdout: `parley:imageTag = sha-abcdef123456, parley:imageDigest = ${otherDigest} in Pulumi.dev.yaml, Pulumi.prod.yaml\n`,
    });
    for (const stack of ["dev", "prod"] as const) {
      const text = readFileSync(join(dir, `Pulumi.${stack}.yaml`), "utf8");
      expect(stackConfigOf(text, stack).imageTag).toBe("sha-abcdef123456");
    }

    const refused = await cli(
      "set-image-tag.ts",
      ["latest", digest, "Pulumi.dev.yaml", "Pulumi.prod.yaml"],
      dir,
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(
        /^set-image-tag: Invalid stack config: .*parley:imageTag = "latest" is not allowed in prod/,
      ),
    ]);
    // dev would have accepted "latest", but the stacks move together: neither file changed.
    expect(stackConfigOf(readFileSync(join(dir, "Pulumi.dev.yaml"), "utf8"), "dev").imageTag).toBe(
      "sha-abcdef123456",
    );

    const usage = await cli("set-image-tag.ts", [], dir);
    expect(usage).toMatchObject({
      code: 1,
      stderr: "set-image-tag: usage: set-image-tag.ts <tag> <digest> <Pulumi.<stack>.yaml>...\n",
    });
  });

  it("image-targets.ts lists each stack's ECR repository and region once", { timeout: 240_000 }, async () => {
    const dir = temporaryDirectory("parley-image-targets-");
    writeFileSync(join(dir, "Pulumi.dev.yaml"), stackFile("dev", "sha-000000000000"));
    writeFileSync(
      join(dir, "Pulumi.prod.yaml"),
      stackFile("prod", "sha-000000000000").replace("eu-west-1", "us-east-1"),
    );
    const listed = await cli(
      "image-targets.ts",
      ["Pulumi.dev.yaml", "Pulumi.prod.yaml", "Pulumi.dev.yaml"],
      dir,
    );
    expect(listed).toMatchObject({ code: 0, stdout: "eu-west-1 parley-dev\nus-east-1 parley-prod\n" });

    writeFileSync(
      join(dir, "Pulumi.dev.yaml"),
      stackFile("dev", "sha-0").replace("10.40.0.0/16", "10.40.0.0/8"),
    );
    const invalid = await cli("image-targets.ts", ["Pulumi.dev.yaml"], dir);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(
      /^image-targets: Invalid stack config: .*parley:vpcCidr = "10\.40\.0\.0\/8" is not allowed/,
    );

    writeFileSync(join(dir, "Pulumi.dev.yaml"), stackFile("dev", "sha-0"));
    const withDigest = await cli("image-targets.ts", ["--digest", "Pulumi.dev.yaml"], dir);
    expect(withDigest).toMatchObject({ code: 0, stdout: `eu-west-1 parley-dev ${digest}\n` });
    writeFileSync(
      join(dir, "Pulumi.dev.yaml"),
      stackFile("dev", "sha-0").replace(/ {2}parley:imageDigest:.*\n/, ""),
    );
    const noDigest = await cli("image-targets.ts", ["--digest", "Pulumi.dev.yaml"], dir);
    expect(noDigest).toMatchObject({
      code: 1,
      stderr:
        "image-targets: Pulumi.dev.yaml has no parley:imageDigest: the pipeline deploys by digest; merge the image PR app-release.yml opens\n",
    });
  });
});
