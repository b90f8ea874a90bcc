/** Text similarity for the knowledge provider: cosine similarity of word-frequency vectors. */
import { createHash } from "node:crypto";
import { BoundedMap } from "../cache/bounded-map";

const stopWords = new Set(
  "a an and are at be can do does for from how i in is it me my of on or the to what when where which who why with you your".split(
    " ",
  ),
);

/** Lower-cased words without stop words, with a crude plural/suffix strip so "plans" matches "plan". */
export function terms(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [])
    .filter((word) => !stopWords.has(word))
    .map((word) => (word.length > 4 ? word.replace(/(ing|es|s)$/, "") : word));
}

function termCounts(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const word of terms(text)) counts.set(word, (counts.get(word) ?? 0) + 1);
  return counts;
}

const norm = (counts: Map<string, number>) => {
  let sum = 0;
  for (const n of counts.values()) sum += n * n;
  return Math.sqrt(sum);
};

/** The measure itself; KnowledgeIndex computes the same scores without re-reading the knowledge. */
export function cosineSimilarity(a: string, b: string): number {
  const left = termCounts(a);
  const right = termCounts(b);
  let dot = 0;
  for (const [word, count] of left) dot += count * (right.get(word) ?? 0);
  const denominator = norm(left) * norm(right);
  return denominator === 0 ? 0 : dot / denominator;
}

/**
 * The questions of a knowledge base, analysed once: each question's vector norm and, per term, the
 * questions holding it and how often. A query then touches only the questions sharing one of its
 * terms (a question sharing none scores 0) instead of re-tokenising the whole knowledge base. Scores
 * are bit-for-bit those of cosineSimilarity: the same products summed in the same (query term) order.
 */
export class KnowledgeIndex {
  private readonly norms: number[];
  private readonly postings = new Map<string, Array<{ entry: number; count: number }>>();

  constructor(questions: readonly string[]) {
    this.norms = questions.map((question, entry) => {
      const counts = termCounts(question);
      for (const [term, count] of counts) {
        const list = this.postings.get(term);
        if (list) list.push({ entry, count });
        else this.postings.set(term, [{ entry, count }]);
      }
      return norm(counts);
    });
  }

  /**
   * The index of the question most similar to `query` scoring at least `threshold` (the first such
   * question on ties, as a scan in order would pick), with its score.
   */
  best(query: string, threshold: number): { entry: number; score: number } | undefined {
    const counts = termCounts(query);
    const queryNorm = norm(counts);
    const dots = new Map<number, number>();
    for (const [term, count] of counts)
      for (const posting of this.postings.get(term) ?? [])
        dots.set(posting.entry, (dots.get(posting.entry) ?? 0) + count * posting.count);
    let best: { entry: number; score: number } | undefined;
    const consider = (entry: number, dot: number) => {
      const denominator = queryNorm * this.norms[entry]!;
      const score = denominator === 0 ? 0 : dot / denominator;
      if (score >= threshold && (!best || score > best.score || (score === best.score && entry < best.entry)))
        best = { entry, score };
    };
    // Questions sharing no term score 0: they can only win when the threshold admits 0.
    if (threshold <= 0) for (let entry = 0; entry < this.norms.length; entry++) consider(entry, 0);
    for (const [entry, dot] of dots) consider(entry, dot);
    return best;
  }
}

/**
 * Indexes of recently used knowledge bases, by a hash of their questions: a chatbot's knowledge
 * arrives as a fresh array with every message (parsed from the cache), so identity alone would never
 * hit. The same array object skips even the hash.
 */
const byArray = new WeakMap<readonly { question: string }[], KnowledgeIndex>();
const maxIndexes = 256;
const byHash = new BoundedMap<string, KnowledgeIndex>(maxIndexes);

export function knowledgeIndex(entries: readonly { question: string }[]): KnowledgeIndex {
  const known = byArray.get(entries);
  if (known) return known;
  const key = createHash("sha256")
    .update(entries.map((entry) => entry.question).join("\u0000"))
    .digest("base64url");
  let index = byHash.get(key);
  if (index)
    byHash.delete(key); // re-inserted below: the Map's order is least recently used first
  else index = new KnowledgeIndex(entries.map((entry) => entry.question));
  byHash.set(key, index);
  byArray.set(entries, index);
  return index;
}

/** The entry whose question is most similar to `query`, if any scores at least `threshold`. */
export function bestMatch<T extends { question: string }>(
  query: string,
  entries: T[],
  threshold = 0.2,
): { entry: T; score: number } | undefined {
  if (entries.length === 0) return undefined;
  const found = knowledgeIndex(entries).best(query, threshold);
  return found && { entry: entries[found.entry]!, score: found.score };
}
