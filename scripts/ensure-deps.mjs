// Installs npm dependencies when node_modules is missing or older than package-lock.json, so that
// `npm start` and `npm test` work on a fresh clone with no other step.
import { execSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";

const installedMarker = "node_modules/.package-lock.json";
const stale =
  !existsSync(installedMarker) || statSync("package-lock.json").mtimeMs > statSync(installedMarker).mtimeMs;
if (stale) {
  console.log("Installing npm dependencies from package-lock.json…");
  execSync("bash scripts/npm-install-locked.sh", { stdio: "inherit" });
}
