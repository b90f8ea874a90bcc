/**
 * Usage: tsx .github/scripts/set-image-tag.ts <tag> <digest> <Pulumi.<stack>.yaml>...
 * Sets `parley:imageTag` and `parley:imageDigest` in each stack config file (validated by
 * infra/config.ts). The files are then committed on a branch and proposed as a pull request: the only
 * way an image reaches a stack, and it reaches it by digest.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { stackOfConfigFile, withImage } from "./stack-config";

const [tag, digest, ...files] = process.argv.slice(2);
try {
  if (!tag || !digest || files.length === 0)
    throw new Error("usage: set-image-tag.ts <tag> <digest> <Pulumi.<stack>.yaml>...");
  const updates = files.map((file) => ({
    file,
    text: withImage(readFileSync(file, "utf8"), stackOfConfigFile(file), tag, digest),
  }));
  // Every file is validated before any is written: all stacks move together or none does.
  for (const { file, text } of updates) writeFileSync(file, text);
  console.log(`parley:imageTag = ${tag}, parley:imageDigest = ${digest} in ${files.join(", ")}`);
} catch (error) {
  console.error(`set-image-tag: ${(error as Error).message.replaceAll("\n", " ")}`);
  process.exit(1);
}
