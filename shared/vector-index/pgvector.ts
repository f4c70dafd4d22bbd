import type { Db, Queryable } from '../db/index.ts';
import type { DocumentHit, VectorFilter, VectorHit, VectorIndex } from './index.ts';
import { assertModelId } from './index.ts';

/** pgvector's text format, '[1,2,3]': only this adapter speaks it. */
function toVectorLiteral(v: ArrayLike<number>): string {
  return `[${Array.prototype.join.call(v, ',')}]`;
}

function fromVectorText(text: string): Float32Array {
  return Float32Array.from(JSON.parse(text) as number[]);
}

function assertDimension(dimension: number) {
  if (!Number.isInteger(dimension) || dimension <= 0 || dimension > 2000) throw new Error(`bad dimension ${dimension}`);
}

// pgvector in the same database: HNSW (cosine) per model via a typed expression index,
// iterative scans so filters do not starve the result list.
export function createPgvectorIndex(db: Db, options: { efSearch?: number } = {}): VectorIndex {
  const efSearch = options.efSearch ?? 100;
  return {
    kind: 'pgvector',
    sharesDatabase: true,
    async upsert(model, records, tx = db) {
      assertModelId(model);
      if (records.length === 0) return;
      await tx.query(
        `INSERT INTO chunk_vectors (chunk_id, model, embedding)
         SELECT chunk_id, model, embedding::vector FROM unnest($1::text[], $2::text[], $3::text[]) AS t(chunk_id, model, embedding)
         ON CONFLICT (chunk_id, model) DO UPDATE SET embedding = excluded.embedding`,
        [records.map((r) => r.chunkId), records.map(() => model), records.map((r) => toVectorLiteral(r.vector))],
      );
    },
    inDatabase: { efSearch },
    // One statement (migration 0095's function sets ef_search and iterative scans for its own transaction).
    async search(model, dimension, vector, k, filter): Promise<VectorHit[]> {
      assertModelId(model);
      assertDimension(dimension);
      const r = await db.query<{ chunk_id: string; distance: number }>(
        `SELECT chunk_id, distance FROM pgvector_chunk_hits($1, $2, $3::vector, $4, $5::text[], $6::jsonb, $7)`,
        [model, dimension, toVectorLiteral(vector), k, filter.datanetIds ?? null, metadataFilter(filter), efSearch],
      );
      // relaxed_order may return slightly out of order: sort the page we got.
      return r.rows
        .map((row) => ({ chunkId: row.chunk_id, similarity: 1 - Number(row.distance) }))
        .sort((a, b) => b.similarity - a.similarity);
    },
    async prepare(model, dimension) {
      assertModelId(model);
      assertDimension(dimension);
      // The same typed partial index 0001_init.sql made for use-lite-512, for any other model.
      const existing = await db.query(
        `SELECT 1 FROM pg_indexes WHERE tablename = 'chunk_vectors' AND indexdef LIKE $1`,
        [`%'${model}'::text%`],
      );
      if (existing.rows.length > 0) return;
      const name = `chunk_vectors_hnsw_${model.toLowerCase().replace(/[^a-z0-9]/g, '_')}_${dimension}`;
      await db.exec(
        `CREATE INDEX IF NOT EXISTS ${name} ON chunk_vectors USING hnsw ((embedding::vector(${dimension})) vector_cosine_ops) WHERE model = '${model}'`,
      );
    },
    async nearestChunkPerDocument(model, dimension, vector, documentIds, datanetIds) {
      assertModelId(model);
      assertDimension(dimension);
      const out = new Map<string, string>();
      if (documentIds.length === 0) return out;
      const r = await db.query<{ document_id: string; id: string }>(
        `SELECT document_id, chunk_id AS id FROM pgvector_nearest_chunks($1, $2, $3::vector, $4::text[], $5::text[])`,
        [model, dimension, toVectorLiteral(vector), documentIds, datanetIds],
      );
      for (const row of r.rows) out.set(row.document_id, row.id);
      return out;
    },
    async vectorsOf(model, chunks) {
      assertModelId(model);
      if (chunks.length === 0) return new Map();
      const chunkIds = chunks.map((c) => c.chunkId);
      const r = await db.query<{ chunk_id: string; embedding: string }>(
        `SELECT chunk_id, embedding::text AS embedding FROM chunk_vectors WHERE model = $1 AND chunk_id = ANY($2::text[])`,
        [model, chunkIds],
      );
      return new Map(r.rows.map((row) => [row.chunk_id, fromVectorText(row.embedding)]));
    },
    async missingChunks(model, chunks, tx: Queryable = db) {
      if (chunks.length === 0) return [];
      const chunkIds = chunks.map((c) => c.chunkId);
      const r = await tx.query<{ id: string }>(
        `SELECT id FROM unnest($1::text[]) AS t(id) WHERE NOT EXISTS (SELECT 1 FROM chunk_vectors v WHERE v.chunk_id = t.id AND v.model = $2)`,
        [chunkIds, model],
      );
      return r.rows.map((row) => row.id);
    },
    async countChunks(model, datanetId, tx: Queryable = db) {
      const r = await tx.query<{ n: bigint }>(
        `SELECT count(*)::bigint AS n FROM chunk_vectors v JOIN chunks c ON c.id = v.chunk_id WHERE c.datanet_id = $1 AND v.model = $2`,
        [datanetId, model],
      );
      return Number(r.rows[0]!.n);
    },
    async upsertDocuments(model, records, tx: Queryable = db) {
      assertModelId(model);
      if (records.length === 0) return;
      await tx.query(
        `INSERT INTO document_vectors (document_id, datanet_id, model, embedding)
         SELECT document_id, datanet_id, $4, embedding::vector FROM unnest($1::text[], $2::text[], $3::text[]) AS t(document_id, datanet_id, embedding)
         ON CONFLICT (document_id, model) DO UPDATE SET embedding = excluded.embedding`,
        [
          records.map((r) => r.documentId),
          records.map((r) => r.datanetId),
          records.map((r) => toVectorLiteral(r.vector)),
          model,
        ],
      );
    },
    // Exact search: a datanet has far fewer documents than chunks.
    async searchDocuments(model, dimension, vector, k, filter): Promise<DocumentHit[]> {
      assertModelId(model);
      assertDimension(dimension);
      const r = await db.query<{ document_id: string; distance: number }>(
        `SELECT document_id, distance FROM pgvector_document_hits($1, $2, $3::vector, $4, $5::text[], $6::jsonb)`,
        [model, dimension, toVectorLiteral(vector), k, filter.datanetIds ?? [], metadataFilter(filter)],
      );
      return r.rows.map((row) => ({ documentId: row.document_id, score: 1 - Number(row.distance) }));
    },
    async missingDocuments(model, _datanetId, documentIds, tx: Queryable = db) {
      if (documentIds.length === 0) return [];
      const r = await tx.query<{ id: string }>(
        `SELECT id FROM unnest($1::text[]) AS t(id) WHERE NOT EXISTS (SELECT 1 FROM document_vectors v WHERE v.document_id = t.id AND v.model = $2)`,
        [documentIds, model],
      );
      return r.rows.map((row) => row.id);
    },
    async deleteByDocument({ documentId }, tx: Queryable = db) {
      await tx.query(`DELETE FROM chunk_vectors WHERE chunk_id IN (SELECT id FROM chunks WHERE document_id = $1)`, [
        documentId,
      ]);
      await tx.query(`DELETE FROM document_vectors WHERE document_id = $1`, [documentId]);
    },
    async dropModel(model, datanetId) {
      await db.query(
        `DELETE FROM chunk_vectors v USING chunks c WHERE v.chunk_id = c.id AND c.datanet_id = $1 AND v.model = $2`,
        [datanetId, model],
      );
      await db.query(`DELETE FROM document_vectors WHERE datanet_id = $1 AND model = $2`, [datanetId, model]);
    },
  };
}

/** The metadata filter as jsonb text, or null for none. */
function metadataFilter(filter: VectorFilter): string | null {
  return filter.metadata && Object.keys(filter.metadata).length > 0 ? JSON.stringify(filter.metadata) : null;
}
