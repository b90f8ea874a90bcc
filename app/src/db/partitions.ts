/** Monthly partitions of `messages`: this month, last month and `monthsAhead` months ahead. */
import type pg from "pg";

const monthStart = (year: number, month: number) => new Date(Date.UTC(year, month, 1));
const day = (date: Date) => date.toISOString().slice(0, 10);

export function partitionsFor(
  now: Date,
  monthsAhead: number,
): Array<{ name: string; from: string; to: string }> {
  const partitions = [];
  for (let offset = -1; offset <= monthsAhead; offset++) {
    const from = monthStart(now.getUTCFullYear(), now.getUTCMonth() + offset);
    const to = monthStart(from.getUTCFullYear(), from.getUTCMonth() + 1);
    partitions.push({
      name: `messages_${day(from).slice(0, 7).replace("-", "_")}`,
      from: day(from),
      to: day(to),
    });
  }
  return partitions;
}

/** Creates the missing partitions (names from partitionsFor); existing ones are not touched or locked. */
export async function ensureMessagePartitions(
  client: pg.ClientBase | pg.Pool,
  monthsAhead = 3,
  now = new Date(),
): Promise<string[]> {
  const wanted = partitionsFor(now, monthsAhead);
  const existing = await client.query<{ name: string }>(
    "SELECT relname AS name FROM pg_class WHERE relkind = 'r' AND relname = ANY($1)",
    [wanted.map((partition) => partition.name)],
  );
  const present = new Set(existing.rows.map((row) => row.name));
  const created: string[] = [];
  for (const { name, from } of wanted) {
    if (present.has(name)) continue;
    // A SECURITY DEFINER function (migration 5): the app's role does not own `messages`.
    await client.query("SELECT public.parley_create_message_partition($1::date)", [from]);
    created.push(name);
  }
  return created;
}
