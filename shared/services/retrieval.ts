import { BM25_B, BM25_K1, selectQueryTerms } from '../core/bm25.ts';
import { findNearDuplicates } from '../core/near-duplicates.ts';
import { reciprocalRankFusion } from '../core/rank-fusion.ts';
import type { RetrievedSource } from '../core/sources.ts';
import { termStats } from '../store/lexical.ts';
import type { Queryable } from '../db/index.ts';
import { ApiError } from '../errors.ts';
import { findDatanets, listDatanets, type Datanet } from '../store/datanets.ts';
import type { VectorFilter } from '../vector-index/index.ts';
import type { Services } from './container.ts';

export interface RetrieveInput {
  query: string;
  datanetIds?: readonly string[] | undefined;
  topK: number;
  metadata?: Record<string, unknown> | undefined;
}

export type { RetrievedSource };

const CANDIDATES = 50; // per retriever, before fusion

export async function resolveDatanets(db: Queryable, ids: readonly string[] | undefined): Promise<Datanet[]> {
  if (!ids || ids.length === 0) return listDatanets(db);
  const unique = [...new Set(ids)];
  const found = await findDatanets(db, unique);
  const missing = unique.filter((id) => !found.some((d) => d.id === id));
  if (missing.length > 0) throw new ApiError('NOT_FOUND', `unknown datanet${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`);
  return found;
}

/** Hybrid retrieval: dense (VectorIndex) and lexical (Postgres full text) lists fused by RRF. */
export async function retrieve(services: Services, input: RetrieveInput): Promise<RetrievedSource[]> {
  const { db, vectorIndex } = services;
  const datanets = await resolveDatanets(db, input.datanetIds);
  if (datanets.length === 0) return [];
  const filter: VectorFilter = { datanetIds: datanets.map((d) => d.id), metadata: input.metadata };

  // One dense list per embedding model in use (each datanet is searched with its own model's vectors).
  const byModel = new Map<string, Datanet[]>();
  for (const d of datanets) byModel.set(d.embeddingModel, [...(byModel.get(d.embeddingModel) ?? []), d]);
  const [lexical, ...dense] = await Promise.all([
    lexicalSearch(db, input.query, CANDIDATES, filter),
    ...[...byModel].map(async ([model, group]) => {
      if (!services.embedders.ids().includes(model)) return []; // not served here: lexical still covers it
      const embedder = await services.embedders.get(model);
      const [queryVector] = await embedder.embed([input.query]);
      return vectorIndex.search(model, embedder.dimension, queryVector!, CANDIDATES, { ...filter, datanetIds: group.map((d) => d.id) });
    }),
  ]);
  const fused = reciprocalRankFusion([
    ...dense.map((hits, i) => ({ name: dense.length === 1 ? 'dense' : `dense${i}`, ids: hits.map((h) => h.chunkId) })),
    { name: 'lexical', ids: lexical },
  ]);
  const best = 2 / (60 + 1);
  const similarity = new Map(dense.flat().map((h) => [h.chunkId, h.similarity]));
  const hydrated = await hydrate(db, fused.slice(0, input.topK * 2).map((f) => f.id));
  const out: RetrievedSource[] = [];
  for (const f of fused) {
    const row = hydrated.get(f.id);
    if (!row) continue; // deleted since it was indexed
    out.push({ ...row, score: f.score / best, similarity: similarity.get(f.id) ?? null, ranks: f.ranks, duplicateOf: null });
    if (out.length === input.topK) break;
  }
  return markDuplicates(db, out);
}

/** Copies across documents (same content, or near-identical embeddings) point at the earliest upload. */
async function markDuplicates(db: Queryable, sources: RetrievedSource[]): Promise<RetrievedSource[]> {
  if (sources.length < 2) return sources;
  const r = await db.query<{ chunk_id: string; content_hash: string; created_at: Date; model: string; embedding: string | null }>(
    `SELECT c.id AS chunk_id, d.content_hash, d.created_at, n.embedding_model AS model, v.embedding::text AS embedding
       FROM chunks c JOIN documents d ON d.id = c.document_id JOIN datanets n ON n.id = c.datanet_id
       LEFT JOIN chunk_vectors v ON v.chunk_id = c.id AND v.model = n.embedding_model
      WHERE c.id = ANY($1::text[])`,
    [sources.map((s) => s.chunkId)],
  );
  const byChunk = new Map(r.rows.map((row) => [row.chunk_id, row]));
  const duplicateOf = findNearDuplicates(
    sources.map((s) => {
      const row = byChunk.get(s.chunkId);
      return {
        documentId: s.documentId,
        contentKey: `${row?.content_hash ?? s.documentId}:${s.start}-${s.end}`,
        uploadedAt: row?.created_at.getTime() ?? Number.MAX_SAFE_INTEGER,
        vector: row?.embedding ? (JSON.parse(row.embedding) as number[]) : null,
        model: row?.model ?? '',
      };
    }),
  );
  return sources.map((s, i) => ({ ...s, duplicateOf: duplicateOf[i] ?? null }));
}

/**
 * BM25 from the chunk_terms postings: the rarest query terms are looked up by index and
 * each chunk scored from its stored term frequency and length (see core/bm25.ts).
 */
export async function lexicalSearch(db: Queryable, query: string, k: number, filter: VectorFilter): Promise<string[]> {
  const datanetIds = filter.datanetIds ?? [];
  const stats = await termStats(db, query, datanetIds);
  const terms = selectQueryTerms(stats);
  if (terms.length === 0) return [];
  const metadata = filter.metadata && Object.keys(filter.metadata).length > 0 ? JSON.stringify(filter.metadata) : null;
  const r = await db.query<{ chunk_id: string }>(
    `SELECT t.chunk_id
       FROM unnest($1::text[], $2::float8[]) AS q(lexeme, idf)
       JOIN chunk_terms t ON t.lexeme = q.lexeme AND t.datanet_id = ANY($3::text[])
      ${metadata ? 'WHERE EXISTS (SELECT 1 FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id = t.chunk_id AND d.metadata @> $6::jsonb)' : ''}
      GROUP BY t.chunk_id
      ORDER BY sum(q.idf * t.tf * ${BM25_K1 + 1} / (t.tf + ${BM25_K1} * (1 - ${BM25_B} + ${BM25_B} * t.chunk_len / $4::float8))) DESC, t.chunk_id
      LIMIT $5`,
    [terms.map((t) => t.lexeme), terms.map((t) => t.idf), datanetIds, Math.max(1, stats.averageLength), k, ...(metadata ? [metadata] : [])],
  );
  return r.rows.map((row) => row.chunk_id);
}

type HydratedRow = Omit<RetrievedSource, 'score' | 'similarity' | 'ranks' | 'duplicateOf'>;

async function hydrate(db: Queryable, chunkIds: readonly string[]): Promise<Map<string, HydratedRow>> {
  const r = await db.query<{
    id: string; document_id: string; datanet_id: string; title: string; metadata: Record<string, unknown>;
    owner_account_id: string; wallet: string; price_per_source: bigint; text: string; start_char: number; end_char: number; heading_path: string[];
  }>(
    `SELECT c.id, c.document_id, c.datanet_id, d.title, d.metadata, n.owner_account_id, a.wallet, n.price_per_source,
            c.text, c.start_char, c.end_char, c.heading_path
       FROM chunks c JOIN documents d ON d.id = c.document_id JOIN datanets n ON n.id = c.datanet_id
       JOIN accounts a ON a.id = n.owner_account_id
      WHERE c.id = ANY($1::text[]) AND d.deleted_at IS NULL`,
    [chunkIds],
  );
  return new Map(
    r.rows.map((row) => [
      row.id,
      {
        chunkId: row.id, documentId: row.document_id, datanetId: row.datanet_id, title: row.title, metadata: row.metadata,
        contributorAccountId: row.owner_account_id, contributorWallet: row.wallet, pricePerSource: row.price_per_source,
        text: row.text, start: row.start_char, end: row.end_char, headingPath: row.heading_path,
      },
    ]),
  );
}
