/**
 * The database's connection contract shared by the app, its image and the cluster: the login roles
 * the migration step creates (app/src/db/roles.ts) with the variables their passwords come from, and
 * where the image keeps the RDS CA bundle that every connection verifies the server against
 * (app/src/db/ca-bundle.ts checks it at build time).
 */

/** Role names, and the variables the migration step reads their passwords from. */
export const databaseRoles = {
  app: { name: "parley_app", passwordEnv: "DATABASE_APP_PASSWORD" },
  exporter: { name: "parley_exporter", passwordEnv: "DATABASE_EXPORTER_PASSWORD" },
} as const;

/**
 * AWS publishes one bundle with the root and intermediate certificates of every Region
 * (docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.SSL.html, "Certificate bundles by
 * AWS Region").
 */
export const rdsCaBundleUrl = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem";
/** Where the image keeps it (app/Dockerfile), readable by the app's user and copied by the exporter's init container. */
export const rdsCaBundlePath = "/srv/parley/certs/rds-global-bundle.pem";
