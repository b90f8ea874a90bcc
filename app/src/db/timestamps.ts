/**
 * `timestamptz` values read as the ISO 8601 text the API sends (`2026-12-02T18:41:44.123Z`, what
 * Date#toISOString writes), not as Date objects: every timestamp the app reads goes out as JSON, and
 * pg's default parser (postgres-date, a regular expression and a Date per value) followed by
 * JSON.stringify calling each Date's toJSON cost 26 µs of a 20-row page, against 4.4 µs as text
 * (docs/performance.md, eleventh round).
 */
import pg from "pg";

/** PostgreSQL's type OID of `timestamptz` (pg_type.oid, fixed for the built-in types). */
export const timestamptzOid = 1184;

/**
 * What PostgreSQL writes for a `timestamptz` in UTC with the default `DateStyle` (ISO): trailing zeros
 * of the fraction are dropped, and a whole second has no fraction at all.
 */
const utcText = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.(\d{1,6}))?\+00$/;

const parseAsDate = pg.types.getTypeParser(timestamptzOid, "text") as (text: string) => unknown;

/**
 * The ISO 8601 text of a `timestamptz` as PostgreSQL wrote it, truncated to milliseconds like a Date.
 * UTC text (the session time zone of RDS and of the local platform) is rewritten as it is; any other
 * offset, a year past 9999 or BC goes through pg's own parser and the Date's ISO text. A value no Date
 * can hold (`infinity`) is kept as PostgreSQL wrote it.
 */
export function isoTimestamp(text: string): string {
  const utc = utcText.exec(text);
  if (utc) {
    const milliseconds = utc[1] === undefined ? "000" : `${utc[1]}00`.slice(0, 3);
    return `${text.slice(0, 10)}T${text.slice(11, 19)}.${milliseconds}Z`;
  }
  const date = parseAsDate(text);
  return date instanceof Date && !Number.isNaN(date.getTime()) ? date.toISOString() : text;
}

/** pg's `types` option: `timestamptz` as ISO text, every other type parsed as pg parses it. */
export const isoTimestampTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === timestamptzOid && format !== "binary"
      ? isoTimestamp
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig["getTypeParser"],
};
