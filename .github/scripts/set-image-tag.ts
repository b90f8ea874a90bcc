/**
 * Usage: tsx .github/scripts/set-image-tag.ts <tag> <Pulumi.<stack>.yaml>...
 * Sets `parley:imageTag` in each stack config file (validated by infra/config.ts). The files are
 * then committed on a branch and proposed as a pull request: the only way a tag reaches a stack.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { stackOfConfigFile, withImageTag } from "./stack-config";

const [tag, ...files] = process.argv.slice(2);
try {
  if (!tag || files.length === 0) throw new Error("usage: set-image-tag.ts <tag> <Pulumi.<stack>.yaml>...");
  const updates = files.map((file) => ({
    file,
    text: withImageTag(readFileSync(file, "utf8"), stackOfConfigFile(file), tag),
  }));
  // Every file is validated before any is written: all stacks move together or none does.
  for (const { file, text } of updates) writeFileSync(file, text);
  console.log(`parley:imageTag = ${tag} in ${files.join(", ")}`);
} catch (error) {
  console.error(`set-image-tag: ${(error as Error).message.replaceAll("\n", " ")}`);
  process.exit(1);
}
