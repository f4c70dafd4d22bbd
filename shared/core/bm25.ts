// BM25 (Robertson/Sparck Jones) term weighting, pure. The database matches and counts;
// this module decides which query terms are worth matching and how much each weighs.

export const BM25_K1 = 1.2;
export const BM25_B = 0.75;

export function idf(chunkCount: number, df: number): number {
  return Math.log(1 + (chunkCount - df + 0.5) / (df + 0.5));
}

export interface WeightedTerm {
  lexeme: string;
  idf: number;
}

/**
 * Rarest terms first, stopping once their postings would exceed `maxPostings`
 * (always keeping `minTerms`): very common terms add little to BM25 but would make
 * every chunk a candidate, which is what made plain OR-matching slow.
 */
export function selectQueryTerms(
  stats: { chunkCount: number; terms: readonly { lexeme: string; df: number }[] },
  options: { maxPostings?: number; minTerms?: number } = {},
): WeightedTerm[] {
  const maxPostings = options.maxPostings ?? 2000; // measured: 3000 costs +3.6 ms p50 for +0.008 recall@1 on SOTU
  const minTerms = options.minTerms ?? 2;
  const sorted = [...stats.terms].sort((a, b) => a.df - b.df || (a.lexeme < b.lexeme ? -1 : 1));
  const chosen: WeightedTerm[] = [];
  let postings = 0;
  for (const t of sorted) {
    if (chosen.length >= minTerms && postings + t.df > maxPostings) break;
    postings += t.df;
    chosen.push({ lexeme: t.lexeme, idf: idf(stats.chunkCount, t.df) });
  }
  return chosen;
}
