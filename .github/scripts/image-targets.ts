/**
 * Usage: tsx .github/scripts/image-targets.ts <Pulumi.<stack>.yaml>...
 * Prints one `<aws region> <ECR repository name>` line per distinct target the stacks pull the app
 * image from (read from the committed stack config, never a second copy of it), for the push loop.
 */
import { readFileSync } from "node:fs";
import { stackConfigOf, stackOfConfigFile } from "./stack-config";

try {
  const files = process.argv.slice(2);
  if (files.length === 0) throw new Error("usage: image-targets.ts <Pulumi.<stack>.yaml>...");
  const targets = new Set(
    files.map((file) => {
      const config = stackConfigOf(readFileSync(file, "utf8"), stackOfConfigFile(file));
      return `${config.region} ${config.ecrRepositoryName}`;
    }),
  );
  console.log([...targets].join("\n"));
} catch (error) {
  console.error(`image-targets: ${(error as Error).message.replaceAll("\n", " ")}`);
  process.exit(1);
}
