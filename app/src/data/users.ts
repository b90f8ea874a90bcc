/** Users and their organizations. */
import type { Database } from "../db/database";

export interface UserRow {
  id: string;
  email: string;
  organization_id: string;
  password_hash: string;
}

export class EmailTakenError extends Error {
  override name = "EmailTakenError";
}

export class UserStore {
  constructor(private readonly db: Database) {}

  /** Creates a user with a new organization of their own. */
  async register(input: {
    email: string;
    passwordHash: string;
    name?: string;
    organization?: string;
  }): Promise<Omit<UserRow, "password_hash">> {
    try {
      return await this.db.transaction("users.register", async (client) => {
        const organization = await client.query<{ id: string }>(
          "INSERT INTO organizations (name) VALUES ($1) RETURNING id",
          [input.organization ?? input.email.split("@")[1] ?? input.email],
        );
        const user = await client.query<Omit<UserRow, "password_hash">>(
          `INSERT INTO users (organization_id, email, name, password_hash) VALUES ($1, $2, $3, $4)
           RETURNING id, email, organization_id`,
          [organization.rows[0]!.id, input.email, input.name ?? null, input.passwordHash],
        );
        return user.rows[0]!;
      });
    } catch (error) {
      if ((error as { code?: string }).code === "23505")
        throw new EmailTakenError("email is already registered");
      throw error;
    }
  }

  /** On the primary: a login right after registering must find the user. */
  async findByEmail(email: string): Promise<UserRow | undefined> {
    const result = await this.db.query<UserRow>(
      "primary",
      "users.by_email",
      "SELECT id, email, organization_id, password_hash FROM users WHERE lower(email) = lower($1)",
      [email],
    );
    return result.rows[0];
  }
}
