/**
 * CPU the built-in knowledge provider spends per message with a 62 KB knowledge base (the size a
 * chatbot's 200 entries reach), measured through its public interface with process.cpuUsage().
 */
import { KnowledgeProvider } from "../src/ai/knowledge-provider";
import type { KnowledgeEntry } from "../src/ai/provider";

const topics = ["billing", "accounts", "security", "exports", "integrations", "limits", "teams", "support"];
const verbs = ["change", "cancel", "configure", "download", "enable", "reset", "share", "verify"];

/** 200 distinct entries (the API's maximum), about `targetBytes` of JSON in all. */
export function knowledgeBase(targetBytes = 62_000): KnowledgeEntry[] {
  const entries: KnowledgeEntry[] = [];
  for (let index = 0; index < 200; index++) {
    const topic = topics[index % topics.length]!;
    const verb = verbs[Math.floor(index / topics.length) % verbs.length]!;
    entries.push({
      question: `How do I ${verb} the ${topic} settings of workspace number ${index}?`,
      answer: `To ${verb} the ${topic} settings of workspace ${index}, open Settings, choose ${topic}, and follow the steps shown there.`,
    });
  }
  // Pad every answer evenly up to the target size.
  const padding = Math.max(0, Math.floor((targetBytes - JSON.stringify(entries).length) / entries.length));
  const filler = " Our support team can help with anything this answer does not cover, every weekday.";
  return entries.map((entry) => ({
    ...entry,
    answer: entry.answer + filler.repeat(Math.ceil(padding / filler.length)).slice(0, padding),
  }));
}

export async function measureKnowledgeCpu(
  messages = 200,
): Promise<{ cpuMsPerMessage: number; knowledgeBaseBytes: number }> {
  const knowledge = knowledgeBase();
  const provider = new KnowledgeProvider();
  const signal = new AbortController().signal;
  const ask = (index: number) =>
    provider.generate(
      {
        systemPrompt: "You are a helpful assistant.",
        knowledge,
        history: [],
        userMessage: `How can I ${verbs[index % verbs.length]} my ${topics[index % topics.length]} settings? (${index})`,
      },
      { signal },
    );
  for (let index = 0; index < 20; index++) await ask(index);
  const before = process.cpuUsage();
  for (let index = 0; index < messages; index++) await ask(index);
  const used = process.cpuUsage(before);
  return {
    cpuMsPerMessage: (used.user + used.system) / 1000 / messages,
    knowledgeBaseBytes: Buffer.byteLength(JSON.stringify(knowledge)),
  };
}
