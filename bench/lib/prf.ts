// Query expansion from the corpus itself (RM3-style pseudo-relevance feedback), a lever that
// bench:quality measures: the best passages of a first ranking's top documents lend their most
// distinctive terms to a second BM25 query, next to the question's own terms.
import type { Queryable } from '../../shared/db/index.ts';
import { BM25_B, BM25_K1, selectQueryTerms } from '../../shared/core/bm25.ts';
import type { ChunkHit } from '../../shared/core/document-ranking.ts';
import { termStats } from '../../shared/store/lexical.ts';

export interface PrfOptions {
  /** expansion terms added to the query */
  terms: number;
  /** an expansion term's weight relative to a query term, the strongest one getting this much */
  weight: number;
  depth: number;
}

export const PRF_DEFAULTS: PrfOptions = { terms: 10, weight: 0.5, depth: 100 };

export async function prfLexical(db: Queryable, datanetId: string, query: string, feedbackChunkIds: readonly string[], options = PRF_DEFAULTS): Promise<ChunkHit[]> {
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
  const expansion = fb.rows.map((r) => ({ lexeme: r.lexeme, weight: (options.weight * r.w) / top, idf: Math.log(1 + (stats.chunkCount - r.df + 0.5) / (r.df + 0.5)) }));
  const terms = [...own.map((t) => ({ ...t, weight: 1 })), ...expansion];
  if (terms.length === 0) return [];
  const r = await db.query<{ chunk_id: string; score: number }>(
    `SELECT t.chunk_id, sum(q.w * t.tf * ${BM25_K1 + 1} / (t.tf + ${BM25_K1} * (1 - ${BM25_B} + ${BM25_B} * t.chunk_len / $4::float8)))::float8 AS score
       FROM unnest($1::text[], $2::float8[]) AS q(lexeme, w)
       JOIN chunk_terms t ON t.lexeme = q.lexeme AND t.datanet_id = $3
      GROUP BY t.chunk_id ORDER BY score DESC, t.chunk_id LIMIT $5`,
    [terms.map((t) => t.lexeme), terms.map((t) => t.idf * t.weight), datanetId, Math.max(1, stats.averageLength), options.depth],
  );
  return r.rows.map((row) => ({ chunkId: row.chunk_id, score: Number(row.score) }));
}
