import fc from "fast-check";
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

/** The measure applied the straightforward way: every question scored, the first best one kept. */
function scanBestMatch<T extends { question: string }>(query: string, entries: T[], threshold: number) {
  let best: { entry: T; score: number } | undefined;
  for (const entry of entries) {
    const score = cosineSimilarity(query, entry.question);
    if (score >= threshold && (!best || score > best.score)) best = { entry, score };
  }
  return best;
}

describe("knowledge index", () => {
  // A small vocabulary with stop words, plurals and case changes, so questions share terms and tie.
  const word = fc.constantFrom(
    "plan",
    "plans",
    "Plans",
    "price",
    "pricing",
    "team",
    "hours",
    "opening",
    "password",
    "reset",
    "the",
    "what",
    "is",
    "export",
    "exports",
    "data",
    "42",
    "été",
  );
  const sentence = fc.array(word, { minLength: 0, maxLength: 8 }).map((words) => words.join(" "));
  const knowledgeBase = fc.array(fc.record({ question: sentence, answer: fc.string() }), {
    minLength: 0,
    maxLength: 30,
  });

  it("picks the same entry with the same score as scanning every question", () => {
    fc.assert(
      fc.property(knowledgeBase, sentence, fc.constantFrom(0, 0.2, 0.5, 0.9), (entries, query, threshold) => {
        // A fresh copy: the index is found again by the questions' hash, as for a chatbot read per message.
        for (const given of [entries, structuredClone(entries)]) {
          const expected = scanBestMatch(query, given, threshold);
          const actual = bestMatch(query, given, threshold);
          expect(actual?.entry).toBe(expected?.entry);
          expect(actual?.score).toBe(expected?.score);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("answers from the knowledge it is given when another base has the same questions", () => {
    const other = knowledge.map((entry) => ({ ...entry, answer: `${entry.answer} (edited)` }));
    expect(bestMatch("tell me about your plans", knowledge)?.entry.answer).toBe("free and team");
    expect(bestMatch("tell me about your plans", other)?.entry.answer).toBe("free and team (edited)");
  });
});
