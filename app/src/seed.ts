/**
 * The demo tenant for the local platform: an organization, a user and a chatbot with a small
 * knowledge base. Idempotent: a second run finds them and returns the same ids.
 */
import pg from "pg";
import { hashPassword } from "./auth/password";
import type { AppConfig } from "./config";

export const demo = {
  email: "demo@parley.local",
  password: "parley-demo-password",
  organization: "Parley Demo",
  chatbot: "Parley Helper",
  systemPrompt: "You are Parley's friendly demo assistant.",
  knowledge: [
    {
      question: "What is Parley?",
      answer: "Parley is a chatbot service that answers from its knowledge base.",
    },
    {
      question: "What are your opening hours?",
      answer: "We are open Monday to Friday, 9:00 to 17:00 UTC.",
    },
    {
      question: "How do I reset my password?",
      answer: "Use the 'Forgot password' link on the sign-in page.",
    },
    {
      question: "Which plans do you offer?",
      answer: "There are three plans: Free, Team and Enterprise. Team adds analytics; Enterprise adds SSO.",
    },
  ],
};

export interface DemoTenant {
  email: string;
  password: string;
  organizationId: string;
  chatbotId: string;
}

export async function seedDemo(config: AppConfig): Promise<DemoTenant> {
  const client = new pg.Client({ connectionString: config.databaseUrl });
  await client.connect();
  try {
    await client.query("BEGIN");
    // Serializes concurrent seeders; released at COMMIT.
    await client.query("SELECT pg_advisory_xact_lock(hashtext('parley-seed-demo'))");
    let user = (
      await client.query<{ id: string; organization_id: string }>(
        "SELECT id, organization_id FROM users WHERE lower(email) = lower($1)",
        [demo.email],
      )
    ).rows[0];
    if (!user) {
      const organization = await client.query<{ id: string }>(
        "INSERT INTO organizations (name) VALUES ($1) RETURNING id",
        [demo.organization],
      );
      user = (
        await client.query<{ id: string; organization_id: string }>(
          `INSERT INTO users (organization_id, email, name, password_hash) VALUES ($1, $2, 'Demo User', $3)
           RETURNING id, organization_id`,
          [organization.rows[0]!.id, demo.email, await hashPassword(demo.password)],
        )
      ).rows[0]!;
    }
    const existing = await client.query<{ id: string }>(
      "SELECT id FROM chatbots WHERE organization_id = $1 AND name = $2 ORDER BY created_at LIMIT 1",
      [user.organization_id, demo.chatbot],
    );
    const chatbotId =
      existing.rows[0]?.id ??
      (
        await client.query<{ id: string }>(
          "INSERT INTO chatbots (organization_id, name, system_prompt, knowledge) VALUES ($1, $2, $3, $4) RETURNING id",
          [user.organization_id, demo.chatbot, demo.systemPrompt, JSON.stringify(demo.knowledge)],
        )
      ).rows[0]!.id;
    await client.query("COMMIT");
    return { email: demo.email, password: demo.password, organizationId: user.organization_id, chatbotId };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    await client.end();
  }
}

/** The line the local platform prints so a user can sign in. */
export const describeDemo = (tenant: DemoTenant) =>
  `demo login: email ${tenant.email} password ${tenant.password} (chatbot ${tenant.chatbotId})`;
