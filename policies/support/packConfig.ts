/**
 * The pack config of each stack: the same JSON files `pulumi preview --policy-pack-config` takes.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { PackConfig } from "../offline";

export const packConfigDirectory = path.resolve(__dirname, "..", "config");

export function packConfigPath(stack: string): string {
  return path.join(packConfigDirectory, `${stack}.json`);
}

export function loadPackConfig(stack: string): PackConfig {
  return JSON.parse(readFileSync(packConfigPath(stack), "utf8")) as PackConfig;
}
