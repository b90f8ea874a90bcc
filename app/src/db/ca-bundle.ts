/**
 * The RDS CA bundle the image ships: AWS publishes one bundle with the root and intermediate
 * certificates of every Region at `rdsCaBundleUrl` in contracts/database.ts (docs.aws.amazon.com/AmazonRDS/latest/UserGuide/
 * UsingWithRDS.SSL.html, "Certificate bundles by AWS Region"). The image build downloads it and runs
 * this check (`node scripts/bootstrap.mjs app/src/db/ca-bundle.ts <file>`), so a truncated or HTML
 * download fails the build instead of every connection. Connection URLs name it with
 * `sslrootcert=<rdsCaBundlePath>`.
 */
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";

const pemBlock = /-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+?-----END CERTIFICATE-----/g;

/** Every certificate in a PEM bundle; throws a readable error unless it holds only CA certificates. */
export function parseCaBundle(pem: string, source = "the CA bundle"): X509Certificate[] {
  const blocks = pem.match(pemBlock) ?? [];
  if (blocks.length === 0) throw new Error(`${source}: no PEM certificate found (${pem.length} bytes)`);
  return blocks.map((block, index) => {
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(block);
    } catch (error) {
      throw new Error(`${source}: certificate ${index + 1} does not parse: ${(error as Error).message}`);
    }
    if (!certificate.ca)
      throw new Error(`${source}: certificate ${index + 1} (${certificate.subject}) is not a CA`);
    return certificate;
  });
}

export function caBundleCli(args: string[]): number {
  const [file] = args;
  if (!file) {
    console.error("ca-bundle: expected the bundle's file name");
    return 1;
  }
  try {
    const certificates = parseCaBundle(readFileSync(file, "utf8"), file);
    console.log(`ca-bundle: ${file} holds ${certificates.length} CA certificates`);
    return 0;
  } catch (error) {
    console.error(`ca-bundle: ${(error as Error).message}`);
    return 1;
  }
}

if (/ca-bundle\.[cm]?[jt]s$/.test(process.argv[1] ?? ""))
  process.exitCode = caBundleCli(process.argv.slice(2));
