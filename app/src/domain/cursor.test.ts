import { describe, expect, it } from "vitest";
import { CursorError, decodeCursor, encodeCursor, pageOf } from "./cursor";

const id = "5f0c3a52-8d0e-4a53-9d5a-0d6f7b3f0e11";
const at = (value: number | string) => new Date(value).toISOString();

describe("cursors", () => {
  it("round-trips a millisecond timestamp and id", () => {
    const cursor = { createdAt: "2026-01-02T03:04:05.678Z", id };
    expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
  });

  it("rejects cursors this API did not make", () => {
    for (const bad of [
      "",
      "not-base64!",
      Buffer.from("[1,2]").toString("base64url"),
      encodeCursor({ createdAt: at(0), id: "x" }),
      // Before 4714 BC (PostgreSQL's first timestamptz) and other dates no page ever ends at.
      encodeCursor({ createdAt: "-004800-01-01T00:00:00.000Z", id }),
      encodeCursor({ createdAt: "0000-06-01T00:00:00.000Z", id }),
      encodeCursor({ createdAt: at(8.64e15), id }),
      // Not the canonical text: no milliseconds, another offset, a date alone.
      encodeCursor({ createdAt: "2026-01-02T03:04:05Z", id }),
      encodeCursor({ createdAt: "2026-01-02T04:04:05.678+01:00", id }),
      Buffer.from(JSON.stringify(["2026-01-02", id])).toString("base64url"),
    ])
      expect(() => decodeCursor(bad)).toThrow(CursorError);
  });

  it("pages a limit + 1 fetch", () => {
    const rows = [3, 2, 1].map((n) => ({ id: `${id.slice(0, -1)}${n}`, created_at: at(n * 1000) }));
    const page = pageOf(rows, 2);
    expect(page.items).toHaveLength(2);
    expect(decodeCursor(page.next_cursor!)).toEqual({ createdAt: at(2000), id: rows[1]!.id });
    expect(pageOf(rows, 3).next_cursor).toBeNull();
  });
});
