/** Text similarity for the knowledge provider: cosine similarity of word-frequency vectors. */
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

export function cosineSimilarity(a: string, b: string): number {
  const counts = (words: string[]) => {
    const map = new Map<string, number>();
    for (const word of words) map.set(word, (map.get(word) ?? 0) + 1);
    return map;
  };
  const left = counts(terms(a));
  const right = counts(terms(b));
  let dot = 0;
  for (const [word, count] of left) dot += count * (right.get(word) ?? 0);
  const norm = (map: Map<string, number>) => Math.sqrt([...map.values()].reduce((sum, n) => sum + n * n, 0));
  const denominator = norm(left) * norm(right);
  return denominator === 0 ? 0 : dot / denominator;
}

/** The entry whose question is most similar to `query`, if any scores at least `threshold`. */
export function bestMatch<T extends { question: string }>(
  query: string,
  entries: T[],
  threshold = 0.2,
): { entry: T; score: number } | undefined {
  let best: { entry: T; score: number } | undefined;
  for (const entry of entries) {
    const score = cosineSimilarity(query, entry.question);
    if (score >= threshold && (!best || score > best.score)) best = { entry, score };
  }
  return best;
}
