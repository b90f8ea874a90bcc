/**
 * The schema, as ordered migrations. Applied once each (schema_migrations); never edit one that has
 * shipped, add a new one. Timestamps default to millisecond precision so keyset cursors (JavaScript
 * Dates) round-trip exactly.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const now = "date_trunc('milliseconds', clock_timestamp())";

export const migrations: Migration[] = [
  {
    version: 1,
    name: "tenants, users, chatbots, conversations, partitioned messages",
    sql: `
CREATE TABLE organizations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT ${now}
);

CREATE TABLE users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  email text NOT NULL,
  name text,
  password_hash text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT ${now}
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_organization_idx ON users (organization_id);

CREATE TABLE chatbots (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  name text NOT NULL,
  system_prompt text NOT NULL DEFAULT '',
  knowledge jsonb NOT NULL DEFAULT '[]',
  created_at timestamptz NOT NULL DEFAULT ${now},
  updated_at timestamptz NOT NULL DEFAULT ${now}
);
CREATE INDEX chatbots_organization_idx ON chatbots (organization_id, created_at DESC, id DESC);

CREATE TABLE conversations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  chatbot_id uuid NOT NULL REFERENCES chatbots (id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  title text,
  created_at timestamptz NOT NULL DEFAULT ${now},
  last_message_at timestamptz
);
CREATE INDEX conversations_chatbot_idx ON conversations (chatbot_id, created_at DESC);
CREATE INDEX conversations_organization_idx ON conversations (organization_id, created_at DESC, id DESC);
CREATE INDEX conversations_last_message_idx ON conversations (last_message_at);

-- Range-partitioned by month; partitions are created ahead of time by ensureMessagePartitions.
CREATE TABLE messages (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  organization_id uuid NOT NULL,
  user_id uuid,
  role text NOT NULL CHECK (role IN ('user', 'assistant')),
  content text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT ${now},
  PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
CREATE INDEX messages_conversation_idx ON messages (conversation_id, created_at DESC, id DESC);

-- A retried POST with the same Idempotency-Key returns the stored response.
CREATE TABLE idempotency_keys (
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  key text NOT NULL,
  conversation_id uuid NOT NULL,
  response jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT ${now},
  PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
`,
  },
  {
    version: 2,
    name: "daily analytics materialized view",
    sql: `
CREATE MATERIALIZED VIEW analytics_daily AS
SELECT organization_id,
       (created_at AT TIME ZONE 'UTC')::date AS day,
       count(DISTINCT conversation_id) AS conversations,
       count(*) AS messages,
       count(DISTINCT user_id) AS unique_users
FROM messages
GROUP BY organization_id, (created_at AT TIME ZONE 'UTC')::date;
-- REFRESH ... CONCURRENTLY needs a unique index.
CREATE UNIQUE INDEX analytics_daily_key ON analytics_daily (organization_id, day);
`,
  },
  {
    version: 3,
    name: "AI plans, monthly token budgets and usage per day",
    sql: `
-- NULL plan: the default plan (app/src/ai/plans.ts); monthly_token_budget overrides the plan's budget.
ALTER TABLE organizations ADD COLUMN plan text, ADD COLUMN monthly_token_budget bigint
  CHECK (monthly_token_budget >= 0);

-- The chatbot's AI settings: cheap and strong model, semantic cache threshold.
ALTER TABLE chatbots ADD COLUMN ai jsonb NOT NULL DEFAULT '{}';

-- The budget check: tokens used this month and tokens reserved by replies in progress.
CREATE TABLE ai_token_budget (
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  month date NOT NULL,
  used_tokens bigint NOT NULL DEFAULT 0,
  reserved_tokens bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (organization_id, month)
);

-- Replies per day by where they came from. For cache rows the tokens and cost are what the
-- provider would have charged: the savings.
CREATE TABLE ai_usage_daily (
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  day date NOT NULL,
  source text NOT NULL CHECK (source IN ('provider', 'exact_cache', 'semantic_cache')),
  provider text NOT NULL,
  model text NOT NULL,
  route text NOT NULL,
  replies bigint NOT NULL DEFAULT 0,
  prompt_tokens bigint NOT NULL DEFAULT 0,
  completion_tokens bigint NOT NULL DEFAULT 0,
  cost_usd numeric(20, 10) NOT NULL DEFAULT 0,
  PRIMARY KEY (organization_id, day, source, provider, model, route)
);
CREATE INDEX ai_usage_daily_day_idx ON ai_usage_daily (day);
`,
  },
  {
    version: 4,
    name: "idempotency keys claimed before the reply, with the request's fingerprint",
    sql: `
-- A key is claimed (response NULL) before the assistant is asked, so concurrent duplicates wait for
-- one reply instead of each asking; request_hash tells a retry from another request under the same key.
ALTER TABLE idempotency_keys ALTER COLUMN response DROP NOT NULL;
ALTER TABLE idempotency_keys ADD COLUMN request_hash text;
ALTER TABLE idempotency_keys ADD COLUMN claim uuid;
ALTER TABLE idempotency_keys ADD COLUMN claimed_at timestamptz NOT NULL DEFAULT ${now};
`,
  },
  {
    version: 5,
    name: "maintenance DDL through SECURITY DEFINER functions the app role may only execute",
    sql: `
-- Creating a partition and refreshing the view need ownership, which the app's login role must not
-- have (app/src/db/roles.ts). These functions run as their owner, the migrating role, and do exactly
-- one thing each. Following the PostgreSQL manual (CREATE FUNCTION, "Writing SECURITY DEFINER
-- Functions Safely"): a pinned search_path with pg_temp last, schema-qualified names in the body, and
-- EXECUTE revoked from PUBLIC in the same transaction that creates them (roles.ts grants it to the app).
CREATE FUNCTION public.parley_create_message_partition(month date) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  first date := date_trunc('month', month)::date;
  name text := 'messages_' || to_char(first, 'YYYY_MM');
BEGIN
  IF month IS NULL OR month < date '2000-01-01' OR month > current_date + interval '2 years' THEN
    RAISE EXCEPTION 'partition month % is outside 2000-01 .. two years ahead', month;
  END IF;
  EXECUTE format('CREATE TABLE IF NOT EXISTS public.%I PARTITION OF public.messages FOR VALUES FROM (%L) TO (%L)',
    name, first, (first + interval '1 month')::date);
  RETURN name;
END
$$;

CREATE FUNCTION public.parley_refresh_analytics() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  REFRESH MATERIALIZED VIEW CONCURRENTLY public.analytics_daily;
END
$$;

REVOKE ALL ON FUNCTION public.parley_create_message_partition(date) FROM PUBLIC;
REVOKE ALL ON FUNCTION public.parley_refresh_analytics() FROM PUBLIC;
`,
  },
  {
    version: 6,
    name: "active users of an organization from one index",
    sql: `
-- The analytics totals count an organization's distinct users with a message in the window: with
-- last_message_at alone that read every tenant's recent conversations and filtered; this reads only the
-- organization's, from the index (user_id included, so no table access).
CREATE INDEX conversations_organization_last_message_idx
  ON conversations (organization_id, last_message_at) INCLUDE (user_id);
`,
  },
  {
    version: 7,
    name: "AI token reservations admitted in batches, one statement per batch",
    sql: `
-- Every message of an organization reserves tokens on the same ai_token_budget row. The app sends the
-- reservations that arrive together in one call; this runs, for each in order, exactly the statement a
-- single reservation runs (insert the month's row when the budget is positive, else add to it only
-- while used + reserved < budget), so the outcome is that of running them one after another, and the
-- row lock is taken and released in one round trip. Returns, per reservation, whether it was admitted
-- and the month's used tokens at that moment (for the refusal's message). SECURITY INVOKER: it writes
-- with the caller's rights.
CREATE FUNCTION public.parley_reserve_tokens(organizations uuid[], months date[], tokens bigint[], budgets bigint[])
RETURNS TABLE (admitted boolean, used_tokens bigint)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  written int;
BEGIN
  FOR i IN 1 .. coalesce(array_length(organizations, 1), 0) LOOP
    INSERT INTO public.ai_token_budget AS b (organization_id, month, reserved_tokens)
    SELECT organizations[i], months[i], tokens[i] WHERE budgets[i] > 0
    ON CONFLICT (organization_id, month) DO UPDATE SET reserved_tokens = b.reserved_tokens + EXCLUDED.reserved_tokens
    WHERE b.used_tokens + b.reserved_tokens < budgets[i];
    GET DIAGNOSTICS written = ROW_COUNT;
    admitted := written = 1;
    used_tokens := 0;
    IF NOT admitted THEN
      SELECT b.used_tokens INTO used_tokens FROM public.ai_token_budget b
      WHERE b.organization_id = organizations[i] AND b.month = months[i];
      used_tokens := coalesce(used_tokens, 0);
    END IF;
    RETURN NEXT;
  END LOOP;
END
$$;
`,
  },
  {
    version: 8,
    name: "AI token reservations: one write per budget row per batch",
    sql: `
-- Version 7 wrote the budget row once per reservation: a batch of n reservations of one organization
-- made n row versions in one transaction, and each one's ON CONFLICT check walked the chain of those
-- before it (n² visits; 17% of the primary's CPU under POST /messages in a perf profile). This locks
-- each row once (creating it, empty, when a month's first reservation would be admitted), decides the
-- reservations on it in their order with the same rule — admitted while used + reserved < budget,
-- reserved including those admitted before in the call — and writes their sum once. Outcomes are those
-- of version 7, so of running the reservations one after another. Reservations of one row need not
-- be adjacent (the app sorts them so, to lock rows in one order): the sum is written whenever the row
-- changes, and a row met again is read again.
CREATE OR REPLACE FUNCTION public.parley_reserve_tokens(organizations uuid[], months date[], tokens bigint[], budgets bigint[])
RETURNS TABLE (admitted boolean, used_tokens bigint)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  row_used bigint;
  row_reserved bigint;
  -- Tokens admitted on the current row in this call, not yet written.
  added bigint := 0;
  row_locked boolean := false;
BEGIN
  FOR i IN 1 .. coalesce(array_length(organizations, 1), 0) LOOP
    IF i = 1 OR organizations[i] IS DISTINCT FROM organizations[i - 1] OR months[i] IS DISTINCT FROM months[i - 1] THEN
      IF added <> 0 THEN
        UPDATE public.ai_token_budget b SET reserved_tokens = b.reserved_tokens + added
        WHERE b.organization_id = organizations[i - 1] AND b.month = months[i - 1];
      END IF;
      added := 0;
      SELECT b.used_tokens, b.reserved_tokens INTO row_used, row_reserved FROM public.ai_token_budget b
      WHERE b.organization_id = organizations[i] AND b.month = months[i] FOR UPDATE;
      row_locked := FOUND;
      IF NOT row_locked THEN
        row_used := 0;
        row_reserved := 0;
      END IF;
    END IF;
    admitted := row_used + row_reserved + added < budgets[i];
    IF admitted AND NOT row_locked THEN
      -- No row to lock yet: create it (or meet the one another call has just created), lock it, and
      -- decide on what it holds.
      INSERT INTO public.ai_token_budget (organization_id, month) VALUES (organizations[i], months[i])
      ON CONFLICT (organization_id, month) DO NOTHING;
      SELECT b.used_tokens, b.reserved_tokens INTO row_used, row_reserved FROM public.ai_token_budget b
      WHERE b.organization_id = organizations[i] AND b.month = months[i] FOR UPDATE;
      row_locked := true;
      admitted := row_used + row_reserved + added < budgets[i];
    END IF;
    IF admitted THEN
      added := added + tokens[i];
      used_tokens := 0;
    ELSE
      used_tokens := row_used;
    END IF;
    RETURN NEXT;
  END LOOP;
  IF added <> 0 THEN
    UPDATE public.ai_token_budget b SET reserved_tokens = b.reserved_tokens + added
    WHERE b.organization_id = organizations[array_length(organizations, 1)]
      AND b.month = months[array_length(organizations, 1)];
  END IF;
END
$$;
`,
  },
  {
    version: 9,
    name: "AI token settlement in a function of its own",
    sql: `
-- The exchange statement settled budget rows itself. A reservation (one per message) committed on the
-- same row after that statement's snapshot made PostgreSQL re-check the row with EvalPlanQual, twice
-- (the locking read, then the update), and each re-check initializes every subplan of the statement
-- again (EvalPlanQualStart, src/backend/executor/execMain.c): 9% of the primary's CPU under POST
-- /messages in a perf profile. Each statement of a VOLATILE function takes a new snapshot (the
-- PostgreSQL manual, "Function Volatility Categories"), so these updates find the newest row. Rows are
-- updated in (organization, month) order, the order reservations lock them in, so the two cannot
-- deadlock. Returns how many entries it applied. SECURITY INVOKER: it writes with the caller's rights.
CREATE FUNCTION public.parley_settle_tokens(organizations uuid[], months date[], used bigint[], released bigint[])
RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  entry record;
  applied integer := 0;
BEGIN
  FOR entry IN
    SELECT * FROM unnest(organizations, months, used, released) AS e(organization_id, month, used, released)
    ORDER BY e.organization_id, e.month
  LOOP
    UPDATE public.ai_token_budget b
    SET used_tokens = b.used_tokens + entry.used, reserved_tokens = greatest(b.reserved_tokens - entry.released, 0)
    WHERE b.organization_id = entry.organization_id AND b.month = entry.month;
    applied := applied + 1;
  END LOOP;
  RETURN applied;
END
$$;
`,
  },
  {
    version: 10,
    name: "daily analytics recomputed from the latest days only",
    sql: `
-- analytics_daily was a materialized view refreshed whole every minute (REFRESH … CONCURRENTLY): each
-- round read and grouped every message ever written, then diffed the result against the old rows.
-- With 1.1M messages that took 1.4 s of the primary, parallel workers and JIT included, and it grows
-- with the history. Now it is a table of the same rows, and a round recomputes only the days from the
-- day before the latest one it holds: messages are stamped with the database's clock as they are
-- written (migration 1, exchange statement), so none lands in an older day, and the scan reads only
-- the partitions of those days (pruned at execution on the bound). Rows of deleted organizations go
-- with them; a day older than that window keeps its counts when a user is deleted later.
-- The table is filled from the view's rows (one per organization and day, at most a minute old: the next
-- round brings the latest days up to date), not from the messages, and takes the view's name last, so
-- dashboard reads wait on the dropped view only for the end of this transaction.
CREATE TABLE analytics_daily_next (
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  day date NOT NULL,
  conversations bigint NOT NULL,
  messages bigint NOT NULL,
  unique_users bigint NOT NULL
);
INSERT INTO analytics_daily_next SELECT v.* FROM analytics_daily v JOIN organizations o ON o.id = v.organization_id;
DROP MATERIALIZED VIEW analytics_daily;
ALTER TABLE analytics_daily_next RENAME TO analytics_daily;
ALTER TABLE analytics_daily RENAME CONSTRAINT analytics_daily_next_organization_id_fkey
  TO analytics_daily_organization_id_fkey;
ALTER TABLE analytics_daily ADD CONSTRAINT analytics_daily_key PRIMARY KEY (organization_id, day);

DROP FUNCTION public.parley_refresh_analytics();
-- from_day: recompute the days from this one (NULL: from the day before the latest day held;
-- '-infinity': every day, as after a bulk load of past messages).
CREATE FUNCTION public.parley_refresh_analytics(from_day date DEFAULT NULL) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  first_day date := coalesce(from_day, (SELECT max(a.day) - 1 FROM public.analytics_daily a), '-infinity');
  since timestamptz := first_day::timestamp AT TIME ZONE 'UTC';
BEGIN
  WITH fresh AS (
    SELECT m.organization_id, (m.created_at AT TIME ZONE 'UTC')::date AS day,
      count(DISTINCT m.conversation_id) AS conversations, count(*) AS messages,
      count(DISTINCT m.user_id) AS unique_users
    FROM public.messages m WHERE m.created_at >= since
    GROUP BY 1, 2
  ), emptied AS (
    DELETE FROM public.analytics_daily a
    WHERE a.day >= first_day AND NOT EXISTS (SELECT 1 FROM fresh f WHERE f.organization_id = a.organization_id AND f.day = a.day)
  )
  INSERT INTO public.analytics_daily AS a (organization_id, day, conversations, messages, unique_users)
  SELECT * FROM fresh
  ON CONFLICT (organization_id, day) DO UPDATE
  SET conversations = EXCLUDED.conversations, messages = EXCLUDED.messages, unique_users = EXCLUDED.unique_users
  WHERE (a.conversations, a.messages, a.unique_users)
    IS DISTINCT FROM (EXCLUDED.conversations, EXCLUDED.messages, EXCLUDED.unique_users);
END
$$;
REVOKE ALL ON FUNCTION public.parley_refresh_analytics(date) FROM PUBLIC;
`,
  },
  {
    version: 11,
    name: "AI token leases granted with reservations",
    sql: `
-- A process may ask, beside a reservation, for a lease: tokens it then gives to its next replies of the
-- organization and month without a round trip (app/src/ai/usage.ts). Leased tokens are reserved tokens,
-- so every reservation after them counts them. A lease comes with an admitted reservation and is at
-- most a sixteenth of what the budget has left after that reservation (less than asked for when that
-- is smaller), and none when that is smaller than the smallest lease asked for (one reply's tokens):
-- leases never take used + reserved past the budget, each takes a bounded share of what is left, and
-- near the limit none is granted, so every reply is decided here as in version 8. This is version 8
-- with that one rule; the four-argument form, which processes of the previous release call during a
-- rolling deploy, becomes this one without leases.
CREATE FUNCTION public.parley_reserve_tokens(
  organizations uuid[], months date[], tokens bigint[], budgets bigint[], leases bigint[], smallest_leases bigint[]
)
RETURNS TABLE (admitted boolean, used_tokens bigint, leased bigint)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  row_used bigint;
  row_reserved bigint;
  -- Tokens admitted and leased on the current row in this call, not yet written.
  added bigint := 0;
  row_locked boolean := false;
BEGIN
  FOR i IN 1 .. coalesce(array_length(organizations, 1), 0) LOOP
    IF i = 1 OR organizations[i] IS DISTINCT FROM organizations[i - 1] OR months[i] IS DISTINCT FROM months[i - 1] THEN
      IF added <> 0 THEN
        UPDATE public.ai_token_budget b SET reserved_tokens = b.reserved_tokens + added
        WHERE b.organization_id = organizations[i - 1] AND b.month = months[i - 1];
      END IF;
      added := 0;
      SELECT b.used_tokens, b.reserved_tokens INTO row_used, row_reserved FROM public.ai_token_budget b
      WHERE b.organization_id = organizations[i] AND b.month = months[i] FOR UPDATE;
      row_locked := FOUND;
      IF NOT row_locked THEN
        row_used := 0;
        row_reserved := 0;
      END IF;
    END IF;
    admitted := row_used + row_reserved + added < budgets[i];
    IF admitted AND NOT row_locked THEN
      INSERT INTO public.ai_token_budget (organization_id, month) VALUES (organizations[i], months[i])
      ON CONFLICT (organization_id, month) DO NOTHING;
      SELECT b.used_tokens, b.reserved_tokens INTO row_used, row_reserved FROM public.ai_token_budget b
      WHERE b.organization_id = organizations[i] AND b.month = months[i] FOR UPDATE;
      row_locked := true;
      admitted := row_used + row_reserved + added < budgets[i];
    END IF;
    leased := 0;
    IF admitted THEN
      leased := greatest(least(leases[i], (budgets[i] - row_used - row_reserved - added - tokens[i]) / 16), 0);
      IF leased < smallest_leases[i] THEN
        leased := 0;
      END IF;
      added := added + tokens[i] + leased;
      used_tokens := 0;
    ELSE
      used_tokens := row_used;
    END IF;
    RETURN NEXT;
  END LOOP;
  IF added <> 0 THEN
    UPDATE public.ai_token_budget b SET reserved_tokens = b.reserved_tokens + added
    WHERE b.organization_id = organizations[array_length(organizations, 1)]
      AND b.month = months[array_length(organizations, 1)];
  END IF;
END
$$;
CREATE OR REPLACE FUNCTION public.parley_reserve_tokens(organizations uuid[], months date[], tokens bigint[], budgets bigint[])
RETURNS TABLE (admitted boolean, used_tokens bigint)
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
  WITH z AS (SELECT array_fill(0::bigint, ARRAY[coalesce(array_length(organizations, 1), 0)]) AS zeros)
  SELECT r.admitted, r.used_tokens
  FROM z, public.parley_reserve_tokens(organizations, months, tokens, budgets, z.zeros, z.zeros) AS r
$$;
`,
  },
];
