import { BM25_B, BM25_K1 } from '../core/bm25.ts';
import type { Queryable } from '../db/index.ts';

// Keeps the BM25 postings and statistics in step with a document's chunks; call inside
// the transaction that inserts (sign +1) or deletes (sign −1) them.
export async function updateLexicalStats(db: Queryable, documentId: string, sign: 1 | -1): Promise<void> {
  if (sign === 1)
    await db.query(
      // The chunk's length once per chunk (LATERAL), not once per posting.
      `INSERT INTO chunk_terms (datanet_id, lexeme, chunk_id, tf, chunk_len)
       SELECT c.datanet_id, u.lexeme, c.id,
              array_length(u.positions, 1) + coalesce(cardinality(array_positions(u.weights, 'B')), 0), l.len
         FROM chunks c
        CROSS JOIN LATERAL (SELECT coalesce(sum(array_length(x.positions, 1)), 0)::int AS len FROM unnest(c.tsv) x) l
        CROSS JOIN LATERAL unnest(c.tsv) u
        WHERE c.document_id = $1`,
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

// Document-level field index (title ×3, summary ×2, headings ×1 in tf); call inside the
// transaction that inserts (after writing the document's fields) or soft-deletes the document.
export async function insertDocumentTerms(
  db: Queryable,
  documentId: string,
  datanetId: string,
  fields: { title: string; summary: string; headings: readonly string[] },
) {
  await db.query(
    `INSERT INTO document_terms (datanet_id, lexeme, document_id, tf, doc_len)
     SELECT $2, u.lexeme, $1,
            3 * coalesce(cardinality(array_positions(u.weights, 'A')), 0)
            + 2 * coalesce(cardinality(array_positions(u.weights, 'B')), 0)
            + coalesce(cardinality(array_positions(u.weights, 'C')), 0), 0
       FROM unnest(setweight(to_tsvector('english', $3), 'A') || setweight(to_tsvector('english', $4), 'B')
                   || setweight(to_tsvector('english', $5), 'C')) u`,
    [documentId, datanetId, fields.title, fields.summary, fields.headings.join('\n')],
  );
  await db.query(
    `UPDATE document_terms SET doc_len = (SELECT sum(tf) FROM document_terms WHERE document_id = $1) WHERE document_id = $1`,
    [documentId],
  );
  await updateDocumentStats(db, documentId, 1);
}

export async function deleteDocumentTerms(db: Queryable, documentId: string) {
  await updateDocumentStats(db, documentId, -1);
  await db.query(`DELETE FROM document_terms WHERE document_id = $1`, [documentId]);
}

async function updateDocumentStats(db: Queryable, documentId: string, sign: 1 | -1) {
  await db.query(
    `INSERT INTO document_lexeme_stats (datanet_id, lexeme, df)
     SELECT datanet_id, lexeme, 1 FROM document_terms WHERE document_id = $1
     ON CONFLICT (datanet_id, lexeme) DO UPDATE SET df = document_lexeme_stats.df + $2`,
    [documentId, sign],
  );
  await db.query(
    `INSERT INTO datanet_document_stats (datanet_id, document_count, total_length)
     SELECT datanet_id, 1, doc_len FROM document_terms WHERE document_id = $1 LIMIT 1
     ON CONFLICT (datanet_id) DO UPDATE SET document_count = datanet_document_stats.document_count + $2,
                                           total_length = datanet_document_stats.total_length + $2 * excluded.total_length`,
    [documentId, sign],
  );
}

/** BM25 over document fields: the best `k` live documents of the datanets for the query. */
export async function fieldSearch(
  db: Queryable,
  query: string,
  k: number,
  datanetIds: readonly string[],
  metadata: Record<string, unknown> | undefined,
  params: { k1: number; b: number },
): Promise<{ documentId: string; score: number }[]> {
  const filter = metadata && Object.keys(metadata).length > 0 ? JSON.stringify(metadata) : null;
  const r = await db.query<{ document_id: string; score: number }>(
    `WITH n AS (SELECT sum(document_count)::float8 AS n, sum(total_length)::float8 / greatest(sum(document_count), 1) AS avglen
                  FROM datanet_document_stats WHERE datanet_id = ANY($2::text[])),
          s AS (SELECT s.lexeme, sum(s.df)::float8 AS df FROM document_lexeme_stats s
                 WHERE s.datanet_id = ANY($2::text[]) AND s.lexeme = ANY(tsvector_to_array(to_tsvector('english', $1)))
                 GROUP BY s.lexeme HAVING sum(s.df) > 0)
     SELECT t.document_id,
            sum(ln(1 + (n.n - s.df + 0.5) / (s.df + 0.5)) * t.tf * ${params.k1 + 1}
                / (t.tf + ${params.k1} * (1 - ${params.b} + ${params.b} * t.doc_len / greatest(n.avglen, 1))))::float8 AS score
       FROM s JOIN document_terms t ON t.lexeme = s.lexeme AND t.datanet_id = ANY($2::text[]) CROSS JOIN n
      ${filter ? 'WHERE EXISTS (SELECT 1 FROM documents d WHERE d.id = t.document_id AND d.metadata @> $4::jsonb)' : ''}
      GROUP BY t.document_id ORDER BY score DESC, t.document_id LIMIT $3`,
    [query, datanetIds, k, ...(filter ? [filter] : [])],
  );
  return r.rows.map((row) => ({ documentId: row.document_id, score: Number(row.score) }));
}

/**
 * BM25 over the chunk_terms postings: each term weighs its idf × its query weight; the best `k`
 * chunks of the datanets, optionally only of documents whose metadata contains `metadata`.
 */
export async function chunkBm25(
  db: Queryable,
  terms: readonly { lexeme: string; weight: number }[],
  averageLength: number,
  k: number,
  datanetIds: readonly string[],
  metadata?: Record<string, unknown>,
): Promise<{ chunkId: string; score: number }[]> {
  if (terms.length === 0) return [];
  const filter = metadata && Object.keys(metadata).length > 0 ? JSON.stringify(metadata) : null;
  const r = await db.query<{ chunk_id: string; score: number }>(
    `SELECT t.chunk_id, sum(q.w * t.tf * ${BM25_K1 + 1} / (t.tf + ${BM25_K1} * (1 - ${BM25_B} + ${BM25_B} * t.chunk_len / $4::float8)))::float8 AS score
       FROM unnest($1::text[], $2::float8[]) AS q(lexeme, w)
       JOIN chunk_terms t ON t.lexeme = q.lexeme AND t.datanet_id = ANY($3::text[])
      ${filter ? 'WHERE EXISTS (SELECT 1 FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id = t.chunk_id AND d.metadata @> $6::jsonb)' : ''}
      GROUP BY t.chunk_id
      ORDER BY score DESC, t.chunk_id
      LIMIT $5`,
    [
      terms.map((t) => t.lexeme),
      terms.map((t) => t.weight),
      datanetIds,
      Math.max(1, averageLength),
      k,
      ...(filter ? [filter] : []),
    ],
  );
  return r.rows.map((row) => ({ chunkId: row.chunk_id, score: Number(row.score) }));
}
