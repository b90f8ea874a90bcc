/**
 * Usage: tsx .github/scripts/image-targets.ts [--digest] <Pulumi.<stack>.yaml>...
 * Prints one `<aws region> <ECR repository name>` line per distinct target the stacks pull the app
 * image from (read from the committed stack config, never a second copy of it), for the push loop.
 * With --digest, each line also carries the stack's `parley:imageDigest` (an error when unset: the
 * pipeline deploys by digest only).
 */
import { readFileSync } from "node:fs";
import { stackConfigOf, stackOfConfigFile } from "./stack-config";

try {
  const withDigest = process.argv[2] === "--digest";
  const files = process.argv.slice(withDigest ? 3 : 2);
  if (files.length === 0) throw new Error("usage: image-targets.ts [--digest] <Pulumi.<stack>.yaml>...");
  const targets = new Set(
    files.map((file) => {
      const config = stackConfigOf(readFileSync(file, "utf8"), stackOfConfigFile(file));
      if (!withDigest) return `${config.region} ${config.ecrRepositoryName}`;
      if (!config.imageDigest) {
        throw new Error(
          `${file} has no parley:imageDigest: the pipeline deploys by digest; merge the image PR app-release.yml opens`,
        );
      }
      return `${config.region} ${config.ecrRepositoryName} ${config.imageDigest}`;
    }),
  );
  console.log([...targets].join("\n"));
} catch (error) {
  console.error(`image-targets: ${(error as Error).message.replaceAll("\n", " ")}`);
  process.exit(1);
}
