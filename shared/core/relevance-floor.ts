// The relevance floor, pure: retrieval returns no document that is too weak to be a use of it.
// `topK` is a maximum; a question that a datanet does not cover gets none of its documents, and a
// question nothing covers gets an empty list (200, no charge). Two tests, both needed:
// - relative: a document's fused score against the best document's (fusion scores are relative
//   within one question, so this is what removes the tail an unrelated datanet adds);
// - absolute: the cosine similarity of its nearest passage (or document vector) to the question,
//   when a dense retriever saw it (the only score comparable across questions).

export interface RelevanceFloor {
  /** keep documents whose fused score ≥ this × the best document's (0 = off) */
  relative: number;
  /** keep documents whose best known cosine similarity ≥ this (0 = off); unknown similarity passes */
  similarity: number;
}

export interface FloorCandidate {
  score: number;
  /** best cosine similarity of the document's passages or vector to the query; null when no dense list held it */
  similarity: number | null;
}

export function aboveFloor<T extends FloorCandidate>(ranked: readonly T[], floor: RelevanceFloor): T[] {
  const best = ranked.reduce((m, d) => Math.max(m, d.score), 0);
  return ranked.filter(
    (d) => d.score >= floor.relative * best && (d.similarity === null || d.similarity >= floor.similarity),
  );
}
