/** `npm run docs:config`: rewrites the README's stack-config table from infra/config.ts. */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { withConfigTable } from "./config-table";

const readmePath = join(__dirname, "..", "README.md");
const before = readFileSync(readmePath, "utf8");
const after = withConfigTable(before);
if (after !== before) writeFileSync(readmePath, after);
console.log(after === before ? "README.md config table is up to date" : "README.md config table rewritten");
