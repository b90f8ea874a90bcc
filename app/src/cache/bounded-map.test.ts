import { describe, expect, it } from "vitest";
import { BoundedMap } from "./bounded-map";

describe("BoundedMap", () => {
  it("drops the oldest entry when a new key would pass the limit", () => {
    const map = new BoundedMap<string, number>(2);
    map.set("a", 1).set("b", 2).set("c", 3);
    expect([...map.entries()]).toEqual([
      ["b", 2],
      ["c", 3],
    ]);
  });

  it("replaces a known key's value without dropping anything", () => {
    const map = new BoundedMap<string, number>(2);
    map.set("a", 1).set("b", 2).set("a", 10);
    expect([...map.entries()]).toEqual([
      ["a", 10],
      ["b", 2],
    ]);
  });

  it("keeps a refreshed key (deleted, set again) as the newest", () => {
    const map = new BoundedMap<string, number>(2);
    map.set("a", 1).set("b", 2);
    map.delete("a");
    map.set("a", 1).set("c", 3);
    expect([...map.keys()]).toEqual(["a", "c"]);
  });
});
