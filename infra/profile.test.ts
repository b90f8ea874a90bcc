/**
 * The per-stack profile: prod keeps its data and survives an AZ, dev is cheap and disposable, and
 * retention follows the stack config. Components take these as options and never ask which stack
 * they are in.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { type ProfileConfig, stackProfile } from "./profile";
import { scalingPolicyFor } from "./scaling/policy";

const config = (stack: "prod" | "dev"): ProfileConfig => ({
  stack,
  dbBackupRetentionDays: 14,
  logRetentionDays: 90,
  prometheusRetention: "30d",
  prometheusStorageGiB: 200,
});

describe("stackProfile", () => {
  it("protects prod's data: deletion protection, final snapshots, 30-day secret recovery, changes in the maintenance window", () => {
    expect(stackProfile(config("prod")).protection).toEqual({
      deletionProtection: true,
      finalSnapshot: true,
      secretRecoveryWindowDays: 30,
      forceDestroyContents: false,
      applyImmediately: false,
    });
  });

  it("lets dev be destroyed and recreated: no deletion protection or final snapshot, secrets freed at once", () => {
    expect(stackProfile(config("dev")).protection).toEqual({
      deletionProtection: false,
      finalSnapshot: false,
      secretRecoveryWindowDays: 0,
      forceDestroyContents: true,
      applyImmediately: true,
    });
  });

  it("runs prod's database Multi-AZ with 15 s Enhanced Monitoring, dev's single-AZ with 60 s", () => {
    expect(stackProfile(config("prod")).database).toMatchObject({
      multiAz: true,
      monitoringIntervalSeconds: 15,
    });
    expect(stackProfile(config("dev")).database).toMatchObject({
      multiAz: false,
      monitoringIntervalSeconds: 60,
    });
  });

  it("keeps 7 days of Redis snapshots in prod and 1 in dev", () => {
    expect(stackProfile(config("prod")).cache.snapshotRetentionDays).toBe(7);
    expect(stackProfile(config("dev")).cache.snapshotRetentionDays).toBe(1);
  });

  it("runs monitoring highly available in prod only", () => {
    expect(stackProfile(config("prod")).monitoring.highlyAvailable).toBe(true);
    expect(stackProfile(config("dev")).monitoring.highlyAvailable).toBe(false);
  });

  it("takes backup, log and Prometheus retention from the stack config, and sizes from the scaling policy", () => {
    const profile = stackProfile({
      ...config("dev"),
      dbBackupRetentionDays: 3,
      logRetentionDays: 60,
      prometheusRetention: "5w",
      prometheusStorageGiB: 50,
    });
    expect(profile.database).toMatchObject({
      backupRetentionDays: 3,
      backupWindow: "02:00-03:00",
      maintenanceWindow: "sun:03:30-sun:04:30",
    });
    expect(profile.logRetentionDays).toBe(60);
    expect(profile.monitoring).toMatchObject({ retention: "5w", storageGiB: 50 });
    expect(profile.scaling).toEqual(scalingPolicyFor("dev"));
  });
});

describe("components", () => {
  const componentsDir = path.join(__dirname, "components");
  const sources = (readdirSync(componentsDir, { recursive: true }) as string[])
    .filter((file) => file.endsWith(".ts") && !file.endsWith(".test.ts"))
    .map((file) => ({ file, text: readFileSync(path.join(componentsDir, file), "utf8") }));

  it("do not branch on the stack's name (environment differences come from infra/profile.ts)", () => {
    const branching =
      /\bstack\s*[!=]==?\s*["'](prod|dev)["']|["'](prod|dev)["']\s*[!=]==?\s*\S*stack\b|\bprod\s*\?|!prod\b/;
    expect(sources.length).toBeGreaterThan(10);
    expect(sources.filter(({ text }) => branching.test(text)).map(({ file }) => file)).toEqual([]);
  });
});
