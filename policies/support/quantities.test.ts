import { describe, expect, it } from "vitest";
import { bytes, cpuMillicores, gibibytes, mebibytes } from "./quantities";

describe("cpuMillicores", () => {
  it("reads millicores, cores, fractional cores and numbers", () => {
    expect(cpuMillicores("500m")).toBe(500);
    expect(cpuMillicores("2")).toBe(2000);
    expect(cpuMillicores("1.25")).toBe(1250);
    expect(cpuMillicores(" 250m ")).toBe(250);
    expect(cpuMillicores(2)).toBe(2000);
  });

  it("refuses a memory suffix and anything that is not a quantity", () => {
    expect(() => cpuMillicores("5k")).toThrow('"5k" is not a CPU quantity (cores or millicores)');
    expect(() => cpuMillicores("512Mi")).toThrow('"512Mi" is not a CPU quantity (cores or millicores)');
    for (const bad of ["abc", "m500", "500m extra", "1.5.2", "-1", ".5", "5."])
      expect(() => cpuMillicores(bad)).toThrow(`"${bad}" is not a Kubernetes quantity`);
  });
});

describe("bytes, mebibytes and gibibytes", () => {
  it("reads binary and decimal suffixes", () => {
    expect(mebibytes("512Mi")).toBe(512);
    expect(mebibytes("1Gi")).toBe(1024);
    expect(mebibytes("1.25Gi")).toBe(1280);
    expect(mebibytes("1024Ki")).toBe(1);
    expect(gibibytes("256Gi")).toBe(256);
    expect(gibibytes("1Ti")).toBe(1024);
    expect(bytes("1G")).toBe(1e9);
    expect(bytes("2M")).toBe(2e6);
    expect(bytes("3k")).toBe(3000);
    expect(bytes("4T")).toBe(4e12);
    expect(bytes("123")).toBe(123);
    expect(bytes(64)).toBe(64);
  });

  it("refuses an unknown suffix", () => {
    expect(() => bytes("5Xi")).toThrow('"5Xi" is not a memory quantity');
    expect(() => mebibytes("500m")).toThrow('"500m" is not a memory quantity');
  });
});
