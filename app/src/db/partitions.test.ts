import { expect, it } from "vitest";
import { partitionsFor } from "./partitions";

it("covers last month, this month and the months ahead, across a year boundary", () => {
  expect(partitionsFor(new Date("2026-11-22T13:00:00Z"), 3)).toEqual([
    { name: "messages_2026_10", from: "2026-10-01", to: "2026-11-01" },
    { name: "messages_2026_11", from: "2026-11-01", to: "2026-12-01" },
    { name: "messages_2026_12", from: "2026-12-01", to: "2027-01-01" },
    { name: "messages_2027_01", from: "2027-01-01", to: "2027-02-01" },
    { name: "messages_2027_02", from: "2027-02-01", to: "2027-03-01" },
  ]);
});
