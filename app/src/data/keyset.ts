/**
 * Keyset pagination, newest first, shared by every list query: rows strictly before the cursor's
 * `(created_at, id)` (all rows without a cursor), at most one more than the page so the caller knows
 * whether another page exists. Never OFFSET. The redundant `created_at <=` bound lets PostgreSQL skip
 * the partitions of `messages` newer than the cursor (a row comparison does not prune).
 */
import { perTurnLoader } from "../cache/per-turn-loader";
import type { Database } from "../db/database";
import type { Cursor } from "../domain/cursor";

/**
 * The condition, order and limit of one page; the cursor's `created_at` is placeholder `$first`,
 * its id the next one, the limit the one after.
 */
export const newestFirstPage = (first: number) =>
  `($${first}::timestamptz IS NULL
     OR (created_at <= $${first} AND (created_at, id) < ($${first}, $${first + 1}::uuid)))
   ORDER BY created_at DESC, id DESC LIMIT $${first + 2}`;

/** The values for newestFirstPage's three placeholders. */
export const newestFirstPageParams = (cursor: Cursor | undefined, limit: number) => [
  cursor?.createdAt ?? null,
  cursor?.id ?? null,
  limit + 1,
];

/** One caller's page of an organization's rows. */
interface PageRequest {
  organizationId: string;
  cursor: Cursor | undefined;
  limit: number;
}

/** Requests of one turn for the same page are read once and share its rows (perTurnLoader). */
const pageIdentity = ({ organizationId, cursor, limit }: PageRequest) =>
  `${organizationId} ${cursor?.createdAt ?? ""} ${cursor?.id ?? ""} ${limit}`;

/** Requests per statement: bounds one statement's rows (each request reads at most limit + 1). */
const maxPagesPerStatement = 100;

/**
 * An organization's pages of `table` (chatbots, conversations), the pages asked for in one event-loop
 * turn read by one statement: each distinct request is a row of `unnest(...)` and its page a LATERAL
 * index scan, the same rows the one-page query returns; requests of the turn for the same page share
 * that row (pageIdentity). A batch also saves the round trips, each a socket write that wakes a
 * PostgreSQL backend: the largest cost of an uncached list read (docs/performance.md). Reads pinned to
 * the primary batch apart from replica reads.
 *
 * Without a cursor a request reads from the newest row: the row comparison's bound is then
 * `('infinity', max uuid)`, so one statement serves first and later pages, with the bound an index
 * condition either way.
 */
export class OrganizationPages<R extends { created_at: string; id: string }> {
  private readonly loaders = {
    replica: perTurnLoader<PageRequest, R[]>(
      (requests) => this.read(requests, false),
      maxPagesPerStatement,
      pageIdentity,
    ),
    primary: perTurnLoader<PageRequest, R[]>(
      (requests) => this.read(requests, true),
      maxPagesPerStatement,
      pageIdentity,
    ),
  };
  private readonly sql: string;

  constructor(
    private readonly db: Database,
    private readonly operation: string,
    table: string,
    columns: string,
  ) {
    this.sql = `SELECT page.*
      FROM unnest($1::uuid[], $2::timestamptz[], $3::uuid[], $4::int[])
        WITH ORDINALITY AS asked(organization_id, before_at, before_id, row_limit, request)
      CROSS JOIN LATERAL (
        SELECT asked.request, ${columns} FROM ${table}
        WHERE organization_id = asked.organization_id
          AND (created_at, id) < (coalesce(asked.before_at, 'infinity'),
                                  coalesce(asked.before_id, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
        ORDER BY created_at DESC, id DESC LIMIT asked.row_limit
      ) page
      ORDER BY page.request, page.created_at DESC, page.id DESC`;
  }

  /** Newest first, before the cursor; limit + 1 rows so the caller knows whether another page exists. */
  load(
    organizationId: string,
    cursor: Cursor | undefined,
    limit: number,
    fromPrimary: boolean,
  ): Promise<R[]> {
    return this.loaders[fromPrimary ? "primary" : "replica"].load({ organizationId, cursor, limit });
  }

  private async read(requests: readonly PageRequest[], fromPrimary: boolean): Promise<R[][]> {
    const result = await this.db.read<R & { request: string }>(
      this.operation,
      this.sql,
      [
        requests.map((request) => request.organizationId),
        requests.map((request) => request.cursor?.createdAt ?? null),
        requests.map((request) => request.cursor?.id ?? null),
        requests.map((request) => request.limit + 1),
      ],
      { primary: fromPrimary },
    );
    const pages = requests.map((): R[] => []);
    for (const { request, ...row } of result.rows) pages[Number(request) - 1]?.push(row as unknown as R);
    return pages;
  }
}
