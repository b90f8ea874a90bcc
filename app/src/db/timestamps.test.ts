import fc from "fast-check";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { isoTimestamp, isoTimestampTypes, timestamptzOid } from "./timestamps";

/** pg's own reading: postgres-date's Date, as JSON.stringify used to write it. */
const asDateWouldWrite = (text: string) =>
  (pg.types.getTypeParser(timestamptzOid, "text")(text) as Date).toISOString();

/**
 * A `timestamptz` as PostgreSQL writes it in UTC with DateStyle ISO: the year padded to four digits,
 * the fraction in microseconds with trailing zeros dropped, none for a whole second.
 */
function postgresUtcText(date: Date, microseconds: number): string {
  const iso = date.toISOString();
  const fraction = String(date.getUTCMilliseconds() * 1000 + microseconds)
    .padStart(6, "0")
    .replace(/0+$/, "");
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction ? `.${fraction}` : ""}+00`;
}

/** Years 1 to 9999, often at whole seconds, tenths or hundredths (the fractions PostgreSQL shortens). */
const datesPostgresWrites = fc
  .tuple(
    fc.date({
      min: new Date("0001-01-01T00:00:00.000Z"),
      max: new Date("9999-12-31T23:59:59.999Z"),
      noInvalidDate: true,
    }),
    fc.constantFrom(1, 10, 100, 1000),
  )
  .map(([date, unitMs]) => new Date(Math.floor(date.getTime() / unitMs) * unitMs));
const microsecondsPostgresWrites = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 999 }));

describe("timestamptz as ISO 8601 text", () => {
  it("writes what the Date pg made used to write, for any UTC value PostgreSQL sends", () => {
    fc.assert(
      fc.property(datesPostgresWrites, microsecondsPostgresWrites, (date, microseconds) => {
        const text = postgresUtcText(date, microseconds);
        expect(isoTimestamp(text)).toBe(asDateWouldWrite(text));
        expect(isoTimestamp(text)).toBe(date.toISOString());
      }),
      { numRuns: 2_000 },
    );
  });

  it("truncates microseconds to milliseconds, as a Date does", () => {
    expect(isoTimestamp("2026-12-02 18:41:44.123999+00")).toBe("2026-12-02T18:41:44.123Z");
    expect(isoTimestamp("2026-12-02 18:41:44.1+00")).toBe("2026-12-02T18:41:44.100Z");
    expect(isoTimestamp("2026-12-02 18:41:44+00")).toBe("2026-12-02T18:41:44.000Z");
    expect(isoTimestamp("0050-01-01 00:00:00+00")).toBe("0050-01-01T00:00:00.000Z");
  });

  it("reads other session time zones, BC and five-digit years through pg's parser, in UTC", () => {
    fc.assert(
      fc.property(
        datesPostgresWrites,
        fc.constantFrom("+05:30", "-03", "+14", "-09:30", "+05:45", "-00:25:21"),
        (date, offset) => {
          const text = `${postgresUtcText(date, 0).slice(0, -3)}${offset}`;
          expect(isoTimestamp(text)).toBe(asDateWouldWrite(text));
        },
      ),
      { numRuns: 500 },
    );
    expect(isoTimestamp("2026-12-03 00:11:44.123+05:30")).toBe("2026-12-02T18:41:44.123Z");
    expect(isoTimestamp("0044-03-15 12:00:00+00 BC")).toBe("-000043-03-15T12:00:00.000Z");
    expect(isoTimestamp("10000-01-01 00:00:00+00")).toBe("+010000-01-01T00:00:00.000Z");
  });

  it("keeps a value no Date can hold as PostgreSQL wrote it", () => {
    expect(isoTimestamp("infinity")).toBe("infinity");
    expect(isoTimestamp("-infinity")).toBe("-infinity");
    expect(isoTimestamp("294276-12-31 23:59:59.999999+00")).toBe("294276-12-31 23:59:59.999999+00");
  });

  it("changes only timestamptz among pg's parsers", () => {
    expect(isoTimestampTypes.getTypeParser(timestamptzOid, "text")).toBe(isoTimestamp);
    for (const oid of [16, 20, 23, 114, 1082, 1114, 2950, 3802])
      expect(isoTimestampTypes.getTypeParser(oid, "text")).toBe(pg.types.getTypeParser(oid, "text"));
  });
});
