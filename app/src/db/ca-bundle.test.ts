import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { caBundleCli, parseCaBundle } from "./ca-bundle";

let dir: string;
const read = (name: string) => readFileSync(join(dir, name), "utf8");

function openssl(args: string[]): void {
  const run = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
  if (run.status !== 0) throw new Error(`openssl ${args.join(" ")}: ${run.stderr}`);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "ca-bundle-"));
  for (const name of ["root-a", "root-b"])
    openssl([
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-days",
      "2",
      "-subj",
      `/CN=${name}`,
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.pem`,
    ]);
  openssl([
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-days",
    "2",
    "-subj",
    "/CN=db.example.internal",
    "-addext",
    "basicConstraints=critical,CA:FALSE",
    "-keyout",
    "leaf.key",
    "-out",
    "leaf.pem",
  ]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("parseCaBundle", () => {
  it("reads every CA certificate of a concatenated bundle", () => {
    const bundle = `${read("root-a.pem")}\n${read("root-b.pem")}`;
    expect(parseCaBundle(bundle).map((certificate) => certificate.subject)).toEqual([
      "CN=root-a",
      "CN=root-b",
    ]);
  });

  it("refuses what is not a bundle of CA certificates, saying why", () => {
    expect(() => parseCaBundle("<html>Access Denied</html>", "bundle.pem")).toThrow(
      "bundle.pem: no PEM certificate found (26 bytes)",
    );
    expect(() => parseCaBundle(`${read("root-a.pem")}${read("leaf.pem")}`)).toThrow(
      "the CA bundle: certificate 2 (CN=db.example.internal) is not a CA",
    );
    const truncated = read("root-a.pem").replace(/\n[A-Za-z0-9+/=]{20,}\n/, "\nAAAA\n");
    expect(() => parseCaBundle(truncated)).toThrow(/the CA bundle: certificate 1 does not parse/);
  });
});

describe("the image build's check", () => {
  it("exits 0 for a good bundle and 1 with one line for a bad one", () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const logs = vi.spyOn(console, "log").mockImplementation(() => undefined);
    try {
      writeFileSync(join(dir, "good.pem"), read("root-a.pem"));
      expect(caBundleCli([join(dir, "good.pem")])).toBe(0);
      expect(logs).toHaveBeenCalledWith(`ca-bundle: ${join(dir, "good.pem")} holds 1 CA certificates`);
      writeFileSync(join(dir, "bad.pem"), "");
      expect(caBundleCli([join(dir, "bad.pem")])).toBe(1);
      expect(errors).toHaveBeenCalledWith(
        `ca-bundle: ${join(dir, "bad.pem")}: no PEM certificate found (0 bytes)`,
      );
      expect(caBundleCli([])).toBe(1);
    } finally {
      errors.mockRestore();
      logs.mockRestore();
    }
  });
});
