import { describe, expect, it } from "vitest";
import { chooseModel, routingRule } from "./routing";

const models = { cheap: "gpt-4o-mini", strong: "gpt-4o" };
const knowledge = [
  { question: "What are your opening hours?", answer: "Nine to five." },
  { question: "How much does the team plan cost?", answer: "20 euros per seat." },
];
const route = (message: string) => chooseModel(message, knowledge, models);

describe("model routing", () => {
  it("sends a question the knowledge answers to the cheap model", () => {
    expect(route("What are your opening hours?")).toEqual({
      model: "gpt-4o-mini",
      tier: "cheap",
      reason: "knowledge_match",
    });
    expect(route("team plan cost")).toMatchObject({ tier: "cheap", reason: "knowledge_match" });
  });

  it("sends small talk to the cheap model", () => {
    expect(route("Thanks a lot!")).toMatchObject({ tier: "cheap", reason: "small_talk" });
    expect(route("hello")).toMatchObject({ tier: "cheap", reason: "small_talk" });
  });

  it("sends a question nothing in the knowledge matches to the strong model", () => {
    expect(route("Do you integrate with Salesforce?")).toMatchObject({
      model: "gpt-4o",
      tier: "strong",
      reason: "no_knowledge_match",
    });
  });

  it("sends complex intents to the strong model even when the knowledge matches", () => {
    expect(route("Explain how the team plan cost is computed")).toMatchObject({ reason: "complex_intent" });
    expect(route("Why are your opening hours so short?")).toMatchObject({ reason: "complex_intent" });
    expect(route("What are your opening hours? And the team plan cost?")).toMatchObject({
      tier: "strong",
      reason: "complex_intent",
    });
  });

  it("sends a long message to the strong model, from one character past the limit", () => {
    const atLimit = `What are your opening hours? ${"x".repeat(routingRule.longMessageChars - 29)}`;
    expect(atLimit.length).toBe(routingRule.longMessageChars);
    expect(route(atLimit).reason).not.toBe("long");
    expect(route(`${atLimit}x`)).toMatchObject({ tier: "strong", reason: "long" });
  });

  it("treats a long greeting as a question, not small talk", () => {
    expect(route("hello, I would like to know whether you integrate with Salesforce")).toMatchObject({
      tier: "strong",
    });
  });
});
