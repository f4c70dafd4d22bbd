// Who contributed to a generated answer, pure. Version-stamped so every recorded
// weight can be recomputed from the signals stored beside it.
export const ANSWER_FORMULA = 'answer-citation-v0';
/** Share of the weight that follows retrieval rank even when the answer cites sources. */
export const RETRIEVAL_SHARE = 0.2;

export interface CitedSentence {
  /** 1-based source numbers cited by the sentence, each with its support check. */
  sources: { number: number; supported: boolean }[];
}

export interface AnswerSignals {
  retrieval: number[];
  citation: number[];
  weights: number[];
}

/**
 * Retrieval signal: normalised scores. Citation signal: each sentence weighs the same and
 * splits its weight over the sources that are cited AND support it; a cited source that
 * fails the support check earns nothing from that sentence. With no supported citation
 * at all, the weight is the retrieval signal alone.
 */
export function answerWeights(retrievalScores: readonly number[], sentences: readonly CitedSentence[]): AnswerSignals {
  const n = retrievalScores.length;
  const scoreSum = retrievalScores.reduce((a, b) => a + Math.max(0, b), 0);
  const retrieval = retrievalScores.map((s) => (scoreSum > 0 ? Math.max(0, s) / scoreSum : 1 / n));
  const citation = new Array<number>(n).fill(0);
  let counted = 0;
  for (const sentence of sentences) {
    const supported = [...new Set(sentence.sources.filter((s) => s.supported && s.number >= 1 && s.number <= n).map((s) => s.number))];
    if (supported.length === 0) continue;
    counted++;
    for (const number of supported) citation[number - 1]! += 1 / supported.length;
  }
  if (counted > 0) for (let i = 0; i < n; i++) citation[i]! /= counted;
  const weights = counted > 0 ? retrieval.map((r, i) => RETRIEVAL_SHARE * r + (1 - RETRIEVAL_SHARE) * citation[i]!) : retrieval;
  return { retrieval, citation, weights };
}
