import type { Db, Queryable } from '../db/index.ts';
import { toVectorLiteral } from '../embedder/index.ts';
import type { VectorFilter, VectorHit, VectorIndex } from './index.ts';
import { assertModelId } from './index.ts';

// pgvector in the same database: HNSW (cosine) per model via a typed expression index,
// iterative scans so filters do not starve the result list.
export function createPgvectorIndex(db: Db, options: { efSearch?: number } = {}): VectorIndex {
  const efSearch = options.efSearch ?? 100;
  return {
    kind: 'pgvector',
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
    async search(model, dimension, vector, k, filter): Promise<VectorHit[]> {
      assertModelId(model);
      if (!Number.isInteger(dimension) || dimension <= 0) throw new Error('bad dimension');
      const { where, params } = filterSql(filter, 3);
      const distance = `(v.embedding::vector(${dimension})) <=> $1::vector(${dimension})`;
      return db.transaction(async (tx) => {
        await tx.exec(`SET LOCAL hnsw.ef_search = ${efSearch}; SET LOCAL hnsw.iterative_scan = relaxed_order`);
        const r = await tx.query<{ chunk_id: string; distance: number }>(
          `SELECT v.chunk_id, ${distance} AS distance
             FROM chunk_vectors v JOIN chunks c ON c.id = v.chunk_id ${where.joinDocuments ? 'JOIN documents d ON d.id = c.document_id' : ''}
            WHERE v.model = '${model}' ${where.sql}
            ORDER BY ${distance} LIMIT $2`,
          [toVectorLiteral(vector), k, ...params],
        );
        // relaxed_order may return slightly out of order: sort the page we got.
        return r.rows
          .map((row) => ({ chunkId: row.chunk_id, similarity: 1 - Number(row.distance) }))
          .sort((a, b) => b.similarity - a.similarity);
      });
    },
    async prepare(model, dimension) {
      assertModelId(model);
      if (!Number.isInteger(dimension) || dimension <= 0 || dimension > 2000) throw new Error(`bad dimension ${dimension}`);
      // The same typed partial index 0001_init.sql made for use-lite-512, for any other model.
      const existing = await db.query(`SELECT 1 FROM pg_indexes WHERE tablename = 'chunk_vectors' AND indexdef LIKE $1`, [`%'${model}'::text%`]);
      if (existing.rows.length > 0) return;
      const name = `chunk_vectors_hnsw_${model.toLowerCase().replace(/[^a-z0-9]/g, '_')}_${dimension}`;
      await db.exec(
        `CREATE INDEX IF NOT EXISTS ${name} ON chunk_vectors USING hnsw ((embedding::vector(${dimension})) vector_cosine_ops) WHERE model = '${model}'`,
      );
    },
    async deleteByDocument(documentId, tx: Queryable = db) {
      await tx.query(`DELETE FROM chunk_vectors WHERE chunk_id IN (SELECT id FROM chunks WHERE document_id = $1)`, [documentId]);
    },
  };
}

/** SQL for the shared filters; `c` is chunks and `d` documents. */
function filterSql(filter: VectorFilter, firstParam: number) {
  const clauses: string[] = [];
  const params: unknown[] = [];
  let joinDocuments = false;
  if (filter.datanetIds && filter.datanetIds.length > 0) {
    params.push(filter.datanetIds);
    clauses.push(`AND c.datanet_id = ANY($${firstParam + params.length - 1}::text[])`);
  }
  if (filter.metadata && Object.keys(filter.metadata).length > 0) {
    params.push(JSON.stringify(filter.metadata));
    clauses.push(`AND d.metadata @> $${firstParam + params.length - 1}::jsonb`);
    joinDocuments = true;
  }
  return { where: { sql: clauses.join(' '), joinDocuments }, params };
}
