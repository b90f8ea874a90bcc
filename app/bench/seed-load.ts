/**
 * A load-sized data set for query plans and benchmarks, written set-based (generate_series) in one
 * transaction, then every day of the daily analytics recomputed and every table vacuumed and analysed:
 *
 *   npm run seed:load -- --messages 1000000 --conversations 10000 [--months 6]
 *
 * against DATABASE_URL (default: the local platform's "parley" database, see scripts/local-app.ts),
 * migrated first. Realistic shape: one organization per 500 conversations with 10 users and 3
 * chatbots each, conversations spread over orgs, users and chatbots with a skew (a few busy ones),
 * conversation lengths with a long tail (most a few dozen messages, some thousands), timestamps spread
 * over the last `months` months (one partition each) and a day of idempotency keys. Every run adds a
 * new set (its own organizations), so runs can be repeated; users log in with `seedPassword`.
 */
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import pg from "pg";
import { hashPassword } from "../src/auth/password";
import { migrate } from "../src/db/migrate";

export const seedPassword = "load-test-password";
export const defaultDatabaseUrl = "postgres://postgres@127.0.0.1:55432/parley";

export interface SeedOptions {
  messages: number;
  conversations: number;
  /** Months of history, this one included. */
  months: number;
}

export interface SeedResult extends SeedOptions {
  run: string;
  organizations: number;
  users: number;
  chatbots: number;
  /** One of the seeded users, to log in as (password `seedPassword`). */
  sampleEmail: string;
  seconds: number;
  steps: Array<{ step: string; seconds: number }>;
}

export class SeedArgumentError extends Error {
  override name = "SeedArgumentError";
}

const limits = {
  messages: { min: 2, max: 50_000_000 },
  conversations: { min: 1, max: 5_000_000 },
  months: { min: 1, max: 24 },
} as const;

/** The options from command-line arguments; a SeedArgumentError names what is wrong. */
export function parseSeedArgs(args: string[]): SeedOptions {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        messages: { type: "string", default: "1000000" },
        conversations: { type: "string", default: "10000" },
        months: { type: "string", default: "6" },
      },
    }));
  } catch (error) {
    throw new SeedArgumentError(
      `${(error as Error).message.split("\n")[0]} (allowed: --messages N --conversations N --months N)`,
    );
  }
  const number = (name: keyof typeof limits) => {
    const raw = values[name]!;
    const value = Number(raw);
    const { min, max } = limits[name];
    if (!/^\d+$/.test(raw) || value < min || value > max)
      throw new SeedArgumentError(`--${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
    return value;
  };
  const options = {
    messages: number("messages"),
    conversations: number("conversations"),
    months: number("months"),
  };
  if (options.messages < 2 * options.conversations)
    throw new SeedArgumentError(
      `--messages (${options.messages}) must be at least twice --conversations (${options.conversations}): every conversation has at least one exchange`,
    );
  return options;
}

const userQuestions = [
  "How do I reset my password?",
  "Which plans do you offer and what does the team plan cost per seat?",
  "Can I export all of my conversations as CSV?",
  "What are your opening hours on public holidays?",
  "Is there an API limit for the free plan, and what happens when I reach it?",
  "How do I add a colleague to my workspace?",
  "Where can I download last month's invoice?",
  "Does the chatbot support French and German?",
];
const assistantAnswers = [
  "Use the 'Forgot password' link on the sign-in page; the link in the email is valid for one hour.",
  "There are three plans: Free, Team and Enterprise. Team costs 20 euros per seat and month and adds analytics, shared inboxes and priority support; Enterprise adds single sign-on and a dedicated region.",
  "Yes: open Settings, then Data, then Export. The export contains every conversation with its messages and timestamps, and you receive an email when it is ready to download.",
  "We answer Monday to Friday from 9:00 to 17:00 UTC; on public holidays the chatbot answers alone and a person replies the next working day.",
  "The free plan allows 1000 API requests per day. Beyond that requests are answered with 429 until midnight UTC, or you can upgrade to Team at any time without losing data.",
  "Open Settings, then Members, and invite them by email. They join with the role you choose and can be removed at any time.",
  "Invoices are under Settings, Billing; each one can be downloaded as PDF.",
  "Yes, it answers in the language of the question when its knowledge base has entries in that language.",
];

const sqlArray = (values: string[]) =>
  `ARRAY[${values.map((v) => `'${v.replaceAll("'", "''")}'`).join(", ")}]`;

/** Month partitions of `messages` covering the last `months` months (named as ensureMessagePartitions names them). */
async function ensureHistoryPartitions(client: pg.ClientBase, months: number): Promise<void> {
  const now = new Date();
  for (let offset = -months; offset <= 0; offset++) {
    const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1));
    const to = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth() + 1, 1));
    const day = (date: Date) => date.toISOString().slice(0, 10);
    const name = `messages_${day(from).slice(0, 7).replace("-", "_")}`;
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${name} PARTITION OF messages FOR VALUES FROM ('${day(from)}') TO ('${day(to)}')`,
    );
  }
}

export async function seedLoad(databaseUrl: string, options: SeedOptions): Promise<SeedResult> {
  const started = performance.now();
  const steps: SeedResult["steps"] = [];
  const step = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
    const at = performance.now();
    const result = await run();
    steps.push({ step: name, seconds: (performance.now() - at) / 1000 });
    return result;
  };
  const run = randomUUID().slice(0, 8);
  const organizations = Math.max(1, Math.round(options.conversations / 500));
  const usersPerOrganization = 10;
  const chatbotsPerOrganization = 3;
  const passwordHash = await hashPassword(seedPassword);
  await step("migrate", () => migrate(databaseUrl));
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query("BEGIN");
    await client.query("SET LOCAL synchronous_commit = off");
    await client.query("SET LOCAL work_mem = '256MB'");
    await client.query("SET LOCAL maintenance_work_mem = '256MB'");
    // The foreign keys hold by construction: skip their per-row triggers (a superuser setting; without
    // the privilege every row is checked, which is slower but the same data).
    await client.query("SAVEPOINT replication_role");
    await client
      .query("SET LOCAL session_replication_role = replica")
      .catch(() => client.query("ROLLBACK TO SAVEPOINT replication_role"));
    await step("partitions", () => ensureHistoryPartitions(client, options.months));
    await step("organizations, users, chatbots", async () => {
      await client.query(
        `CREATE TEMP TABLE seed_organizations ON COMMIT DROP AS
         SELECT n, gen_random_uuid() AS id FROM generate_series(1, $1) n`,
        [organizations],
      );
      await client.query(
        `INSERT INTO organizations (id, name) SELECT id, 'Load ' || $1 || ' org ' || n FROM seed_organizations`,
        [run],
      );
      await client.query(
        `CREATE TEMP TABLE seed_users ON COMMIT DROP AS
         SELECT o.n AS organization, o.id AS organization_id, u AS n, gen_random_uuid() AS id
         FROM seed_organizations o, generate_series(1, $1) u`,
        [usersPerOrganization],
      );
      await client.query(
        `INSERT INTO users (id, organization_id, email, name, password_hash)
         SELECT id, organization_id, 'load-' || $1 || '-' || organization || '-' || n || '@example.com',
                'Load user ' || n, $2
         FROM seed_users`,
        [run, passwordHash],
      );
      await client.query(
        `CREATE TEMP TABLE seed_chatbots ON COMMIT DROP AS
         SELECT o.n AS organization, o.id AS organization_id, b AS n, gen_random_uuid() AS id
         FROM seed_organizations o, generate_series(1, $1) b`,
        [chatbotsPerOrganization],
      );
      const knowledge = userQuestions.map((question, i) => ({ question, answer: assistantAnswers[i] }));
      await client.query(
        `INSERT INTO chatbots (id, organization_id, name, system_prompt, knowledge)
         SELECT id, organization_id, 'Load bot ' || n, 'Answer briefly from the knowledge base.', $1::jsonb
         FROM seed_chatbots`,
        [JSON.stringify(knowledge)],
      );
    });
    await step("conversations", async () => {
      // Skews: power(random(), 2) favours the first organizations, users and chatbots; a length weight
      // of 1 / (0.01 + random()) gives most conversations a few dozen messages and some thousands.
      // Lengths are 2 + a share of the rest in proportion to the weight, summing to exactly `messages`:
      // the weights are numeric so the running sums telescope exactly (floats lost one message in 1M).
      await client.query(
        `CREATE TEMP TABLE seed_conversations ON COMMIT DROP AS
         WITH drawn AS (
           SELECT n,
                  1 + floor(power(random(), 2) * $2)::int AS organization,
                  1 + floor(random() * $3)::int AS user_n,
                  1 + floor(power(random(), 2) * $4)::int AS chatbot_n,
                  (1 / (0.01 + random()))::numeric(30, 12) AS weight,
                  20000 + floor(random() * 100000)::int AS step_ms,
                  random() AS age
           FROM generate_series(1, $1) n
         ), shared AS (
           SELECT *, sum(weight) OVER (ORDER BY n) AS upto, sum(weight) OVER () AS total FROM drawn
         )
         SELECT *, date_trunc('milliseconds', least(
                  now() - make_interval(secs => age * $6),
                  now() - make_interval(secs => length * step_ms / 1000.0 + 60))) AS started
         FROM (
           SELECT s.n, gen_random_uuid() AS id, o.id AS organization_id, u.id AS user_id, b.id AS chatbot_id,
                  s.step_ms, s.age,
                  2 + floor(($5::bigint - 2 * $1) * s.upto / s.total)::int
                    - floor(($5::bigint - 2 * $1) * (s.upto - s.weight) / s.total)::int AS length
           FROM shared s
           JOIN seed_organizations o ON o.n = s.organization
           JOIN seed_users u ON u.organization = s.organization AND u.n = s.user_n
           JOIN seed_chatbots b ON b.organization = s.organization AND b.n = s.chatbot_n
         ) conversation`,
        [
          options.conversations,
          organizations,
          usersPerOrganization,
          chatbotsPerOrganization,
          options.messages,
          // Starts spread over the months (within the oldest partition), each conversation over by now.
          (options.months * 28 - 1) * 86_400,
        ],
      );
      await client.query(
        `INSERT INTO conversations (id, organization_id, chatbot_id, user_id, title, created_at, last_message_at)
         SELECT id, organization_id, chatbot_id, user_id, 'Load conversation ' || n,
                started - interval '1 second',
                started + make_interval(secs => (length - 1) * step_ms / 1000.0)
         FROM seed_conversations`,
      );
    });
    await step("messages", () =>
      client.query(
        `INSERT INTO messages (conversation_id, organization_id, user_id, role, content, created_at)
         SELECT c.id, c.organization_id, c.user_id,
                CASE WHEN k % 2 = 0 THEN 'user' ELSE 'assistant' END,
                CASE WHEN k % 2 = 0 THEN (${sqlArray(userQuestions)})[1 + (c.n + k / 2) % ${userQuestions.length}]
                     ELSE (${sqlArray(assistantAnswers)})[1 + (c.n + k / 2) % ${assistantAnswers.length}] END,
                c.started + make_interval(secs => k * c.step_ms / 1000.0)
         FROM seed_conversations c CROSS JOIN LATERAL generate_series(0, c.length - 1) k`,
      ),
    );
    await step("idempotency keys", () =>
      // A day of retry keys, one per conversation for a tenth of them: maintenance expires the oldest few.
      client.query(
        `INSERT INTO idempotency_keys (user_id, key, conversation_id, response, request_hash, created_at, claimed_at)
         SELECT user_id, 'load-' || n, id, '{}'::jsonb, md5(n::text), t, t
         FROM (SELECT *, now() - make_interval(secs => random() * 87000) AS t
               FROM seed_conversations WHERE n % 10 = 0) c`,
      ),
    );
    await step("commit", () => client.query("COMMIT"));
    // Every day: the load wrote months of past messages.
    await step("refresh analytics", () =>
      client.query("SELECT public.parley_refresh_analytics('-infinity')"),
    );
    // VACUUM also sets the visibility map, so index-only scans skip the table as they would in service.
    await step("vacuum analyze", () => client.query("VACUUM (ANALYZE)"));
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    await client.end();
  }
  return {
    ...options,
    run,
    organizations,
    users: organizations * usersPerOrganization,
    chatbots: organizations * chatbotsPerOrganization,
    sampleEmail: `load-${run}-1-1@example.com`,
    seconds: (performance.now() - started) / 1000,
    steps,
  };
}

export async function seedLoadCli(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  try {
    const options = parseSeedArgs(args);
    const url = env.DATABASE_URL || defaultDatabaseUrl;
    console.log(
      `seed:load: ${options.messages} messages in ${options.conversations} conversations over ${options.months} months into ${url.replace(/\/\/[^@/]*@/, "//…@")}`,
    );
    const result = await seedLoad(url, options);
    for (const { step, seconds } of result.steps) console.log(`  ${step.padEnd(32)} ${seconds.toFixed(1)} s`);
    console.log(
      `seed:load: done in ${result.seconds.toFixed(1)} s (${result.organizations} organizations, ${result.users} users, ${result.chatbots} chatbots); log in as ${result.sampleEmail} / ${seedPassword}`,
    );
    return 0;
  } catch (error) {
    console.error(`seed:load: ${(error as Error).message.split("\n")[0]}`);
    return 1;
  }
}

if (/seed-load\.[cm]?[jt]s$/.test(process.argv[1] ?? ""))
  void seedLoadCli(process.argv.slice(2), process.env).then((code) => process.exit(code));
