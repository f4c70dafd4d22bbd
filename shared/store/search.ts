import { BM25_B, BM25_K1 } from '../core/bm25.ts';
import type { Queryable } from '../db/index.ts';
import { toDatanet, type Datanet, type DatanetRow } from './datanets.ts';
import type { TermStats } from './lexical.ts';
import {
  SOURCE_COLUMNS,
  SOURCE_TABLES,
  sourceOf,
  type HydratedRow,
  type SourceColumnsRow,
} from './retrieval-chunks.ts';

// A search's data in three statements (issue 18: each statement is a round trip, and the edge
// Worker's database is a network hop away), for an index inside the database (pgvector):
//   1. searchScope: the datanets and the query's lexical statistics;
//   2. searchCandidates: every retriever's list (chunk BM25 over the terms core/bm25.ts chose,
//      field BM25, dense chunks and document vectors per model through migration 0095's functions),
//      the facts fusion needs about their chunks, and the nearest passage of each document that
//      only a document list found;
//   3. searchSources: the picked passages hydrated, with what the near-duplicate check compares.
// The ranking between them stays in shared/core (pure); only the fetching is folded here.

export interface SearchScope {
  datanets: Datanet[];
  stats: TermStats;
}

/** The datanets (all of them when `datanetIds` is empty) and the query's term statistics over them. */
export async function searchScope(db: Queryable, query: string, datanetIds: readonly string[]): Promise<SearchScope> {
  const r = await db.query<Partial<DatanetRow> & { n: number; total: string; terms: { lexeme: string; df: number }[] }>(
    `WITH dn AS (SELECT * FROM datanets WHERE cardinality($1::text[]) = 0 OR id = ANY($1::text[])),
          ids AS (SELECT coalesce(array_agg(id), '{}') AS ids FROM dn),
          n AS (SELECT coalesce(sum(chunk_count), 0)::int AS n, coalesce(sum(total_length), 0)::text AS total
                  FROM datanet_lexical_stats WHERE datanet_id = ANY((SELECT ids FROM ids)::text[])),
          t AS (SELECT coalesce(json_agg(json_build_object('lexeme', x.lexeme, 'df', x.df)), '[]') AS terms FROM (
                  SELECT s.lexeme, sum(s.df)::int AS df FROM lexeme_stats s
                   WHERE s.datanet_id = ANY((SELECT ids FROM ids)::text[]) AND s.lexeme = ANY(tsvector_to_array(to_tsvector('english', $2)))
                   GROUP BY s.lexeme HAVING sum(s.df) > 0) x)
     SELECT dn.*, n.n, n.total, t.terms FROM n CROSS JOIN t LEFT JOIN dn ON true ORDER BY dn.created_at, dn.id`,
    [datanetIds, query],
  );
  const first = r.rows[0]!;
  const chunkCount = first.n;
  const total = Number(first.total);
  return {
    datanets: r.rows.filter((row) => row.id != null).map((row) => toDatanet(row as DatanetRow)),
    stats: { chunkCount, averageLength: chunkCount > 0 ? total / chunkCount : 0, terms: first.terms },
  };
}

export interface CandidateParameters {
  query: string;
  datanetIds: readonly string[];
  metadata?: Record<string, unknown> | undefined;
  /** chunk BM25's terms (core/bm25.ts selectQueryTerms) with their weights */
  terms: readonly { lexeme: string; weight: number }[];
  averageLength: number;
  /** chunks per chunk list, documents per document list */
  chunkK: number;
  documentK: number;
  /** BM25 parameters of the field list */
  fields: { k1: number; b: number };
  /** one dense search per embedding model, each over its own datanets */
  dense: { model: string; dimension: number; vector: string; datanetIds: readonly string[] }[];
  efSearch: number;
}

export interface CandidateRows {
  lexical: { chunkId: string; score: number }[];
  fields: { documentId: string; score: number }[];
  /** per entry of `dense`, in the index's order (relaxed: not necessarily sorted) */
  dense: { chunkId: string; distance: number }[][];
  docDense: { documentId: string; distance: number }[][];
  /** live candidate chunks: document, its size, how many documents hold the same text */
  chunks: { id: string; documentId: string; chunkCount: number; copies: number }[];
  /** for documents found only by document lists: per entry of `dense`, each one's nearest chunk */
  nearest: Map<string, string>[];
  /** and their first chunk, for documents without vectors */
  firstChunk: Map<string, string>;
}

type JsonRow = {
  lexical: { c: string; s: number }[] | null;
  fields: { d: string; s: number }[] | null;
  dense: { m: number; c: string; d: number }[] | null;
  doc_dense: { m: number; d: string; x: number }[] | null;
  info: { id: string; doc: string; n: number; copies: number }[] | null;
  nearest: { m: number; d: string; c: string }[] | null;
  first: { d: string; c: string }[] | null;
};

/** Every retriever's list in one statement (see the top of this file). */
export async function searchCandidates(db: Queryable, p: CandidateParameters): Promise<CandidateRows> {
  const filter = p.metadata && Object.keys(p.metadata).length > 0 ? JSON.stringify(p.metadata) : null;
  const { k1, b } = p.fields;
  const r = await db.query<JsonRow>(
    `WITH
     lexical AS (
       SELECT t.chunk_id, sum(q.w * t.tf * ${BM25_K1 + 1}::float8 / (t.tf + ${BM25_K1}::float8 * (1 - ${BM25_B}::float8 + ${BM25_B}::float8 * t.chunk_len / $6::float8)))::float8 AS score
         FROM unnest($4::text[], $5::float8[]) AS q(lexeme, w)
         JOIN chunk_terms t ON t.lexeme = q.lexeme AND t.datanet_id = ANY($2::text[])
        ${filter ? 'WHERE EXISTS (SELECT 1 FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id = t.chunk_id AND d.metadata @> $3::jsonb)' : ''}
        GROUP BY t.chunk_id ORDER BY score DESC, t.chunk_id LIMIT $7),
     fn AS (SELECT sum(document_count)::float8 AS n, sum(total_length)::float8 / greatest(sum(document_count), 1) AS avglen
              FROM datanet_document_stats WHERE datanet_id = ANY($2::text[])),
     fs AS (SELECT s.lexeme, sum(s.df)::float8 AS df FROM document_lexeme_stats s
             WHERE s.datanet_id = ANY($2::text[]) AND s.lexeme = ANY(tsvector_to_array(to_tsvector('english', $1)))
             GROUP BY s.lexeme HAVING sum(s.df) > 0),
     fields AS (
       SELECT t.document_id,
              sum(ln(1 + (fn.n - fs.df + 0.5) / (fs.df + 0.5)) * t.tf * ${k1 + 1}
                  / (t.tf + ${k1} * (1 - ${b} + ${b} * t.doc_len / greatest(fn.avglen, 1))))::float8 AS score
         FROM fs JOIN document_terms t ON t.lexeme = fs.lexeme AND t.datanet_id = ANY($2::text[]) CROSS JOIN fn
        ${filter ? 'WHERE EXISTS (SELECT 1 FROM documents d WHERE d.id = t.document_id AND d.metadata @> $3::jsonb)' : ''}
        GROUP BY t.document_id ORDER BY score DESC, t.document_id LIMIT $8),
     models AS MATERIALIZED (
       SELECT (o - 1)::int AS m, e ->> 'model' AS model, (e ->> 'dimension')::int AS dimension, (e ->> 'vector')::vector AS vector,
              ARRAY(SELECT jsonb_array_elements_text(e -> 'datanetIds')) AS datanets
         FROM jsonb_array_elements($9::jsonb) WITH ORDINALITY AS x(e, o)),
     dense AS (
       SELECT m.m, h.chunk_id, h.distance, h.o
         FROM models m CROSS JOIN LATERAL pgvector_chunk_hits(m.model, m.dimension, m.vector, $7::int, m.datanets, $3::jsonb, $10::int)
              WITH ORDINALITY AS h(chunk_id, distance, o)),
     doc_dense AS (
       SELECT m.m, h.document_id, h.distance, h.o
         FROM models m CROSS JOIN LATERAL pgvector_document_hits(m.model, m.dimension, m.vector, $8::int, m.datanets, $3::jsonb)
              WITH ORDINALITY AS h(document_id, distance, o)),
     info AS (
       SELECT c.id, c.document_id, d.chunk_count,
              (SELECT count(DISTINCT o.document_id) FROM chunks o WHERE o.datanet_id = c.datanet_id AND o.text_hash = c.text_hash)::int AS copies
         FROM (SELECT chunk_id FROM lexical UNION SELECT chunk_id FROM dense) hit
              CROSS JOIN LATERAL (SELECT * FROM chunks c WHERE c.id = hit.chunk_id OFFSET 0) c
              JOIN documents d ON d.id = c.document_id
        WHERE d.deleted_at IS NULL),
     only_docs AS (
       SELECT coalesce(array_agg(document_id), '{}') AS ids FROM (
         SELECT document_id FROM fields UNION SELECT document_id FROM doc_dense EXCEPT SELECT document_id FROM info) x),
     nearest AS (
       SELECT m.m, n.document_id, n.chunk_id
         FROM models m CROSS JOIN LATERAL pgvector_nearest_chunks(m.model, m.dimension, m.vector, (SELECT ids FROM only_docs), m.datanets) n
        WHERE (SELECT cardinality(ids) FROM only_docs) > 0),
     first AS (
       SELECT DISTINCT ON (document_id) document_id, id FROM chunks
        WHERE document_id = ANY((SELECT ids FROM only_docs)::text[]) ORDER BY document_id, ordinal)
     SELECT (SELECT json_agg(json_build_object('c', chunk_id, 's', score) ORDER BY score DESC, chunk_id) FROM lexical) AS lexical,
            (SELECT json_agg(json_build_object('d', document_id, 's', score) ORDER BY score DESC, document_id) FROM fields) AS fields,
            (SELECT json_agg(json_build_object('m', m, 'c', chunk_id, 'd', distance) ORDER BY m, o) FROM dense) AS dense,
            (SELECT json_agg(json_build_object('m', m, 'd', document_id, 'x', distance) ORDER BY m, o) FROM doc_dense) AS doc_dense,
            (SELECT json_agg(json_build_object('id', id, 'doc', document_id, 'n', chunk_count, 'copies', copies)) FROM info) AS info,
            (SELECT json_agg(json_build_object('m', m, 'd', document_id, 'c', chunk_id)) FROM nearest) AS nearest,
            (SELECT json_agg(json_build_object('d', document_id, 'c', id)) FROM first) AS first`,
    [
      p.query,
      p.datanetIds,
      filter,
      p.terms.map((t) => t.lexeme),
      p.terms.map((t) => t.weight),
      Math.max(1, p.averageLength),
      p.chunkK,
      p.documentK,
      JSON.stringify(p.dense.map((d) => ({ ...d, datanetIds: [...d.datanetIds] }))),
      p.efSearch,
    ],
  );
  const row = r.rows[0]!;
  const perModel = <T>(rows: ({ m: number } & T)[] | null): T[][] =>
    p.dense.map((_, m) => (rows ?? []).filter((x) => x.m === m));
  return {
    lexical: (row.lexical ?? []).map((x) => ({ chunkId: x.c, score: Number(x.s) })),
    fields: (row.fields ?? []).map((x) => ({ documentId: x.d, score: Number(x.s) })),
    dense: perModel(row.dense).map((l) => l.map((x) => ({ chunkId: x.c, distance: Number(x.d) }))),
    docDense: perModel(row.doc_dense).map((l) => l.map((x) => ({ documentId: x.d, distance: Number(x.x) }))),
    chunks: (row.info ?? []).map((x) => ({ id: x.id, documentId: x.doc, chunkCount: x.n, copies: x.copies })),
    nearest: perModel(row.nearest).map((l) => new Map(l.map((x) => [x.d, x.c]))),
    firstChunk: new Map((row.first ?? []).map((x) => [x.d, x.c])),
  };
}

export type SourceRow = HydratedRow;

export interface DuplicateFacts {
  contentHash: string;
  createdAt: Date;
  model: string;
  /** the chunk's vector in its datanet's model; null without one (or when not asked for) */
  vector: Float32Array | null;
}

/**
 * The chunks as sources (live documents only), and for each (deleted or not) what the
 * near-duplicate check compares; vectors only when `withVectors`.
 */
export async function searchSources(
  db: Queryable,
  chunkIds: readonly string[],
  withVectors: boolean,
): Promise<{ sources: Map<string, SourceRow>; facts: Map<string, DuplicateFacts> }> {
  const r = await db.query<
    SourceColumnsRow & {
      live: boolean;
      content_hash: string;
      created_at: Date;
      model: string;
      embedding: string | null;
    }
  >(
    `SELECT ${SOURCE_COLUMNS}, d.deleted_at IS NULL AS live, d.content_hash, d.created_at, n.embedding_model AS model,
            ${withVectors ? '(SELECT v.embedding::text FROM chunk_vectors v WHERE v.chunk_id = c.id AND v.model = n.embedding_model)' : 'NULL::text'} AS embedding
       FROM ${SOURCE_TABLES}
      WHERE c.id = ANY($1::text[])`,
    [chunkIds],
  );
  const sources = new Map<string, SourceRow>();
  const facts = new Map<string, DuplicateFacts>();
  for (const row of r.rows) {
    facts.set(row.id, {
      contentHash: row.content_hash,
      createdAt: row.created_at,
      model: row.model,
      vector: row.embedding === null ? null : Float32Array.from(JSON.parse(row.embedding) as number[]),
    });
    if (!row.live) continue;
    sources.set(row.id, sourceOf(row));
  }
  return { sources, facts };
}
