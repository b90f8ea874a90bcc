/**
 * The database's least-privilege login roles: the app's (DML only) and the exporter's (`pg_monitor`).
 * Their passwords are generated here and kept in Secrets Manager (encrypted with the database's KMS
 * key); the migration Job receives them and creates or updates the roles (app/src/db/roles.ts), so
 * replacing a password here and running `pulumi up` rotates it. The master user stays with the
 * migration Job alone.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { databaseRoles } from "../../contracts/database";
import type { StackName } from "../../contracts/stacks";
import { componentNaming, componentType } from "../naming";
import type { DataProtection } from "../profile";

export interface DatabaseRolesArgs {
  stack: StackName;
  /** The database's KMS key: the role secrets are encrypted like the master credentials. */
  kmsKeyArn: pulumi.Input<string>;
  primaryHost: pulumi.Input<string>;
  port: pulumi.Input<number>;
  databaseName: pulumi.Input<string>;
  /** How the secrets are protected from a mistaken destroy (infra/profile.ts). */
  protection: DataProtection;
}

export interface RoleCredentials {
  username: string;
  password: pulumi.Output<string>;
  /** The Secrets Manager secret holding username, password, host, port and database name. */
  secretArn: pulumi.Output<string>;
}

export class DatabaseRoles extends pulumi.ComponentResource {
  readonly app: RoleCredentials;
  readonly exporter: RoleCredentials;

  constructor(name: string, args: DatabaseRolesArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentType("DatabaseRoles"), name, {}, opts);
    const n = componentNaming(name, args.stack, "database-roles");
    const parent = { parent: this };

    const role = (key: keyof typeof databaseRoles, description: string): RoleCredentials => {
      const username = databaseRoles[key].name;
      // Letters and digits only: the password travels in URLs and SQL literals (both escape it anyway).
      const password = new random.RandomPassword(
        n.name(key, "password"),
        { length: 40, special: false },
        parent,
      );
      const secret = new aws.secretsmanager.Secret(
        n.name(key),
        {
          description,
          kmsKeyId: args.kmsKeyArn,
          recoveryWindowInDays: args.protection.secretRecoveryWindowDays,
          tags: n.tags({ role: key }),
        },
        parent,
      );
      new aws.secretsmanager.SecretVersion(
        n.name(key, "value"),
        {
          secretId: secret.id,
          secretString: pulumi.jsonStringify({
            engine: "postgres",
            host: args.primaryHost,
            port: args.port,
            dbname: args.databaseName,
            username,
            password: password.result,
          }),
        },
        parent,
      );
      return { username, password: pulumi.secret(password.result), secretArn: secret.arn };
    };
    this.app = role("app", "Parley PostgreSQL login of the app (DML only)");
    this.exporter = role("exporter", "Parley PostgreSQL login of postgres_exporter (pg_monitor)");

    this.registerOutputs({ appSecretArn: this.app.secretArn, exporterSecretArn: this.exporter.secretArn });
  }
}
