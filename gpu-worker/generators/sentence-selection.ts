import { contentTokens } from '../../shared/core/citations.ts';

// Which sentences an extractive answer quotes, and so which sources it cites and pays. Pure: the
// vectors come in (unit length, from the embedder), the chosen sentences go out, best source first.
//
// A sentence's relevance is what it says (dense similarity to the question + the idf-weighted share
// of the question's words it states), a little for retrieval's order, and — new for issue 16 — the
// evidence of the document it comes from as a whole: how much of the question the source's
// sentences state between them, and how close its title is to the question. A page whose sentences
// together cover the question is the page that answers it more often than the page holding the one
// sentence most like the question (measured on the dev halves: bench/lab/answers.ts).

export interface SelectionParams {
  maxSentences: number;
  /** relevance = dense similarity + lexicalWeight × idf-weighted share of question words stated */
  lexicalWeight: number;
  /** below this content relevance nothing answers (the honest "not covered") */
  minRelevance: number;
  /** each further sentence must come this close to the best one */
  relativeCutoff: number;
  /** a further sentence from a source not yet quoted must come closer still: each new source is one more use to pay */
  newSourceCutoff: number;
  /** retrieval's order: the first source gets this much more than the last */
  rankPrior: number;
  /** near-repeats of a sentence already chosen (cosine) add nothing */
  maxRedundancy: number;
  /** a sentence from a source not yet quoted must also state at least this idf-weighted share of the question not yet stated */
  newSourceMinGain: number;
  /** source evidence: weight of the idf-weighted share of question words the source's sentences state together */
  sourceCoverage: number;
  /** abstain (the honest "not covered") when no source's sentences state this idf-weighted share of the question */
  minSourceCoverage: number;
  /** source evidence: weight of the title's similarity to the question (dense) */
  titleSimilarity: number;
  /** source evidence: weight of the idf-weighted share of question words its title states */
  titleCoverage: number;
}

/** The composer before issue 16's evidence terms (kept so the lab can compare against it). */
export const SENTENCE_ONLY_SELECTION: SelectionParams = {
  maxSentences: 3,
  lexicalWeight: 0.35,
  minRelevance: 0.42,
  relativeCutoff: 0.8,
  newSourceCutoff: 0.92,
  rankPrior: 0.1,
  maxRedundancy: 0.85,
  newSourceMinGain: 0,
  sourceCoverage: 0,
  minSourceCoverage: 0,
  titleSimilarity: 0,
  titleCoverage: 0,
};

/** Fitted on the dev halves of the git, SOTU 1961–2000 and npm-docs corpora (bench/lab/answers.ts; README, Retrieval quality). */
export const DEFAULT_SELECTION: SelectionParams = {
  ...SENTENCE_ONLY_SELECTION,
  sourceCoverage: 0.1,
  titleCoverage: 0.1,
};

export interface Candidate {
  /** the source's number in the prompt (1-based, retrieval order) */
  number: number;
  text: string;
  words: Set<string>;
}

export interface SourceInfo {
  number: number;
  title: string;
}

/**
 * Greedy query-focused selection. `q` is the question's vector, `vectors[i]` candidates[i]'s,
 * `titleVectors` the sources' titles' (same order as `sources`; may be empty when titleSimilarity is 0).
 * Returns the chosen sentences, grouped by source in the order each source's first sentence was chosen.
 */
export function selectSentences(
  question: string,
  q: Float32Array,
  candidates: readonly Candidate[],
  vectors: readonly Float32Array[],
  sources: readonly SourceInfo[],
  titleVectors: readonly Float32Array[],
  p: SelectionParams = DEFAULT_SELECTION,
): Candidate[] {
  if (candidates.length === 0) return [];
  const lexical = lexicalScorer(question, candidates);
  const lastRank = Math.max(1, ...candidates.map((c) => c.number)) - 1 || 1;
  const prior = (c: Candidate) => p.rankPrior * (1 - (c.number - 1) / lastRank);
  const bonus = sourceEvidence(q, candidates, sources, titleVectors, lexical, p);
  if (p.minSourceCoverage > 0) {
    const covered = sources.map((s) => {
      const words = new Set<string>();
      for (const c of candidates) if (c.number === s.number) for (const w of c.words) words.add(w);
      return lexical.score(words);
    });
    if (Math.max(0, ...covered) < p.minSourceCoverage) return [];
  }
  // The floor applies to what a sentence says (content), not to where its source ranked.
  const content = vectors.map((v, i) => dot(q, v) + p.lexicalWeight * lexical.score(candidates[i]!.words));
  const relevance = content.map((r, i) =>
    r >= p.minRelevance ? r + prior(candidates[i]!) + (bonus.get(candidates[i]!.number) ?? 0) : -Infinity,
  );
  const order = relevance.map((_, i) => i).sort((a, b) => relevance[b]! - relevance[a]! || a - b); // ties keep source order
  const best = order[0]!;
  if (relevance[best] === -Infinity) return [];
  const chosen = [best];
  const stated = new Set([...candidates[best]!.words].filter((w) => lexical.terms.has(w)));
  for (const i of order.slice(1)) {
    if (chosen.length >= p.maxSentences || stated.size >= lexical.terms.size) break; // the question is covered
    if (relevance[i]! < p.relativeCutoff * relevance[best]!) break;
    const newSource = !chosen.some((j) => candidates[j]!.number === candidates[i]!.number);
    if (newSource && relevance[i]! < p.newSourceCutoff * relevance[best]!) continue;
    const adds = [...candidates[i]!.words].filter((w) => lexical.terms.has(w) && !stated.has(w));
    if (adds.length === 0) continue;
    if (newSource && p.newSourceMinGain > 0 && lexical.score(new Set(adds)) < p.newSourceMinGain) continue;
    if (chosen.some((j) => dot(vectors[i]!, vectors[j]!) >= p.maxRedundancy)) continue;
    chosen.push(i);
    for (const w of adds) stated.add(w);
  }
  // Best source first: group by source, in the order each source's best sentence was chosen.
  const sourceOrder = [...new Set(chosen.map((i) => candidates[i]!.number))];
  return sourceOrder.flatMap((n) => chosen.filter((i) => candidates[i]!.number === n).map((i) => candidates[i]!));
}

/** Per source number: the evidence of the source as a whole, added to each of its sentences' relevance. */
function sourceEvidence(
  q: Float32Array,
  candidates: readonly Candidate[],
  sources: readonly SourceInfo[],
  titleVectors: readonly Float32Array[],
  lexical: ReturnType<typeof lexicalScorer>,
  p: SelectionParams,
): Map<number, number> {
  const out = new Map<number, number>();
  if (p.sourceCoverage === 0 && p.titleSimilarity === 0 && p.titleCoverage === 0) return out;
  sources.forEach((s, k) => {
    const words = new Set<string>();
    for (const c of candidates) if (c.number === s.number) for (const w of c.words) words.add(w);
    let e = p.sourceCoverage * lexical.score(words);
    if (p.titleCoverage !== 0) e += p.titleCoverage * lexical.score(contentTokens(titleWords(s.title)));
    const tv = titleVectors[k];
    if (p.titleSimilarity !== 0 && tv) e += p.titleSimilarity * dot(q, tv);
    out.set(s.number, e);
  });
  return out;
}

/** "git-reset(1)" → "git reset": a title's words as a question would state them. */
export function titleWords(title: string): string {
  return title.replace(/\(\d+\w*\)/g, ' ').replace(/[-_/]/g, ' ');
}

/**
 * How much of the question a set of words states: the idf-weighted share of the question's
 * content words it contains, idf over the candidate sentences. `terms`: the question words some candidate states.
 */
function lexicalScorer(question: string, candidates: readonly Candidate[]) {
  const df = new Map<string, number>();
  for (const c of candidates) for (const w of c.words) df.set(w, (df.get(w) ?? 0) + 1);
  const idf = new Map<string, number>();
  for (const w of contentTokens(question)) if (df.has(w)) idf.set(w, Math.log(1 + candidates.length / df.get(w)!));
  const total = [...idf.values()].reduce((a, b) => a + b, 0);
  return {
    terms: new Set(idf.keys()),
    score(words: ReadonlySet<string>): number {
      if (total === 0) return 0;
      let s = 0;
      for (const [w, weight] of idf) if (words.has(w)) s += weight;
      return s / total;
    },
  };
}

export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += a[k]! * b[k]!;
  return s;
}
