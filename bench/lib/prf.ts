// Query expansion from the corpus itself (RM3-style pseudo-relevance feedback), a lever that
// bench:quality measures: the best passages of a first ranking's top documents lend their most
// distinctive terms to a second BM25 query, next to the question's own terms.
import type { Queryable } from '../../shared/db/index.ts';
import { idf, selectQueryTerms } from '../../shared/core/bm25.ts';
import type { ChunkHit } from '../../shared/core/document-ranking.ts';
import { chunkBm25, termStats } from '../../shared/store/lexical.ts';

export interface PrfOptions {
  /** expansion terms added to the query */
  terms: number;
  /** an expansion term's weight relative to a query term, the strongest one getting this much */
  weight: number;
  depth: number;
}

export const PRF_DEFAULTS: PrfOptions = { terms: 10, weight: 0.5, depth: 100 };

export async function prfLexical(
  db: Queryable,
  datanetId: string,
  query: string,
  feedbackChunkIds: readonly string[],
  options = PRF_DEFAULTS,
): Promise<ChunkHit[]> {
  const stats = await termStats(db, query, [datanetId]);
  const own = selectQueryTerms(stats, { maxPostings: Infinity });
  // Feedback term weight: Σ over the feedback passages of tf / length × idf. Terms of a single passage are names and typos.
  const fb = await db.query<{ lexeme: string; df: number; w: number }>(
    `SELECT t.lexeme, s.df, (sum(t.tf::float8 / greatest(t.chunk_len, 1)) * ln(1 + ($3 - s.df + 0.5) / (s.df + 0.5)))::float8 AS w
       FROM chunk_terms t JOIN lexeme_stats s ON s.datanet_id = t.datanet_id AND s.lexeme = t.lexeme
      WHERE t.datanet_id = $1 AND t.chunk_id = ANY($2::text[]) AND s.df > 1 AND NOT (t.lexeme = ANY($4::text[]))
      GROUP BY t.lexeme, s.df ORDER BY w DESC, t.lexeme LIMIT $5`,
    [datanetId, feedbackChunkIds, stats.chunkCount, own.map((t) => t.lexeme), options.terms],
  );
  const top = fb.rows[0]?.w ?? 1;
  const expansion = fb.rows.map((r) => ({
    lexeme: r.lexeme,
    weight: (options.weight * r.w) / top,
    idf: idf(stats.chunkCount, r.df),
  }));
  const terms = [
    ...own.map((t) => ({ lexeme: t.lexeme, weight: t.idf })),
    ...expansion.map((t) => ({ lexeme: t.lexeme, weight: t.idf * t.weight })),
  ];
  return chunkBm25(db, terms, stats.averageLength, options.depth, [datanetId]);
}
