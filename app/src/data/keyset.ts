/**
 * Keyset pagination, newest first, shared by every list query: rows strictly before the cursor's
 * `(created_at, id)` (all rows without a cursor), at most one more than the page so the caller knows
 * whether another page exists. Never OFFSET. The redundant `created_at <=` bound lets PostgreSQL skip
 * the partitions of `messages` newer than the cursor (a row comparison does not prune).
 */
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
