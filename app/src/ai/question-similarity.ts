/**
 * How alike two questions are, for the semantic response cache: a lexical measure that runs offline
 * in microseconds. Both questions become sets of canonical terms (stop and filler words dropped,
 * crude stemming, a few synonym groups); the score is the cosine of the two sets, halved when each
 * side has a term the other lacks (a substitution, "team plan" vs "enterprise plan", usually asks
 * something else), and 0 when their numbers or their negation differ ("5 users" vs "50 users").
 * Misses are cheap (a provider call), wrong hits are not (a wrong answer): the measure leans strict.
 */
const ignored = new Set(
  (
    "a an and are at be can could do does did for from how i in is it its me my of on or the to what " +
    "when where which who why with you your we our us there have has had get got offer please want " +
    "would like need know tell about any all usually really just also today currently possible able " +
    "way so if this that these those will should other some ever am was were been"
  ).split(" "),
);

/** Words that ask the same thing here: each maps to its group's first word. */
const synonymGroups = [
  ["cost", "price", "pricing", "much", "fee", "charge"],
  ["reset", "forgot", "forget", "forgotten", "recover"],
  ["max", "maximum", "largest", "biggest", "limit"],
  ["email", "mail"],
  ["open", "hour"],
];
const synonyms = new Map(synonymGroups.flatMap((group) => group.map((word) => [word, group[0]!] as const)));

const negation = /\b(not|no|never|without|cannot|none)\b|n't\b/i;

function stem(word: string): string {
  if (/^\d+$/.test(word)) return word;
  let w = word;
  if (w.length > 4 && w.endsWith("ies")) w = `${w.slice(0, -3)}y`;
  else if (w.length > 5 && w.endsWith("ing")) w = w.slice(0, -3).replace(/([bdgmnpt])\1$/, "$1");
  else if (w.length > 6 && w.endsWith("ally")) w = w.slice(0, -2);
  else if (w.length > 5 && w.endsWith("ly")) w = w.slice(0, -2);
  else if (w.length > 4 && w.endsWith("ed")) w = w.slice(0, -2).replace(/([bdgmnpt])\1$/, "$1");
  else if (w.length > 4 && /(s|x|z|ch|sh)es$/.test(w)) w = w.slice(0, -2);
  else if (w.length > 3 && w.endsWith("s") && !w.endsWith("ss")) w = w.slice(0, -1);
  return synonyms.get(w) ?? w;
}

export interface Question {
  terms: Set<string>;
  numbers: string;
  negated: boolean;
}

/** A question as the similarity sees it; analyse a question once to compare it with many. */
export function analyse(text: string): Question {
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  const terms = new Set<string>();
  const numbers: string[] = [];
  for (const word of words) {
    if (/^\d+$/.test(word)) numbers.push(String(Number(word)));
    else if (word.length > 1 && !ignored.has(word)) terms.add(stem(word));
  }
  return { terms, numbers: [...new Set(numbers)].sort().join(","), negated: negation.test(text) };
}

/** 0 (unrelated) to 1 (the same question). */
export const questionSimilarity = (a: string, b: string): number => similarity(analyse(a), analyse(b));

export function similarity(left: Question, right: Question): number {
  if (left.numbers !== right.numbers || left.negated !== right.negated) return 0;
  if (left.terms.size === 0 || right.terms.size === 0) return 0;
  let shared = 0;
  for (const term of left.terms) if (right.terms.has(term)) shared++;
  const cosine = shared / Math.sqrt(left.terms.size * right.terms.size);
  const substitution = shared < left.terms.size && shared < right.terms.size;
  return substitution ? cosine / 2 : cosine;
}

/** One key per distinct question: equal for questions that differ only in ignored words. */
export function questionSignature(text: string): string {
  const { terms, numbers, negated } = analyse(text);
  if (terms.size === 0) return "";
  return [[...terms].sort().join(" "), numbers, negated ? "not" : ""].join("|");
}
