import { describe, expect, it } from "vitest";
import { bestMatch, cosineSimilarity, terms } from "./similarity";

const knowledge = [
  { question: "What are your opening hours?", answer: "nine to five" },
  { question: "Which plans do you offer?", answer: "free and team" },
  { question: "How do I reset my password?", answer: "use the link" },
];

describe("knowledge similarity", () => {
  it("drops stop words and folds simple plurals", () => {
    expect(terms("What are the Opening hours?")).toEqual(["open", "hour"]);
  });

  it("scores identical text 1 and unrelated text 0", () => {
    expect(cosineSimilarity("opening hours", "opening hours")).toBeCloseTo(1);
    expect(cosineSimilarity("opening hours", "password reset")).toBe(0);
  });

  it("finds the best entry for a paraphrase", () => {
    expect(bestMatch("when are you open? what hours", knowledge)?.entry.answer).toBe("nine to five");
    expect(bestMatch("tell me about your plans", knowledge)?.entry.answer).toBe("free and team");
    expect(bestMatch("I forgot my password", knowledge)?.entry.answer).toBe("use the link");
  });

  it("finds nothing below the threshold", () => {
    expect(bestMatch("quantum chromodynamics", knowledge)).toBeUndefined();
    expect(bestMatch("anything", [])).toBeUndefined();
  });
});
