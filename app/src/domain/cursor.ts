/**
 * Opaque keyset cursors: the (created_at, id) of the last item of a page, base64url JSON. Timestamps
 * are stored at millisecond precision (see the migrations) and read as their ISO 8601 text, so the
 * text round-trips exactly.
 */
export interface Cursor {
  /** ISO 8601 in UTC, as Date#toISOString writes it. */
  createdAt: string;
  id: string;
}

export class CursorError extends Error {
  override name = "CursorError";
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isUuid = (value: string) => uuidPattern.test(value);

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt, cursor.id])).toString("base64url");
}

export function decodeCursor(value: string): Cursor {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(value, "base64url").toString("utf8"));
    if (Array.isArray(parsed) && parsed.length === 2) {
      const [time, id] = parsed as unknown[];
      const createdAt = new Date(String(time));
      // Only the canonical form this API writes, years 1 to 9999: PostgreSQL's timestamptz stops at
      // 4714 BC, and a date it cannot hold would be a database error instead of a 400.
      if (
        typeof time === "string" &&
        typeof id === "string" &&
        isUuid(id) &&
        !Number.isNaN(createdAt.getTime()) &&
        /^\d{4}-/.test(time) &&
        createdAt.getUTCFullYear() >= 1 &&
        createdAt.toISOString() === time
      )
        return { createdAt: time, id };
    }
  } catch {
    // fall through
  }
  throw new CursorError("cursor is not one this API returned");
}

/** Splits a `limit + 1` row fetch into the page and the cursor of the next page (null at the end). */
export function pageOf<T extends { created_at: string; id: string }>(
  rows: T[],
  limit: number,
): { items: T[]; next_cursor: string | null } {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return {
    items,
    next_cursor:
      rows.length > limit && last ? encodeCursor({ createdAt: last.created_at, id: last.id }) : null,
  };
}
