import { expect, it } from "vitest";
import { perTurnLoader } from "./per-turn-loader";

/** A batch function that records what it was asked and answers each key with a new object. */
function recordingBatch() {
  const batches: string[][] = [];
  const batch = async (keys: readonly string[]) => {
    batches.push([...keys]);
    return keys.map((key) => (key.startsWith("bad") ? new Error(`no ${key}`) : { key }));
  };
  return { batches, batch };
}

it("asks a turn's same keys once and gives every caller the one answer, errors included", async () => {
  const { batches, batch } = recordingBatch();
  const loader = perTurnLoader(batch, 100, (key: string) => key.toLowerCase());
  const asked = ["a", "b", "A", "bad", "a", "BAD"].map((key) =>
    loader.load(key).then(
      (value) => value,
      (error: Error) => error.message,
    ),
  );
  const answers = await Promise.all(asked);
  expect(batches).toEqual([["a", "b", "bad"]]);
  expect(answers).toEqual([{ key: "a" }, { key: "b" }, { key: "a" }, "no bad", { key: "a" }, "no bad"]);
  // The same object, not a copy: the callers share the one read.
  expect(answers[0]).toBe(answers[2]);
});

it("asks every key of a turn without an identity, and nothing across turns", async () => {
  const { batches, batch } = recordingBatch();
  const loader = perTurnLoader(batch, 100);
  await Promise.all(["a", "a"].map((key) => loader.load(key)));
  const deduplicated = perTurnLoader(batch, 100, (key: string) => key);
  await deduplicated.load("a");
  await deduplicated.load("a");
  expect(batches).toEqual([["a", "a"], ["a"], ["a"]]);
});
