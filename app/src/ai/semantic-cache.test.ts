import { describe, expect, it } from "vitest";
import fixture from "./fixtures/paraphrases.json";
import { questionSignature, questionSimilarity } from "./question-similarity";
import {
  chatbotKnowledgeVersion,
  defaultSemanticThreshold,
  knowledgeVersion,
  standalone,
} from "./semantic-cache";

describe("semantic cache similarity (fixtures/paraphrases.json)", () => {
  it("has enough pairs of each kind to mean something", () => {
    expect(fixture.paraphrases.length).toBeGreaterThanOrEqual(20);
    expect(fixture.different.length).toBeGreaterThanOrEqual(20);
  });

  it.each(fixture.paraphrases)("hits: %s ~ %s", (a, b) => {
    expect(questionSimilarity(a!, b!)).toBeGreaterThanOrEqual(defaultSemanticThreshold);
    expect(questionSimilarity(b!, a!)).toBeGreaterThanOrEqual(defaultSemanticThreshold);
  });

  it.each(fixture.different)("misses: %s ≠ %s", (a, b) => {
    expect(questionSimilarity(a!, b!)).toBeLessThan(defaultSemanticThreshold);
    expect(questionSimilarity(b!, a!)).toBeLessThan(defaultSemanticThreshold);
  });

  it.each(fixture.borderline)("borderline, misses by default, hits at 0.8: %s ~ %s", (a, b) => {
    const score = questionSimilarity(a!, b!);
    expect(score).toBeGreaterThanOrEqual(0.8);
    expect(score).toBeLessThan(defaultSemanticThreshold);
  });

  it("scores a question against itself 1, and empty or all-stop-word text 0", () => {
    expect(questionSimilarity("How do I reset my password?", "How do I reset my password?")).toBe(1);
    expect(questionSimilarity("How do you do?", "How do you do?")).toBe(0);
    expect(questionSimilarity("", "reset password")).toBe(0);
  });

  it("gives questions that differ only in ignored words one signature", () => {
    expect(questionSignature("How do I reset my password?")).toBe(
      questionSignature("how can i RESET my password"),
    );
    expect(questionSignature("Add 5 users")).not.toBe(questionSignature("Add 50 users"));
    expect(questionSignature("How do you do?")).toBe("");
  });
});

describe("knowledge version", () => {
  const chatbot = {
    system_prompt: "Be brief.",
    knowledge: [{ question: "Opening hours?", answer: "Nine to five." }],
    ai: { cheap_model: "gpt-4o-mini", strong_model: "gpt-4o" },
  };

  it("is stable, and changes with the prompt, the knowledge or the models", () => {
    expect(knowledgeVersion(chatbot)).toBe(knowledgeVersion(structuredClone(chatbot)));
    expect(knowledgeVersion({ ...chatbot, system_prompt: "Be verbose." })).not.toBe(
      knowledgeVersion(chatbot),
    );
    expect(
      knowledgeVersion({ ...chatbot, knowledge: [{ question: "Opening hours?", answer: "Ten to six." }] }),
    ).not.toBe(knowledgeVersion(chatbot));
    expect(
      knowledgeVersion({ ...chatbot, ai: { cheap_model: "gpt-4.1-nano", strong_model: "gpt-4o" } }),
    ).not.toBe(knowledgeVersion(chatbot));
  });

  it("is remembered per chatbot version (id and updated_at), and worked out again for a new one", () => {
    const stored = { ...chatbot, id: "bot-remembered", updated_at: "2026-12-03T03:00:00.000Z" };
    expect(chatbotKnowledgeVersion(stored)).toBe(knowledgeVersion(stored));
    // The same version of the chatbot, parsed afresh: its version is not worked out again.
    const edited = { ...stored, knowledge: [{ question: "Opening hours?", answer: "Ten to six." }] };
    expect(chatbotKnowledgeVersion(edited)).toBe(knowledgeVersion(stored));
    const updated = { ...edited, updated_at: "2026-12-03T03:05:00.000Z" };
    expect(chatbotKnowledgeVersion(updated)).toBe(knowledgeVersion(edited));
    expect(chatbotKnowledgeVersion(updated)).not.toBe(knowledgeVersion(stored));
  });
});

describe("standalone messages", () => {
  it("are every first message, and later ones that do not refer back", () => {
    expect(standalone("And what does it cost?", false)).toBe(true);
    expect(standalone("How much does the team plan cost?", true)).toBe(true);
    expect(standalone("And what does it cost?", true)).toBe(false);
    expect(standalone("Tell me more", true)).toBe(false);
    expect(standalone("so how long?", true)).toBe(false);
  });
});
