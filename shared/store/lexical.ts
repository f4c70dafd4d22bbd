import type { Queryable } from '../db/index.ts';

// Keeps the BM25 postings and statistics in step with a document's chunks; call inside
// the transaction that inserts (sign +1) or deletes (sign −1) them.
export async function updateLexicalStats(db: Queryable, documentId: string, sign: 1 | -1): Promise<void> {
  if (sign === 1)
    await db.query(
      `INSERT INTO chunk_terms (datanet_id, lexeme, chunk_id, tf, chunk_len)
       SELECT c.datanet_id, u.lexeme, c.id,
              array_length(u.positions, 1) + coalesce(cardinality(array_positions(u.weights, 'B')), 0),
              (SELECT coalesce(sum(array_length(x.positions, 1)), 0) FROM unnest(c.tsv) x)
         FROM chunks c, unnest(c.tsv) u WHERE c.document_id = $1`,
      [documentId],
    );
  await db.query(
    `INSERT INTO lexeme_stats (datanet_id, lexeme, df)
     SELECT t.datanet_id, t.lexeme, count(*) FROM chunk_terms t JOIN chunks c ON c.id = t.chunk_id
      WHERE c.document_id = $1 GROUP BY 1, 2
     ON CONFLICT (datanet_id, lexeme) DO UPDATE SET df = lexeme_stats.df + $2 * excluded.df`,
    [documentId, sign],
  );
  await db.query(
    `INSERT INTO datanet_lexical_stats (datanet_id, chunk_count, total_length)
     SELECT datanet_id, count(*), sum(len) FROM (
       SELECT DISTINCT t.datanet_id, t.chunk_id, t.chunk_len AS len FROM chunk_terms t JOIN chunks c ON c.id = t.chunk_id WHERE c.document_id = $1) x
      GROUP BY 1
     ON CONFLICT (datanet_id) DO UPDATE SET chunk_count = datanet_lexical_stats.chunk_count + $2 * excluded.chunk_count,
                                           total_length = datanet_lexical_stats.total_length + $2 * excluded.total_length`,
    [documentId, sign],
  );
}

export interface TermStats {
  chunkCount: number;
  averageLength: number;
  terms: { lexeme: string; df: number }[];
}

/** Document frequencies of the query's lexemes over the chosen datanets. */
export async function termStats(db: Queryable, query: string, datanetIds: readonly string[]): Promise<TermStats> {
  const r = await db.query<{ lexeme: string | null; df: number | null; n: number; total: string }>(
    `WITH n AS (SELECT coalesce(sum(chunk_count), 0)::int AS n, coalesce(sum(total_length), 0)::text AS total
                  FROM datanet_lexical_stats WHERE datanet_id = ANY($2::text[])),
          t AS (SELECT s.lexeme, sum(s.df)::int AS df FROM lexeme_stats s
                 WHERE s.datanet_id = ANY($2::text[]) AND s.lexeme = ANY(tsvector_to_array(to_tsvector('english', $1)))
                 GROUP BY s.lexeme HAVING sum(s.df) > 0)
     SELECT t.lexeme, t.df, n.n, n.total FROM n LEFT JOIN t ON true`,
    [query, datanetIds],
  );
  const n = r.rows[0]?.n ?? 0;
  const total = Number(r.rows[0]?.total ?? 0);
  return {
    chunkCount: n,
    averageLength: n > 0 ? total / n : 0,
    terms: r.rows.filter((row) => row.lexeme !== null).map((row) => ({ lexeme: row.lexeme!, df: row.df! })),
  };
}
