/**
 * `npm run test:mutation [-- stryker options]`: StrykerJS over the server-free modules
 * (stryker.config.mjs), on the Node.js bootstrap runs. Fails when the score is below `break`.
 */
import { spawnSync } from "node:child_process";

const result = spawnSync("npx", ["stryker", "run", "stryker.config.mjs", ...process.argv.slice(2)], {
  stdio: "inherit",
});
process.exit(result.status ?? 1);
