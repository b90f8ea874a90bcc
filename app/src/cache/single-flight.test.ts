import { expect, it } from "vitest";
import { SingleFlight } from "./single-flight";

it("runs concurrent calls for one key once and forgets the key afterwards", async () => {
  const flight = new SingleFlight<number>();
  let runs = 0;
  const work = async () => {
    const run = ++runs;
    await new Promise((resolve) => setTimeout(resolve, 10));
    return run;
  };
  const results = await Promise.all([flight.run("a", work), flight.run("a", work), flight.run("b", work)]);
  expect(results).toEqual([1, 1, 2]);
  expect(flight.size).toBe(0);
  expect(await flight.run("a", work)).toBe(3);
});

it("shares failures and allows a retry", async () => {
  const flight = new SingleFlight<number>();
  const failing = flight.run("k", async () => {
    throw new Error("down");
  });
  await expect(Promise.all([failing, flight.run("k", async () => 1)])).rejects.toThrow("down");
  expect(await flight.run("k", async () => 2)).toBe(2);
});
